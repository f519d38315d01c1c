package monitor

import (
	"testing"
	"time"
)

func TestUptime(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{999 * time.Millisecond, "0s"},
		{59 * time.Second, "59s"},
		{61 * time.Second, "1m1s"},
		{time.Hour + 2*time.Second, "1h0m2s"},
		{49*time.Hour + 3*time.Minute, "2d1h3m0s"},
		{366*24*time.Hour + time.Second, "1y1d0h0m1s"},
	}
	for _, c := range cases {
		if got := uptime(c.d); got != c.want {
			t.Errorf("uptime(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestRTTString(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{500 * time.Nanosecond, "500ns"},
		{1234567 * time.Nanosecond, "1.234567ms"},
		{483123 * time.Nanosecond, "483µs"},
		{2 * time.Second, "2s"},
	}
	for _, c := range cases {
		if got := rttString(c.d); got != c.want {
			t.Errorf("rttString(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestNormalizeBase(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", "mon": "/mon", "/mon/": "/mon", "//a//b/": "/a/b"} {
		if got := normalizeBase(in); got != want {
			t.Errorf("normalizeBase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCPUMeter(t *testing.T) {
	var m cpuMeter
	m.init()
	// Burn some CPU so the sample has something to measure.
	end := time.Now().Add(20 * time.Millisecond)
	for x := 0; time.Now().Before(end); x++ {
		_ = x * x
	}
	rss, pcpu := m.sample()
	if rss <= 0 || pcpu < 0 {
		t.Fatalf("rss %d cpu %v", rss, pcpu)
	}
}
