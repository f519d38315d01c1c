package jetstream

import (
	"hash/maphash"
	"sync/atomic"
)

// Duplicate detection (Nats-Msg-Id within duplicate_window).
//
// A stream remembers the ids it stored in the last window in a compact
// form: a 64-bit hash of the id, the sequence and the time, 24 bytes in a
// ring in arrival order (which is time order), plus a linear-probing table
// of 4-byte ring positions keyed by the hash, kept at most half full. That
// is about 32 bytes per id against nats-server's ~100 (a map of strings to
// pointers); a 2-minute window at 100k msgs/s (12 million ids) costs about
// 400 MB. A hash match is confirmed against the stored message's own
// Nats-Msg-Id when the message is still there, so a collision cannot drop a
// message.
//
// The state is not persisted: at recovery it is rebuilt from the headers
// of the messages stored within the window (see recover.go), so it
// survives SIGKILL and power cuts exactly as the messages do.
//
// Memory is bounded server-wide (Config.DedupMaxIDs): a stream at the
// bound forgets its oldest ids early, shortening its effective window, and
// the shortfall is counted and logged.

type ddEntry struct {
	hash uint64
	seq  uint64
	ts   int64
}

type dedupWindow struct {
	window int64 // nanoseconds
	ring   []ddEntry
	head   int // oldest
	n      int
	table  []uint32 // ring position + 1; 0 is empty
	total  *atomic.Int64
	evict  int64 // ids dropped before their window ended
}

var dedupSeed = maphash.MakeSeed()

func hashID(id []byte) uint64 { return maphash.Bytes(dedupSeed, id) }

func newDedupWindow(window int64, total *atomic.Int64) *dedupWindow {
	return &dedupWindow{window: window, total: total}
}

// len is the number of ids held.
func (d *dedupWindow) len() int { return d.n }

// memory is the bytes held by the window's storage.
func (d *dedupWindow) memory() int64 {
	return int64(cap(d.ring))*24 + int64(cap(d.table))*4
}

// find calls fn with the sequence of every held id whose hash is h, until
// fn returns true (a confirmed match); it reports whether one did.
func (d *dedupWindow) find(h uint64, fn func(seq uint64) bool) bool {
	if d.n == 0 {
		return false
	}
	mask := uint64(len(d.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		v := d.table[i]
		if v == 0 {
			return false
		}
		if e := &d.ring[v-1]; e.hash == h && fn(e.seq) {
			return true
		}
	}
}

// add records an id stored at seq at time ts.
func (d *dedupWindow) add(h, seq uint64, ts int64, limit int64) {
	if d.window <= 0 {
		return
	}
	for d.n > 0 && d.total.Load() >= limit {
		d.dropOldest()
		d.evict++
	}
	if d.n == len(d.ring) {
		d.resize(max(64, 2*len(d.ring)))
	}
	pos := (d.head + d.n) & (len(d.ring) - 1)
	d.ring[pos] = ddEntry{hash: h, seq: seq, ts: ts}
	d.n++
	d.total.Add(1)
	d.place(h, uint32(pos+1))
}

func (d *dedupWindow) place(h uint64, v uint32) {
	mask := uint64(len(d.table) - 1)
	i := h & mask
	for d.table[i] != 0 {
		i = (i + 1) & mask
	}
	d.table[i] = v
}

// expire forgets the ids whose window ended at now.
func (d *dedupWindow) expire(now int64) {
	for d.n > 0 && now-d.ring[d.head].ts >= d.window {
		d.dropOldest()
	}
	if c := len(d.ring); c > 1024 && d.n < c/8 {
		d.resize(c / 4)
	} else if d.n == 0 && c > 0 {
		d.ring, d.table, d.head = nil, nil, 0
	}
}

// oldest is the time of the oldest held id (0 when none).
func (d *dedupWindow) oldest() int64 {
	if d.n == 0 {
		return 0
	}
	return d.ring[d.head].ts
}

func (d *dedupWindow) dropOldest() {
	e := d.ring[d.head]
	d.unplace(e.hash, uint32(d.head+1))
	d.head = (d.head + 1) & (len(d.ring) - 1)
	d.n--
	d.total.Add(-1)
}

// unplace removes value v from the table by backward-shift deletion, so
// probe chains stay unbroken without tombstones.
func (d *dedupWindow) unplace(h uint64, v uint32) {
	mask := uint64(len(d.table) - 1)
	i := h & mask
	for d.table[i] != v {
		if d.table[i] == 0 {
			return // not present: nothing to do
		}
		i = (i + 1) & mask
	}
	for {
		d.table[i] = 0
		j := i
		for {
			j = (j + 1) & mask
			w := d.table[j]
			if w == 0 {
				return
			}
			home := d.ring[w-1].hash & mask
			// w may move into the hole at i unless its home lies
			// cyclically in (i, j].
			if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
				d.table[i] = w
				i = j
				break
			}
		}
	}
}

// resize moves the held ids into a ring of capacity c (a power of two).
func (d *dedupWindow) resize(c int) {
	c = nextPow2(max(c, d.n, 64))
	ring := make([]ddEntry, c)
	for k := 0; k < d.n; k++ {
		ring[k] = d.ring[(d.head+k)&(len(d.ring)-1)]
	}
	d.ring, d.head = ring, 0
	d.table = make([]uint32, 2*c)
	for k := 0; k < d.n; k++ {
		d.place(ring[k].hash, uint32(k+1))
	}
}

// reset forgets everything (window changed, stream deleted).
func (d *dedupWindow) reset() {
	d.total.Add(-int64(d.n))
	d.ring, d.table, d.head, d.n = nil, nil, 0, 0
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}
