package index

import (
	"fmt"
	"slices"
	"sort"
	"unsafe"
)

// BlockInfo is what the index knows of one block of a stream.
//
// First and Last bound the sequences the block covers; a block without
// messages has Last == First-1, which keeps the table ordered while the
// store fills it. FirstTime and LastTime are the timestamps (unix
// nanoseconds) of the messages at First and Last.
type BlockInfo struct {
	ID        uint64 // the store's name for the block (e.g. its file number)
	First     uint64
	Last      uint64
	FirstTime int64
	LastTime  int64
	Msgs      uint64 // live messages in the block
	Bytes     uint64 // bytes of the block's live messages
}

// Blocks is the ordered table of a stream's blocks, oldest first: each
// block's First is greater than the previous block's Last. It answers
// sequence → block and time → block by binary search.
//
// The zero Blocks is empty and ready to use; it must not be copied after
// first use. Pointers returned by At and Tail are valid until the next
// Append or Remove.
type Blocks struct {
	list []BlockInfo
}

// Len returns the number of blocks.
func (b *Blocks) Len() int { return len(b.list) }

// At returns the i-th block; the caller may update it in place as long as
// the table stays ordered.
func (b *Blocks) At(i int) *BlockInfo { return &b.list[i] }

// Tail returns the newest block, or nil when the table is empty.
func (b *Blocks) Tail() *BlockInfo {
	if len(b.list) == 0 {
		return nil
	}
	return &b.list[len(b.list)-1]
}

// Append adds a block after the newest one. Its First must be greater than
// the newest block's Last (Validate checks).
func (b *Blocks) Append(bi BlockInfo) { b.list = append(b.list, bi) }

// Remove removes blocks [i, j).
func (b *Blocks) Remove(i, j int) { b.list = slices.Delete(b.list, i, j) }

// Reset removes every block.
func (b *Blocks) Reset() { b.list = b.list[:0] }

// Search returns the index of the first block whose Last is at or after
// seq: the block holding seq if there is one, else the block after the gap
// seq falls into. It returns Len() when seq is beyond every block.
func (b *Blocks) Search(seq uint64) int {
	return sort.Search(len(b.list), func(i int) bool { return b.list[i].Last >= seq })
}

// Find returns the index of the block whose range holds seq.
func (b *Blocks) Find(seq uint64) (int, bool) {
	i := b.Search(seq)
	if i < len(b.list) && b.list[i].First <= seq {
		return i, true
	}
	return i, false
}

// SearchTime returns the index of the first block with a message stored at
// or after ts (unix nanoseconds): the block to start from for a start time,
// or the first block that survives a maximum age. It returns Len() when
// every block is older. Timestamps are assumed to be non-decreasing along
// the stream, as the engine assigns them.
func (b *Blocks) SearchTime(ts int64) int {
	return sort.Search(len(b.list), func(i int) bool { return b.list[i].LastTime >= ts })
}

// Totals returns the sum of Msgs and Bytes over all blocks.
func (b *Blocks) Totals() (msgs, bytes uint64) {
	for i := range b.list {
		msgs += b.list[i].Msgs
		bytes += b.list[i].Bytes
	}
	return msgs, bytes
}

// Equal reports whether b and o hold the same blocks.
func (b *Blocks) Equal(o *Blocks) bool { return slices.Equal(b.list, o.list) }

// MemoryBytes returns the bytes allocated for the table.
func (b *Blocks) MemoryBytes() int {
	return cap(b.list)*int(unsafe.Sizeof(BlockInfo{})) + int(unsafe.Sizeof(*b))
}

// Validate checks that the table is ordered: every block's range is well
// formed (Last >= First-1) and starts after the previous block's Last.
func (b *Blocks) Validate() error {
	for i := range b.list {
		bi := &b.list[i]
		if bi.First == 0 || bi.Last < bi.First-1 {
			return fmt.Errorf("index: block %d (id %d): bad range [%d, %d]", i, bi.ID, bi.First, bi.Last)
		}
		if i > 0 && bi.First <= b.list[i-1].Last {
			return fmt.Errorf("index: block %d (id %d) starts at %d, not after %d", i, bi.ID, bi.First, b.list[i-1].Last)
		}
	}
	return nil
}
