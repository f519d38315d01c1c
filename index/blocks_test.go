package index

import (
	"strings"
	"testing"
)

// threeBlocks: [1,100] [101,100] (empty) [151,300] with a gap 101..150,
// timestamps 10 ns per sequence.
func threeBlocks() *Blocks {
	var b Blocks
	b.Append(BlockInfo{ID: 1, First: 1, Last: 100, FirstTime: 10, LastTime: 1000, Msgs: 100, Bytes: 1000})
	b.Append(BlockInfo{ID: 2, First: 101, Last: 100, FirstTime: 1000, LastTime: 1000})
	b.Append(BlockInfo{ID: 3, First: 151, Last: 300, FirstTime: 1510, LastTime: 3000, Msgs: 150, Bytes: 1500})
	return &b
}

func TestBlocksSearch(t *testing.T) {
	b := threeBlocks()
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		seq    uint64
		search int
		found  bool
	}{
		{0, 0, false},
		{1, 0, true},
		{50, 0, true},
		{100, 0, true},
		{101, 2, false}, // in the gap: the next block is where a scan resumes
		{150, 2, false},
		{151, 2, true},
		{300, 2, true},
		{301, 3, false},
	}
	for _, tc := range tests {
		if got := b.Search(tc.seq); got != tc.search {
			t.Errorf("Search(%d) = %d, want %d", tc.seq, got, tc.search)
		}
		i, ok := b.Find(tc.seq)
		if ok != tc.found || (ok && i != tc.search) {
			t.Errorf("Find(%d) = %d, %v; want %d, %v", tc.seq, i, ok, tc.search, tc.found)
		}
	}
}

func TestBlocksSearchTime(t *testing.T) {
	b := threeBlocks()
	tests := []struct {
		ts   int64
		want int
	}{
		{0, 0}, {10, 0}, {999, 0}, {1000, 0}, {1001, 2}, {3000, 2}, {3001, 3},
	}
	for _, tc := range tests {
		if got := b.SearchTime(tc.ts); got != tc.want {
			t.Errorf("SearchTime(%d) = %d, want %d", tc.ts, got, tc.want)
		}
	}
}

func TestBlocksEditing(t *testing.T) {
	b := threeBlocks()
	if msgs, bytes := b.Totals(); msgs != 250 || bytes != 2500 {
		t.Fatalf("Totals = %d, %d", msgs, bytes)
	}
	tail := b.Tail()
	tail.Last, tail.Msgs = 301, 151
	if b.At(2).Last != 301 {
		t.Fatal("update through Tail not visible")
	}
	b.Remove(0, 2)
	if b.Len() != 1 || b.At(0).ID != 3 {
		t.Fatalf("after Remove(0,2): len %d", b.Len())
	}
	c := threeBlocks()
	if b.Equal(c) {
		t.Fatal("different tables are Equal")
	}
	c.Remove(0, 2)
	c.At(0).Last, c.At(0).Msgs = 301, 151
	if !b.Equal(c) {
		t.Fatal("same tables are not Equal")
	}
	b.Reset()
	if b.Len() != 0 || b.Tail() != nil {
		t.Fatal("Reset left blocks")
	}
}

func TestBlocksValidate(t *testing.T) {
	tests := []struct {
		name   string
		blocks []BlockInfo
		err    string
	}{
		{"overlap", []BlockInfo{{First: 1, Last: 10}, {First: 10, Last: 20}}, "not after"},
		{"inverted", []BlockInfo{{First: 5, Last: 3}}, "bad range"},
		{"zero first", []BlockInfo{{First: 0, Last: 3}}, "bad range"},
		{"empty ok", []BlockInfo{{First: 1, Last: 0}, {First: 1, Last: 5}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := Blocks{list: tc.blocks}
			err := b.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.err)
			}
		})
	}
}
