package blockstore

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// TestDamageCostsOnlyItsMessage: a command that removes messages by count
// or position (a purge keeping the newest, a retention limit) meets a
// message the index checkpoint counts but whose record is damaged, found
// by that very command. Whether the lost message lies among those the
// command removes or those it keeps, the stream must end up with what an
// undamaged stream holds after the same command, less the lost message:
// the damage costs its own message and nothing else. (Recovery replays
// the WAL's commands over such damage; the crash harness found a purge
// that removed an acknowledged message too many.)
func TestDamageCostsOnlyItsMessage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damaged uint64
		cmd     Command
	}{
		{"purge keep, lost among the purged", 2, Command{Op: OpPurge, Keep: 5}},
		{"purge keep, lost among the kept", 32, Command{Op: OpPurge, Keep: 10}},
		{"purge keep below seq, lost among the purged", 2, Command{Op: OpPurge, Keep: 15, Seq: 30}},
		{"purge keep below seq, lost among the kept", 27, Command{Op: OpPurge, Keep: 15, Seq: 30}},
		{"purge subject keep, lost among the purged", 2, Command{Op: OpPurge, Subject: "d.1", Keep: 3}},
		{"purge subject keep, lost among the kept", 30, Command{Op: OpPurge, Subject: "d.1", Keep: 3}},
		{"purge subject keep, lost on another subject", 3, Command{Op: OpPurge, Subject: "d.1", Keep: 3}},
		{"purge wildcard keep, lost among the purged", 2, Command{Op: OpPurge, Subject: "d.*", Keep: 4}},
		{"max msgs, lost among the removed", 2, Command{Op: OpConfig, Config: &Config{Name: "D", BlockSize: 1 << 10, MaxMsgs: 10}}},
		{"max msgs, lost among the kept", 32, Command{Op: OpConfig, Config: &Config{Name: "D", BlockSize: 1 << 10, MaxMsgs: 10}}},
		{"max per subject, lost among the removed", 2, Command{Op: OpConfig, Config: &Config{Name: "D", BlockSize: 1 << 10, MaxMsgsPerSubject: 3}}},
		{"max per subject, lost among the kept", 30, Command{Op: OpConfig, Config: &Config{Name: "D", BlockSize: 1 << 10, MaxMsgsPerSubject: 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// What the command leaves of the undamaged stream.
			m, err := NewMemoryStream(Config{Name: "D", BlockSize: 1 << 10})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 40; i++ {
				m.Apply(&Command{Op: OpStore, Subject: fmt.Sprintf("d.%d", i%4), Data: bytes.Repeat([]byte{'p'}, 100), Time: baseTime + int64(i)})
			}
			cmd := tc.cmd
			if _, err := m.Apply(&cmd); err != nil {
				t.Fatal(err)
			}
			want := slices.DeleteFunc((&tstream{TB: t, Stream: m}).seqs(">"), func(q uint64) bool { return q == tc.damaged })

			dir := damagedStore(t, tc.damaged)
			e := openTestEngine(t, dir, Options{})
			defer e.Close()
			s, _ := e.Stream("D")
			cmd = tc.cmd
			if _, err := s.Apply(&cmd); err != nil {
				t.Fatal(err)
			}
			if got := (&tstream{TB: t, Stream: s}).seqs(">"); !slices.Equal(got, want) {
				t.Errorf("messages %v, want %v", got, want)
			}
			if st := s.State(); st.Msgs != uint64(len(want)) {
				t.Errorf("state %+v, want %d messages", st, len(want))
			}
			if d := e.Damaged(); len(d) != 1 || d[0].Seq != tc.damaged {
				t.Errorf("damage reported %+v", d)
			}
		})
	}
}

// TestReplayOverDamage is the crash harness's finding: damage found by
// recovery in a block the index checkpoint counts, then the WAL replays a
// purge keeping the newest messages over it. The purge must remove what
// it removed when first applied, less the lost message: neither a message
// it kept (an acknowledged message lost) nor fewer (a removal undone).
func TestReplayOverDamage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damaged uint64
		cmd     Command
	}{
		{"lost among the purged", 18, Command{Op: OpPurge, Keep: 5}},
		{"lost among the kept", 18, Command{Op: OpPurge, Keep: 25}},
		{"subject, lost among the purged", 18, Command{Op: OpPurge, Subject: "d.1", Keep: 3}},
		{"max per subject, lost among the removed", 18, Command{Op: OpConfig, Config: &Config{Name: "D", BlockSize: 1 << 10, MaxMsgsPerSubject: 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMemoryStream(Config{Name: "D", BlockSize: 1 << 10})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			e := openTestEngine(t, dir, Options{CheckpointInterval: time.Hour, IndexInterval: time.Hour})
			s, _ := e.CreateStream(Config{Name: "D", BlockSize: 1 << 10})
			store := func(i int) {
				cmd := Command{Op: OpStore, Subject: fmt.Sprintf("d.%d", i%4), Data: bytes.Repeat([]byte{'p'}, 100), Time: baseTime + int64(i)}
				m.Apply(&cmd)
				if _, err := s.Apply(&cmd); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < 20; i++ {
				store(i)
			}
			// The index checkpoint counts messages 1 to 20, the third
			// block (17 on) being active; a later state names a later
			// active block, so recovery replays the third block from
			// where the index ends and sees the damage before it.
			if err := e.checkpoint(true); err != nil {
				t.Fatal(err)
			}
			for i := 20; i < 40; i++ {
				store(i)
			}
			if err := e.checkpoint(false); err != nil {
				t.Fatal(err)
			}
			cmd := tc.cmd
			if _, err := m.Apply(&cmd); err != nil {
				t.Fatal(err)
			}
			cmd = tc.cmd
			if _, err := s.Apply(&cmd); err != nil {
				t.Fatal(err)
			}
			if err := e.Sync(); err != nil {
				t.Fatal(err)
			}
			killed := t.TempDir()
			copyQuiet(t, e, dir, killed) // the command is in the WAL only
			e.Close()
			damageRecord(t, killed, tc.damaged)

			e = openTestEngine(t, killed, Options{})
			defer e.Close()
			s, _ = e.Stream("D")
			want := slices.DeleteFunc((&tstream{TB: t, Stream: m}).seqs(">"), func(q uint64) bool { return q == tc.damaged })
			if got := (&tstream{TB: t, Stream: s}).seqs(">"); !slices.Equal(got, want) {
				t.Errorf("messages %v, want %v", got, want)
			}
			if st := s.State(); st.Msgs != uint64(len(want)) {
				t.Errorf("state %+v, want %d messages", st, len(want))
			}
			if d := e.Damaged(); len(d) != 1 || d[0].Seq != tc.damaged {
				t.Errorf("damage reported %+v", d)
			}
		})
	}
}

// damageRecord flips a byte in message seq's record in the store at dir.
func damageRecord(t *testing.T, dir string, seq uint64) {
	t.Helper()
	_, blocks := streamFiles(t, dir)
	for _, path := range blocks {
		raw, _ := os.ReadFile(path)
		if off, n := findRecord(raw, seq); off >= 0 {
			raw[off+int64(n)/2] ^= 0x5a
			if err := os.WriteFile(path, raw, 0o640); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no record of message %d", seq)
}
