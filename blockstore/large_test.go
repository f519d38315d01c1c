package blockstore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestLargePendingWrites: large records gather in memory before their
// block write (see syncFile), yet the WAL never holds a committed pointer
// to bytes its block file lacks, and a reader sees each one at once.
func TestLargePendingWrites(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("pending writes test secret, long")} {
		t.Run(fmt.Sprint("sealed=", key != nil), func(t *testing.T) {
			dir := t.TempDir()
			o := quietOpts()
			o.Key = key
			e := openTestEngine(t, dir, o)
			defer e.Close()
			s, err := e.CreateStream(Config{Name: "L", BlockSize: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			var datas [][]byte
			var last Ticket
			for i := 0; i < 60; i++ {
				data := bytes.Repeat([]byte{byte('a' + i%26)}, 3000+i*97)
				copy(data, fmt.Sprintf("large-%03d|", i))
				r, err := s.Apply(&Command{Op: OpStore, Subject: "l", Data: data, Time: int64(i + 1)})
				if err != nil {
					t.Fatal(err)
				}
				datas, last = append(datas, data), r.Ticket
			}
			if err := e.wal.Wait(uint64(last)); err != nil {
				t.Fatal(err)
			}
			if key == nil {
				// Every pointer the WAL has committed names bytes already
				// handed to the operating system.
				var files []byte
				blks, _ := filepath.Glob(filepath.Join(dir, "keel", "streams", "*", "*.blk"))
				for _, p := range blks {
					b, err := os.ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					files = append(files, b...)
				}
				for i, d := range datas {
					if !bytes.Contains(files, d) {
						t.Fatalf("message %d: pointer committed in the WAL, record not in its block file", i+1)
					}
				}
			}
			// A reader gets the latest ones while they may still be
			// pending, as soon as they are stored.
			for i := 0; i < 5; i++ {
				data := bytes.Repeat([]byte{'z'}, 4000+i)
				r, err := s.Apply(&Command{Op: OpStore, Subject: "l", Data: data, Time: int64(100 + i)})
				if err != nil {
					t.Fatal(err)
				}
				datas, last = append(datas, data), r.Ticket
			}
			for i, d := range datas {
				if sm, err := s.LoadMsg(uint64(i+1), nil); err != nil || !bytes.Equal(sm.Data, d) {
					t.Fatalf("message %d read back: %v", i+1, err)
				}
			}
			if err := e.Sync(); err != nil || e.Durable() < last {
				t.Fatalf("sync: %v, durable %d < %d", err, e.Durable(), last)
			}
		})
	}
}
