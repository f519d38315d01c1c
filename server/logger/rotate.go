package logger

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Size-based rotation, with nats-server's naming: the full file is renamed
// to "<file>.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn", a new file is started with a
// line saying where the old one went, and the oldest backups beyond
// MaxFiles are deleted.

// backupLayout is the timestamp suffix of rotated files; it sorts by time.
const backupLayout = "2006.01.02.15.04.05.000000000"

// rotateLocked rotates the file; l.mu is held. On failure it keeps
// writing to the current file and tries again at the next limit.
func (l *Std) rotateLocked() {
	name := l.cfg.File
	if err := l.file.Close(); err != nil {
		l.directLocked(lvlError, "Unable to close logfile for rotation (%v)", err)
		return
	}
	l.file, l.out = nil, nil
	backup := name + "." + time.Now().Format(backupLayout)
	renameErr := os.Rename(name, backup)
	if err := l.open(); err != nil {
		// Nowhere left to log but standard error.
		fmt.Fprintf(os.Stderr, "keel: unable to re-open the log file after rotation: %v\n", err)
		return
	}
	if renameErr != nil {
		l.directLocked(lvlError, "Unable to rotate log file %q: %v", name, renameErr)
		return
	}
	l.directLocked(lvlInfo, "Rotated log, backup saved as %q", backup)
	if l.cfg.MaxFiles > 0 {
		l.purgeLocked()
	}
}

// directLocked writes a line about rotation itself; l.mu is held.
func (l *Std) directLocked(lv level, format string, v ...any) {
	b := append([]byte(nil), l.prefix...)
	if l.cfg.Time {
		now := time.Now()
		if l.cfg.UTC {
			now = now.UTC()
		}
		b = appendTime(b, now)
	}
	b = append(b, l.labels[lv]...)
	b = fmt.Appendf(b, format, v...)
	b = append(b, '\n')
	if n, err := l.out.Write(b); err == nil {
		l.size += int64(n)
	}
}

// purgeLocked deletes the oldest backups so that at most MaxFiles files
// remain, the current one included.
func (l *Std) purgeLocked() {
	dir, base := filepath.Split(l.cfg.File)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		l.directLocked(lvlError, "Unable to read directory %q for log purge (%v), will attempt next rotation", dir, err)
		return
	}
	var backups []string
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), base+".")
		if !ok || e.IsDir() {
			continue
		}
		if _, err := time.Parse(backupLayout, stamp); err == nil {
			backups = append(backups, e.Name())
		}
	}
	sort.Strings(backups)
	for len(backups) > l.cfg.MaxFiles-1 {
		old := backups[0]
		backups = backups[1:]
		if err := os.Remove(filepath.Join(dir, old)); err != nil {
			l.directLocked(lvlError, "Unable to remove backup log file %q (%v), will attempt next rotation", old, err)
			return
		}
		l.directLocked(lvlInfo, "Purged log file %q", old)
	}
}
