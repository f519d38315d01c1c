package logger

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var _ Logger = (*Std)(nil)

func TestFormat(t *testing.T) {
	pid := fmt.Sprintf("[%d] ", os.Getpid())
	stamp := `\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} `
	tests := []struct {
		name string
		cfg  Config
		log  func(l *Std)
		want string // regexp of the whole output
	}{
		{"info with time", Config{Time: true}, func(l *Std) { l.Noticef("hello %d", 1) },
			`^` + regexp.QuoteMeta(pid) + stamp + `\[INF\] hello 1\n$`},
		{"levels without time", Config{Debug: true, Trace: true}, func(l *Std) {
			l.Noticef("n")
			l.Warnf("w")
			l.Errorf("e")
			l.Debugf("d")
			l.Tracef("t")
		}, `^` + regexp.QuoteMeta(pid+"[INF] n\n"+pid+"[WRN] w\n"+pid+"[ERR] e\n"+pid+"[DBG] d\n"+pid+"[TRC] t\n") + `$`},
		{"debug and trace off", Config{}, func(l *Std) {
			l.Debugf("d")
			l.Tracef("t")
		}, `^$`},
		{"colors", Config{Colors: true}, func(l *Std) { l.Noticef("x") },
			`^` + regexp.QuoteMeta(pid+"[\x1b[32mINF\x1b[0m] x\n") + `$`},
		{"fatal", Config{Exit: func() {}}, func(l *Std) { l.Fatalf("boom") },
			`^` + regexp.QuoteMeta(pid+"[FTL] boom\n") + `$`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.cfg.Output = &buf
			l, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tc.log(l)
			if !regexp.MustCompile(tc.want).Match(buf.Bytes()) {
				t.Fatalf("output %q does not match %q", buf.String(), tc.want)
			}
		})
	}
}

func TestTimeIsUTCWhenAsked(t *testing.T) {
	var buf bytes.Buffer
	l, _ := New(Config{Time: true, UTC: true, Output: &buf})
	before := time.Now().UTC().Add(-time.Second)
	l.Noticef("x")
	_, rest, _ := strings.Cut(buf.String(), "] ")
	got, err := time.Parse("2006/01/02 15:04:05.000000", rest[:26])
	if err != nil {
		t.Fatal(err)
	}
	if got.Before(before) || got.After(before.Add(3*time.Second)) {
		t.Fatalf("logged time %v is not UTC now (%v)", got, before)
	}
}

func TestSetLevels(t *testing.T) {
	var buf bytes.Buffer
	l, _ := New(Config{Output: &buf})
	l.Debugf("hidden")
	l.SetLevels(true, true)
	l.Debugf("shown")
	l.Tracef("traced")
	if got := buf.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "[DBG] shown") || !strings.Contains(got, "[TRC] traced") {
		t.Fatalf("output %q", got)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFileAppendsAndReopens(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keel.log")
	if err := os.WriteFile(path, []byte("old line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := New(Config{File: path})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Noticef("first")
	// An external tool moves the file away, then asks for a reopen.
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	l.Noticef("second")
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Noticef("third")
	if got := readFile(t, path+".moved"); !strings.HasPrefix(got, "old line\n") || !strings.Contains(got, "first") || !strings.Contains(got, "second") {
		t.Fatalf("moved file: %q", got)
	}
	if got := readFile(t, path); !strings.Contains(got, "third") || strings.Contains(got, "second") {
		t.Fatalf("reopened file: %q", got)
	}
}

func TestOpenError(t *testing.T) {
	_, err := New(Config{File: filepath.Join(t.TempDir(), "missing", "dir", "keel.log")})
	if err == nil || !strings.Contains(err.Error(), "logger: open") {
		t.Fatalf("err = %v", err)
	}
}

func backups(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "keel.log.") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestRotationBySize(t *testing.T) {
	tests := []struct {
		name        string
		maxFiles    int
		wantBackups int
	}{
		{"keep all", 0, 5},
		{"keep three files", 3, 2},
		{"keep one file", 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "keel.log")
			l, err := New(Config{File: path, SizeLimit: 1000, MaxFiles: tc.maxFiles})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			line := strings.Repeat("x", 90) // about 100 bytes with prefix and label
			for i := 0; i < 5; i++ {
				for j := 0; j < 10; j++ {
					l.Noticef("%d %s", i, line)
				}
			}
			if got := len(backups(t, dir)); got != tc.wantBackups {
				t.Fatalf("%d backups, want %d: %v", got, tc.wantBackups, backups(t, dir))
			}
			cur := readFile(t, path)
			if !strings.Contains(cur, "Rotated log, backup saved as") {
				t.Fatalf("current file does not say where the backup went: %q", cur[:min(len(cur), 200)])
			}
			st, _ := os.Stat(path)
			if st.Size() > 1000+200 {
				t.Fatalf("current file is %d bytes, over the limit", st.Size())
			}
			for _, b := range backups(t, dir) {
				if st, _ := os.Stat(filepath.Join(dir, b)); st.Size() < 1000 {
					t.Fatalf("backup %s is %d bytes, rotated before the limit", b, st.Size())
				}
			}
		})
	}
}

func TestConcurrentLinesStayWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keel.log")
	l, err := New(Config{File: path, Time: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l.Noticef("goroutine %d line %d %s", g, i, strings.Repeat("y", 50))
			}
		}()
	}
	wg.Wait()
	l.Close()
	l.Noticef("after close is dropped")
	lines := strings.Split(strings.TrimSuffix(readFile(t, path), "\n"), "\n")
	if len(lines) != 1600 {
		t.Fatalf("%d lines, want 1600", len(lines))
	}
	re := regexp.MustCompile(`^\[\d+\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} \[INF\] goroutine \d line \d+ y{50}$`)
	for _, line := range lines {
		if !re.MatchString(line) {
			t.Fatalf("mangled line %q", line)
		}
	}
}

func BenchmarkNoticef(b *testing.B) {
	l, _ := New(Config{Time: true, Output: io.Discard})
	b.ReportAllocs()
	for b.Loop() {
		l.Noticef("client %d connected from %s", 42, "127.0.0.1:5555")
	}
}

func BenchmarkTracefOff(b *testing.B) {
	l, _ := New(Config{Time: true, Output: io.Discard})
	b.ReportAllocs()
	for b.Loop() {
		l.Tracef("<<- [PUB %s %d]", "foo", 5)
	}
}
