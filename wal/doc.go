// Package wal is Keel's write-ahead log: one log per store, shared by every
// stream, so that many streams share each fsync. Records are opaque bytes
// (encoded engine commands); the log gives them consecutive indexes, makes
// them durable in batches (group commit) and replays them at start-up.
// Blockstore moves records into its blocks and then drops them with
// TruncateFront, so the log stays small.
//
// It is built on github.com/tidwall/wal, whose limits it covers: records get
// a checksum and an index of their own; a torn tail is cut back before
// tidwall sees it; tidwall never fsyncs (NoSync) and the log syncs once per
// batch, through its own descriptor on the tail segment, outside tidwall's
// mutex, so the next batch is written while the previous one syncs; the
// directory is fsynced when a segment is created; segments stay small
// because tidwall keeps the tail segment in memory, and that buffer gets its
// full size when the segment starts instead of growing by copies
// (tidwall_tail.go).
//
// # Invariants
//
//   - Append returns consecutive indexes in call order; a record is durable
//     once Committed() >= its index. Under SyncAlways (the default) that means
//     an fdatasync that began after the record was written has completed
//     (and, for a new segment, a directory fsync); under SyncEvery(d) it means
//     written to the operating system, with an fsync every d.
//   - Committed() never goes back and never passes a record whose write or
//     sync failed: after any write or sync error the log stops (every later
//     Append, Wait and Sync returns the error). A failed fsync is never
//     retried, since the kernel may have dropped the dirty pages.
//   - Open cuts only bytes after the last valid record of the newest segment
//     (a torn write). A valid record is never dropped: damaged records
//     followed by valid ones are reported (Recovery.Damaged, logged as
//     errors) and replaced by placeholders that Read and Replay return as
//     *DamagedError, or Open fails with a *CorruptError under FailOnDamage.
//   - Everything Open finds is fsynced before Open returns: records a killed
//     process left in the page cache count as committed only once durable.
//   - Options.BeforeWrite runs on the writer before every batch reaches the
//     operating system: blockstore writes there the block bytes its
//     records point at, so no record outlives (in a killed process's page
//     cache) the bytes it names.
//   - With a key, every record written is encrypted; no (key, nonce) pair is
//     used twice (see Encryption).
//   - Scrub overwrites a committed record in place (secure erase); Replay
//     skips scrubbed records and Read reports ErrScrubbed.
//
// # On-disk format
//
// The directory holds tidwall/wal segment files, named by the 20-digit index
// of their first record, a LOCK file (flock held while open) and, for an
// encrypted log, the EPOCHS file. tidwall
// stores each record as uvarint(length) followed by that many bytes; those
// bytes are a frame, format version 1:
//
//	off len
//	0   4   CRC32C (Castagnoli) of bytes 4..end, little-endian
//	4   1   kind: 1 plaintext, 2 sealed, 3 damaged placeholder, 4 scrubbed (version 1)
//	5   4   body length, little-endian (= frame length - 17)
//	9   8   record index, little-endian (must equal tidwall's index)
//	17  n   body
//
// A plaintext body is the record. A sealed body is the epoch (u32,
// little-endian) followed by the AEAD output (record ciphertext and 16-byte
// tag) under the epoch's subkey, with the record index as the nonce counter
// and bytes 4..21 of the frame (kind, length, index, epoch) as associated
// data. A placeholder has an empty body; a scrubbed record keeps its length
// with a zero body. The CRC tells damage apart from a wrong key (CRC good,
// authentication failed). A record's bytes are never rewritten except by
// Scrub, which overwrites them in place. The kind byte carries the format
// version: a later version takes new kind values, so an older reader
// refuses its records instead of misreading them.
//
// # Encryption
//
// The master key comes from package seal (the store's KEY file). Each Open
// of an encrypted log starts a new epoch: a fresh random salt, hence a fresh
// subkey (seal.Key.NewFileSealer), recorded in EPOCHS before any record uses
// it. Within an epoch every index is sealed once (indexes only grow, and a
// log that failed writes nothing more); an index written again after a torn
// tail was cut belongs to a later epoch. TruncateFront and recovery copy
// ciphertext as it is and never seal again. EPOCHS, version 1:
//
//	off len
//	0   4   magic "KWEP"
//	4   1   version (1)
//	5   1   cipher (seal.Cipher)
//	6   2   reserved
//	8   4   entry count, little-endian
//	12  36n entries: epoch u32 | salt [16] | check [16] (seal.Sealer.Check)
//	end 4   CRC32C of everything before
//
// Open rewrites EPOCHS (atomically) without the epochs older than the oldest
// sealed record still in the log.
//
// # Recovery
//
// Open reads every segment (the log is kept small) and walks its frames.
// When a frame fails, it searches on for the next valid frame whose index is
// plausible. None: the rest of the newest segment is a torn tail and is cut
// (truncate and fsync; logged with the byte count). Found: the bytes in
// between are a hole; the segment is rewritten (temporary file, fsync,
// rename, directory fsync) with one placeholder per lost index, so later
// records keep their indexes. Older segments cannot have torn tails (tidwall
// fsyncs a segment before starting the next), so missing records there are
// holes too. On a plaintext log a payload that embeds a well-formed frame
// could pass for a record during that search; on an encrypted log it cannot,
// since no payload is on disk in the clear.
package wal
