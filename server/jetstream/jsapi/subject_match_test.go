package jsapi

import "testing"

func TestIsValidSubject(t *testing.T) {
	cases := map[string]bool{
		"foo": true, "foo.bar": true, "foo.*": true, "foo.>": true, "*": true, ">": true,
		"foo.*.bar": true, "$JS.API.>": true, "a\\b": true, "foo*.bar": true,
		"": false, ".": false, "foo.": false, ".foo": false, "foo..bar": false,
		"foo.>.bar": false, "> .x": false, "foo bar": false, "foo.\tbar": false, " ": false,
	}
	for s, want := range cases {
		if got := IsValidSubject(s); got != want {
			t.Errorf("IsValidSubject(%q) = %v, want %v", s, got, want)
		}
	}
	literal := map[string]bool{"foo.bar": true, "foo*.bar": true, "foo.>x": true, "foo.*": false, ">": false, "a.>": false}
	for s, want := range literal {
		if got := IsLiteralSubject(s); got != want {
			t.Errorf("IsLiteralSubject(%q) = %v, want %v", s, got, want)
		}
	}
	if IsValidPublishSubject("a.*") || !IsValidPublishSubject("a.b") || IsValidPublishSubject("a..b") {
		t.Error("IsValidPublishSubject")
	}
}

func TestSubjectsCollide(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"foo.bar", "foo.bar", true},
		{"foo.bar", "foo.baz", false},
		{"foo.*", "foo.bar", true},
		{"foo.*", "foo.bar.baz", false},
		{"foo.>", "foo.bar.baz", true},
		{"foo.>", "foo", false},
		{">", "anything.at.all", true},
		{"foo.*.baz", "foo.bar.*", true},
		{"foo.*.baz", "foo.bar.qux", false},
		{"*.*", "foo.>", true},
		{"*.*", "foo.*.*", false},
		{"foo.*", "*.bar.>", false},
		{"foo.*.>", "*.bar", false},
		{"a.>", "b.>", false},
		{"$JS.EVENT.>", "$JS.>", true},
	}
	for _, c := range cases {
		if got := SubjectsCollide(c.a, c.b); got != c.want {
			t.Errorf("SubjectsCollide(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := SubjectsCollide(c.b, c.a); got != c.want {
			t.Errorf("SubjectsCollide(%q, %q) = %v, want %v (not symmetric)", c.b, c.a, got, c.want)
		}
	}
}

func TestSubjectIsSubsetOf(t *testing.T) {
	cases := []struct {
		s, filter string
		want      bool
	}{
		{"foo.bar", "foo.bar", true},
		{"foo.bar", "foo.*", true},
		{"foo.bar", ">", true},
		{"foo.*", "foo.*", true},
		{"foo.*", ">", true},
		{"foo.*", "*.*", true},
		{"foo.*", "foo.bar", false},
		{"foo.>", "foo.*", false},
		{"foo.>", "foo.>", true},
		{"foo", "foo.>", false},
		{"foo.bar.baz", "foo.*", false},
		{"$JS.EVENT.ADVISORY.x", "$JS.EVENT.>", true},
	}
	for _, c := range cases {
		if got := SubjectIsSubsetOf(c.s, c.filter); got != c.want {
			t.Errorf("SubjectIsSubsetOf(%q, %q) = %v, want %v", c.s, c.filter, got, c.want)
		}
	}
}

func TestIsValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"ORDERS": true, "a-b_c": true, "ünïcode": true,
		"": false, "a.b": false, "a*": false, "a>": false, "a b": false, "a\tb": false, "a/b": false, `a\b`: false,
	} {
		if got := IsValidName(name); got != want {
			t.Errorf("IsValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestIsReservedSubject(t *testing.T) {
	for s, want := range map[string]bool{
		"_R_.abc": true, "_GR_.x.y": true, "$GR.x": true, "_R_.": true, "_GR_.": false,
		"$JS.API.STREAM.INFO.X": true, "$JS.API": true, "$JS.ACK.S.C": true, "$JS.FC.x": true,
		"$JS.SNAPSHOT.ACK.S.x": true, "$JS.EVENT.ADVISORY.API": true, "$JS.hub.API.INFO": true,
		"$JS.other.thing": false, "$JSX.API": false, "snap.deliver": false, "_INBOX.x": false,
	} {
		if got := IsReservedSubject(s); got != want {
			t.Errorf("IsReservedSubject(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzSubjectsCollide(f *testing.F) {
	for _, s := range [][2]string{{"foo.*", "foo.bar"}, {"a.>", "*.b.c"}, {">", ""}, {"a..b", "a.*.b"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if SubjectsCollide(a, b) != SubjectsCollide(b, a) {
			t.Fatalf("SubjectsCollide(%q, %q) is not symmetric", a, b)
		}
		// A valid subject that is a subset of a filter collides with it.
		if IsValidSubject(a) && IsValidSubject(b) && SubjectIsSubsetOf(a, b) && !SubjectsCollide(a, b) {
			t.Fatalf("%q is a subset of %q but does not collide with it", a, b)
		}
	})
}
