package jsapi

import (
	"errors"
	"testing"
)

func TestValidateTransform(t *testing.T) {
	cases := []struct {
		src, dest string
		err       string // "" when valid
	}{
		{"", "", ""},
		{"foo", "", ""},
		{"foo", "bar", ""},
		{"", "out.>", ""},
		{"foo.*", "bar.$1", ""},
		{"foo.*.*", "bar.$2.$1", ""},
		{"foo.*.*", "bar.{{wildcard(2)}}.{{ Wildcard(1) }}", ""},
		{"foo.*", "bar.{{partition(10,1)}}", ""},
		{"foo", "bar.{{partition(10)}}", ""},
		{"foo", "bar.{{random(5)}}", ""},
		{"foo.*", "{{split(1,-)}}", ""},
		{"foo.*", "{{splitFromLeft(1,2)}}.{{SliceFromRight(1, 3)}}.{{left(1,1)}}.{{Right(1,2)}}", ""},
		{"foo.>", "bar.>", ""},
		{"foo", "$bar", ""},

		{"foo", "bar..baz", "invalid mapping destination: invalid transform"},
		{"foo.>", "bar.>.baz", "invalid mapping destination: invalid transform in baz"},
		{"foo", "bar baz", "invalid mapping destination: invalid transform"},
		{"foo.*", "bar.{{bogus(1)}}", "invalid mapping destination: unknown function in {{bogus(1)}}"},
		{"foo", "{{account-hash()}}", "invalid mapping destination: function is not available in this context in {{account-hash()}}"},
		{"foo.*", "bar.$2", "invalid mapping destination: wildcard index out of range in $2: [2]"},
		{"foo.*", "bar.{{wildcard(2)}}", "invalid mapping destination: wildcard index out of range in {{wildcard(2)}}: [2]"},
		{"foo", "bar.$1", "invalid mapping destination: wildcard index out of range in $1"},
		{"foo.*", "bar.{{wildcard()}}", "invalid mapping destination: not enough arguments passed to the function in {{wildcard()}}"},
		{"foo.*", "bar.{{wildcard(1,2)}}", "invalid mapping destination: too many arguments passed to the function in {{wildcard(1,2)}}"},
		{"foo.*", "bar.{{wildcard(x)}}", "invalid mapping destination: function argument is invalid or in the wrong format in {{wildcard(x)}}"},
		{"foo.*", "{{split(1,a b)}}", "invalid mapping destination: function argument is invalid or in the wrong format in {{split(1,a b)}}"},
		{"foo.*", "{{split(1,.)}}", ""}, // the dot splits the token: two literals
		{"foo.*", "{{left(1)}}", "invalid mapping destination: not enough arguments passed to the function in {{left(1)}}"},
		{"foo.*", "{{left(1,99999999999)}}", "invalid mapping destination: function argument is invalid or in the wrong format in {{left(1,99999999999)}}"},
		{"foo.*", "bar.*", "invalid subject"},
		{"foo.>", "bar", "invalid subject"},
		{"foo", "bar.>", "invalid subject"},
		{"foo..x", "bar", "invalid subject"},
	}
	for _, c := range cases {
		err := ValidateTransform(c.src, c.dest)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("ValidateTransform(%q, %q) = %q, want %q", c.src, c.dest, got, c.err)
		}
		if err != nil && c.err != "invalid subject" && !errors.Is(err, ErrInvalidMapping) {
			t.Errorf("ValidateTransform(%q, %q): %v is not ErrInvalidMapping", c.src, c.dest, err)
		}
	}
}

func FuzzValidateTransform(f *testing.F) {
	f.Add("foo.*", "bar.{{wildcard(1)}}")
	f.Add("a.*.*", "{{partition(3,1,2)}}.{{split(2,-)}}")
	f.Add("", "{{random(0)}}")
	f.Fuzz(func(t *testing.T, src, dest string) {
		_ = ValidateTransform(src, dest) // must not panic
	})
}
