package memlog

import (
	"slices"
	"testing"
)

func TestLevelsAndLookup(t *testing.T) {
	var l Logger
	l.Noticef("a %d", 1)
	l.Warnf("b")
	l.Errorf("c")
	l.Fatalf("d")
	l.Debugf("e")
	l.Tracef("f %s", "x")
	want := []string{"[INF] a 1", "[WRN] b", "[ERR] c", "[FTL] d", "[DBG] e", "[TRC] f x"}
	if got := l.Lines(); !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
	if !l.Contains("f x") || l.Contains("nothing") {
		t.Fatal("Contains")
	}
	lines := l.Lines()
	lines[0] = "changed"
	if l.Lines()[0] != "[INF] a 1" {
		t.Fatal("Lines shares the logger's storage")
	}
}
