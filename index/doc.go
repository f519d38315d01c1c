// Package index keeps a stream's indexes for the storage engine and
// persists them so a store opens without rescanning its blocks.
//
//   - Tree: the stream's subjects with per-subject state (message count,
//     first and last sequence, with lazily resolved stale bounds), wildcard
//     matching that only visits matching subjects. Small trees are cheap, so
//     a store may also keep one per block as that block's subject summary
//     (FirstMatch answers "may this block hold a match at or after seq").
//   - Blocks: the ordered table of a stream's blocks, with sequence → block
//     and time → block lookups by binary search.
//   - SeqSet: a compact set of sequences (roaring-style), for the deletes
//     inside a stream's range or inside one block.
//   - Checkpoint: all of the above plus the stream totals and the index of
//     the last applied command, in one versioned, checksummed, optionally
//     encrypted file written atomically (WriteFile, ReadFile).
//
// The package knows nothing of messages or files other than checkpoints:
// the store tells it what was stored and removed and asks it where to look.
// Its structures are not safe for concurrent use; read-only methods may run
// concurrently with each other, as under a store's read lock.
//
// # Memory
//
// A Tree keeps its nodes, leaves and key bytes in a few flat arenas with no
// Go pointers inside, so the garbage collector never scans it. A subject
// costs about 65 bytes including its state (1M subjects such as
// "orders.region42.customer123456"; BenchmarkTreeMemory). A SeqSet costs
// about 3 bytes per scattered delete and a few bytes per 65536 sequences of
// a run (BenchmarkSeqSetMemory).
//
// # Checkpoint file format, version 1
//
// Fixed-size integers are little-endian. uvarint and varint are the
// encodings of encoding/binary (varint is zig-zag).
//
//	off      len  field
//	0        4    magic "KIDX"
//	4        1    format version (1)
//	5        1    flags: bit 0 = body sealed; other bits 0
//	6        1    salt length S (0 when not sealed; at most 64)
//	7        1    reserved (0)
//	8        8    seal counter (random; 0 when not sealed)
//	16       8    body length L
//	24       S    salt naming the subkey that sealed the body (Keys.Sealer)
//	24+S     L    body: the sections below, or when sealed
//	              Seal(sections, counter, ad = bytes [0, 24+S) ‖ caller's ad)
//	24+S+L   4    CRC32C (Castagnoli) of bytes [0, 24+S+L)
//
// The body is four sections in this order, each a tag byte, an 8-byte
// payload length and the payload:
//
//	1 meta      uvarint last applied command index
//	            uvarint Msgs, Bytes, FirstSeq, LastSeq; varint FirstTime, LastTime
//	            uvarint n, then n bytes of Extra (the store's own data)
//	2 blocks    uvarint count; per block, oldest first:
//	            uvarint ID, First, Last-First+1
//	            varint FirstTime, LastTime-FirstTime
//	            uvarint Msgs, Bytes
//	3 subjects  uvarint count; per subject, in byte order:
//	            uvarint (bytes shared with the previous subject << 2
//	                     | 1 if FirstStale | 2 if LastStale)
//	            uvarint suffix length, suffix bytes
//	            uvarint Msgs, First, Last-First
//	4 deleted   uvarint chunk count; per chunk of 65536 sequences
//	            (key = seq >> 16), ascending:
//	            uvarint key - previous key - 1 (the first: key)
//	            form byte, then
//	              1 runs:   uvarint runs-1, then (start, last) uint16 pairs
//	              2 array:  uvarint count-1, then the uint16 values
//	              3 bitmap: 1024 uint64 words, bit i = sequence key<<16 | i
//
// Differences are taken modulo 2^64, so any value encodes. The encoding is
// canonical: subjects are strictly increasing with the exact shared prefix
// length, and each chunk is written in its smallest form (ties go to runs,
// then array) whatever its form in memory, so equal states give equal bytes
// (Checkpoint.AppendBinary) and a rebuilt index can be compared with the
// checkpointed one byte for byte.
//
// When sealed, every checkpoint write takes a fresh subkey (Keys.NewSealer,
// named by the salt in the header) and a random counter, so no (key, nonce)
// pair is ever reused; the header is authenticated as associated data, and
// the caller's ad (for example the stream name) binds the file to its place.
//
// The decoder trusts nothing: the file length must match the header, the
// CRC must match, an unknown version gives ErrVersion, and everything else
// (unknown flags, a clear checkpoint where a key is expected or the
// reverse, a body that fails to open, a count larger than the bytes left
// can hold, subjects out of order, an unordered block table, a malformed
// chunk, bytes left over in a section) gives ErrCorrupt. Every count and
// length is bounded by the input left, so damaged input never panics or
// allocates more than a small multiple of its size. Either error means the
// store rebuilds its index from the blocks.
package index
