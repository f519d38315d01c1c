// Package blockstore is Keel's storage engine: streams of messages kept in
// a file store (segmented, checksummed, optionally S2-compressed and
// encrypted blocks behind one write-ahead log shared by every stream) or in
// a memory store, with the same behaviour for both (one test suite runs
// against both).
//
// Every mutation is a Command applied in order by one apply function
// (Stream.Apply). A command carries everything already decided (sequence,
// timestamp, TTL, "now" for expiry), so applying it never reads the clock or
// anything else that could differ between replicas: the consensus layer can
// replicate exactly these commands. The index of the last applied command is
// persisted atomically with the data and reported by Stream.LastApplied.
//
// Durability is reported through tickets: Apply returns the ticket of its
// command and the engine's durable watermark (Engine.Durable, Engine.Notify)
// passes it once the command survives a power cut under the configured sync
// policy. Readers see a command's effect as soon as Apply returns.
//
// # Write path (file streams)
//
// Apply validates the command (a refusal changes nothing), applies it to
// the stream's memory (the active block's buffer, the subject index, the
// deleted set, limits), and appends its record to the shared WAL (group
// commit: one write and one fsync for many commands of many streams). Its
// WAL index is the ticket. Small messages live in the WAL and in the active
// block's buffer until a checkpoint (about every second, or every 64 MiB of
// WAL) writes them to the block file, syncs it, commits the stream's state
// file and truncates the WAL. Large messages (8 KiB and up) are written
// once, straight into the block file; the WAL gets a pointer to the record,
// and the durable watermark waits for both the WAL's fsync and the block
// file's (done concurrently). Under the always policy a large record is
// not written alone: it waits in memory as the file's pending tail, written
// in one write for many records by the appender once 256 KiB gathered, by
// the WAL's writer just before it writes the batch holding a pointer (so a
// pointer never reaches the operating system before the bytes it names) or
// by the syncer just before its fdatasync; a new block file's directory
// entry is synced with its first such sync. Removals are tombstones in the active block;
// a secure erase scrubs memory at once and overwrites the record in its
// file once a committed state records the removal (the checkpoint doing so
// also drops the WAL segments that held the message: tidwall/wal cannot
// overwrite in place, so the log is kept short instead).
//
// # Store folder
//
//	<dir>/keel/
//	  ENGINE                      next stream id
//	  KEY                         key check (package seal), when encrypted
//	  wal/                        the shared WAL (package wal)
//	  streams/<id, 16 hex>/       one stream
//	    STATE.a, STATE.b          state file slots (the checkpoint commit point)
//	    INDEX                     index checkpoint (package index)
//	    <block id, 16 hex>.<generation, hex>.blk
//
// Stream ids are never reused (the WAL may still hold records of a deleted
// stream), so a stream's folder is named by id and its name is in its state.
// Every file starts with a magic number and a format version; every
// integer is little-endian.
//
// # ENGINE (version 1, 20 bytes)
//
//	0  4  magic "KENG"
//	4  1  version (1)
//	5  3  reserved
//	8  8  next stream id: above every id given out (reserved 64 at a time)
//	16 4  CRC32C (Castagnoli) of bytes 0..16
//
// # WAL command record (version 1)
//
// The payload blockstore gives the WAL for each applied command (the WAL
// adds its own framing, checksum and sealing):
//
//	u8 version (1), u8 op, u8 flags (1: external payload, 2: its sizes)
//	uvarint stream id, uvarint command index (LastApplied after it)
//	uvarint seq, varint time, varint ttl, uvarint keep
//	subject, key, header, data: each uvarint length + bytes
//	u8 config present, then the config encoding (below)
//	external payload: uvarint block id, uvarint file offset, uvarint record
//	  length, u32 record CRC — where the large message's block record is —
//	  then (flag 2) the message's header and data lengths, uvarints
//
// A batch (Stream.ApplyBatch) is one record: u8 version (1), u8 op 0x40,
// u8 flags (0), uvarint stream id, uvarint command count, then each
// command record as uvarint length + bytes; recovery applies all of it or
// nothing.
//
// A store's sequence and a skip's target are recorded as resolved, so a
// replay gives the same result. The config encoding is: u8 version (1),
// name (uvarint length + bytes), uvarint storage, varint max msgs, max
// bytes, max age (ns), max msgs per subject, max msg size, uvarint discard,
// uvarint flags (1 discard new per subject, 2 allow msg TTL), uvarint
// compression, uvarint first seq, varint block size.
//
// # Block file (version 1)
//
// Header, 80 bytes:
//
//	0   4  magic "KBLK"
//	4   1  version (1)
//	5   1  flags: 1 records may be sealed, 2 records may be S2-compressed
//	6   2  reserved
//	8   8  stream id
//	16  8  block id
//	24  8  first sequence the block covers
//	32  16 salt of the block's subkey (encrypted blocks; zero otherwise)
//	48  16 key check (seal.Sealer.Check) to tell a wrong key from damage
//	64  12 reserved
//	76  4  CRC32C of bytes 0..76
//
// Then records, back to back, each framed so a reader can resynchronise
// after damage (a bad record costs that record only, reported with its
// sequence):
//
//	0   2  sync marker 0xB1 0x0C
//	2   4  n, the length of everything after this field
//	6   1  kind (1 message, 2 tombstone, 3 erased, 5 lost) | 0x10 S2 | 0x20 sealed
//	7   8  sequence (a tombstone's: the removed message's)
//	15  .. body
//	n+2 4  CRC32C of bytes 2..n+2 (length, kind, sequence, body as stored)
//
// Message body: i64 time, varint TTL, subject, header (each uvarint length
// + bytes), data (the rest). Tombstone body: the removed message's subject
// and its header and data lengths (uvarints), so replaying a tombstone
// keeps the counts exact without reading the message. An erased record is
// the record it replaced, zeroed after the sequence, never sealed; one
// whose overwrite a kill cut short (erased up to a 4 KiB boundary of the
// file past its kind byte, the rest as it was, its CRC failing) reads as
// erased too. A lost
// record stands for a message whose payload was lost to damage while its
// command survived (recovery found its large record damaged): time, TTL,
// subject, then header and data lengths (uvarints); it counts as a message
// and cannot be loaded. With S2
// a message body is compressed when that saves space; sealed, the (perhaps
// compressed) body is AEAD output under the block's subkey, with the
// record's file offset as the nonce counter and bytes 2..15 as associated
// data. A block is never appended to after a restart and every rewrite
// (compaction: the next generation of the same block id) takes a fresh
// salt, so no (key, nonce) pair is ever used twice.
//
// In memory the active block and cached blocks use the same framing with
// plaintext bodies; a large message of the active block is a stub (kind 4,
// memory only) giving its file position.
//
// # Stream state file (version 2)
//
// The commit point of a checkpoint, written to the older of two slots
// (STATE.a, STATE.b) and fdatasynced; a reader takes the valid slot with
// the higher generation.
//
//	0   4  magic "KSTA"
//	4   1  version (1)
//	5   1  flags (1: body sealed)
//	6   2  reserved
//	8   8  generation
//	16  16 salt of the body's subkey (sealed)
//	32  4  body length n
//	36  n  body (sealed: AEAD output, counter 0, bytes 0..36 associated data)
//	36+n 4 CRC32C of bytes 0..36+n
//
// Body: u64 stream id, name, config encoding, u64 applied index, first and
// last sequence, last time, active block id and its valid end offset, next
// block id, truncation epoch; dead blocks (uvarint count, id and generation
// each); cuts (uvarint count, id, generation and end each); aux records
// (uvarint count, key and value each as uvarint length + bytes); version 2
// adds abandoned blocks (uvarint count, id and generation each): blocks
// recovery found after the state's active one, never committed, never
// read again (version 1 files are still read).
//
// Blocks with an id below the active one are whole, the active one is valid
// up to its end offset, later ones hold only records of commands after the
// applied index (the WAL replays those commands; large messages are read
// back from the position their WAL record names, and a record that does not
// check out was never acknowledged). Dead blocks and cuts are removals the
// state records and the disk may not show yet; recovery completes them.
//
// # Index checkpoint
//
// An index.Checkpoint (subject tree, block table, deleted sequences,
// totals, applied index; sealed under a fresh subkey when encrypted), with
// blockstore's Extra section, version 2 (version 1 lacks the last part and
// is still read): u8 version, u8 flags (1: the TTL entries are complete),
// u64 truncation epoch, u64 block id and end offset the checkpoint reflects
// the files up to, u64 last sequence stored or skipped, u64 next block id;
// uvarint block count, then per block u64 file generation, u64 size, u64
// garbage bytes, uvarint tombstones; uvarint TTL entry count, then i64
// expiry and u64 sequence each; uvarint count of runs of sequences lost to
// damage, then per run uvarint start less the previous run's end and
// uvarint length less one. Opening a stream loads it and replays only the
// block records after its position. A missing, damaged or stale one (other epoch, a block of
// another generation) is ignored: the index is rebuilt from every block,
// with an identical result. Retired block files stay on disk until an index
// checkpoint written after their retirement exists, since an older one may
// still count their messages.
//
// # Snapshot (version 1)
//
//	"KEELSNAP", u16 version (1), u16 flags (0)
//	frames: u8 type, u32 payload length, payload, u32 CRC32C of type|length|payload
//	  1 meta  config encoding, u64 first, u64 last, i64 last time,
//	          u64 applied index, u64 message count
//	  2 aux   key (uvarint length + bytes), value (the rest)
//	  3 msg   u64 seq, i64 time, i64 ttl, subject, header (uvarint length
//	          + bytes each), data (the rest)
//	  4 end   u64 message count, u64 aux count
//
// Frames come in that order; a reader rejects anything else and checks the
// counts, so a truncated or spliced snapshot never restores as a smaller
// stream. Snapshots are written to the caller (the JetStream layer streams
// them out) and never stored under the store folder.
package blockstore
