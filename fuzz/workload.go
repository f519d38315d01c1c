package fuzz

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/keelhq/keel/blockstore"
)

// streamSpec is one stream of a store under test: its configuration and the
// first token of its subjects.
type streamSpec struct {
	Cfg    blockstore.Config
	Prefix string
}

// baseTime is the synthetic clock's origin. Commands carry their own time
// (the engine never reads the clock when applying), so a workload is a pure
// function of its seed.
var baseTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// roundSpan is how far the synthetic clock moves between rounds; a child
// never runs its clock past it, so time only grows across kills.
const roundSpan = int64(10 * time.Minute)

// newStreams picks the streams of a fresh store: a plain one, a compressed
// one with a per-subject limit, and a compressed one that refuses new
// messages when full and expires by age. Limits bound the store's size, so
// every round's checks stay quick.
func newStreams(r *rand.Rand) []streamSpec {
	bs := func() int64 { return int64(16<<10) << r.IntN(4) } // 16 KiB .. 128 KiB blocks
	return []streamSpec{
		{Prefix: "ord", Cfg: blockstore.Config{Name: "orders", BlockSize: bs(), AllowMsgTTL: true,
			MaxMsgs: 1200}},
		{Prefix: "evt", Cfg: blockstore.Config{Name: "events", BlockSize: bs(), AllowMsgTTL: true,
			Compression: blockstore.S2Compression, MaxMsgsPerSubject: int64(2 + r.IntN(8)), MaxMsgs: 1500}},
		{Prefix: "met", Cfg: blockstore.Config{Name: "metrics", BlockSize: bs(), AllowMsgTTL: true,
			Compression: blockstore.S2Compression, MaxMsgs: 800, MaxAge: 25 * time.Minute,
			Discard: blockstore.DiscardNew}},
	}
}

// payload returns size bytes generated from seed: random, text-like or
// mostly zero, so compression sometimes pays and sometimes does not.
func payload(seed uint64, size int) []byte {
	if size == 0 {
		return nil
	}
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	switch seed % 4 {
	case 0, 1:
		for i := 0; i < size; i += 8 {
			var w [8]byte
			binary.LittleEndian.PutUint64(w[:], r.Uint64())
			copy(b[i:], w[:])
		}
	case 2:
		line := []byte("keel crash payload " + strconv.FormatUint(seed, 36) + " qty=")
		for i := 0; i < size; {
			i += copy(b[i:], line)
			if i < size {
				b[i] = byte('0' + r.IntN(10))
				i++
			}
		}
	default:
		for i := 0; i < size/64+1; i++ {
			b[r.IntN(size)] = byte(r.Uint32())
		}
	}
	return b
}

// header returns a NATS header for the message of seed, or nil.
func header(seed uint64, with bool) []byte {
	if !with {
		return nil
	}
	return []byte("NATS/1.0\r\nNats-Msg-Id: " + strconv.FormatUint(seed, 36) + "\r\n\r\n")
}

// msgHash is the hash an acknowledgement carries: of the header and payload.
func msgHash(hdr, data []byte) uint64 {
	h := fnv.New64a()
	h.Write(hdr)
	h.Write([]byte{0xff})
	h.Write(data)
	return h.Sum64()
}

// workload generates one stream's commands in one round.
type workload struct {
	r      *rand.Rand
	spec   streamSpec
	now    int64
	end    int64 // the clock stops here (the next round's start)
	full   int   // refused stores in a row: time to make room
	sm     blockstore.StoreMsg
	nextPS uint64
}

func newWorkload(seed uint64, round int, spec streamSpec) *workload {
	start := baseTime + int64(round)*roundSpan
	return &workload{
		r:    rand.New(rand.NewPCG(seed, uint64(round)<<8|uint64(len(spec.Prefix)+int(spec.Prefix[0])))),
		spec: spec, now: start, end: start + roundSpan - 1,
	}
}

var (
	regions = []string{"eu", "us", "ap"}
	kinds   = []string{"a", "b", "c", "d", "e"}
)

// subject picks one of 300 subjects, a few of them hot.
func (w *workload) subject() string {
	u := w.r.Float64()
	return fmt.Sprintf("%s.%s.%s.%d", w.spec.Prefix, regions[w.r.IntN(len(regions))],
		kinds[min(w.r.IntN(7), 4)], int(u*u*20))
}

// filter picks a purge filter: all, a wildcard or a literal subject.
func (w *workload) filter() string {
	switch w.r.IntN(6) {
	case 0:
		return ""
	case 1:
		return w.spec.Prefix + "." + regions[w.r.IntN(len(regions))] + ".>"
	case 2:
		return w.spec.Prefix + ".*." + kinds[w.r.IntN(len(kinds))] + ".*"
	case 3:
		return w.spec.Prefix + ".>"
	default:
		return w.subject()
	}
}

func (w *workload) size() int {
	switch n := w.r.IntN(100); {
	case n < 3:
		return 0
	case n < 45:
		return w.r.IntN(256)
	case n < 75:
		return 256 + w.r.IntN(4096-256)
	case n < 92:
		return 4096 + w.r.IntN(12<<10)
	default:
		return 16<<10 + w.r.IntN(48<<10) // the large-message path
	}
}

func (w *workload) ttl() int64 {
	if w.r.IntN(10) != 0 {
		return 0
	}
	switch n := w.r.IntN(10); {
	case n == 0:
		return -1 // never expires, even by age
	case n < 7:
		return int64(time.Second) * int64(1+w.r.IntN(30))
	default:
		return int64(time.Minute) * int64(1+w.r.IntN(20))
	}
}

// live returns a live sequence of s near a random point of its range.
func (w *workload) live(s blockstore.Stream, st blockstore.State) uint64 {
	if st.Msgs == 0 {
		return st.FirstSeq
	}
	q := st.FirstSeq + w.r.Uint64N(st.LastSeq-st.FirstSeq+1)
	if m, err := s.LoadNextMsg("", q, &w.sm); err == nil {
		return m.Seq
	}
	return st.FirstSeq
}

// refused tells the workload how the last command went.
func (w *workload) refused(err error) {
	if errors.Is(err, blockstore.ErrMaxMsgs) || errors.Is(err, blockstore.ErrMaxBytes) {
		w.full++
	} else if err == nil {
		w.full = 0
	}
}

// next returns the next command for stream s, whose next command index is
// idx.
func (w *workload) next(s blockstore.Stream, idx uint64) cmdSpec {
	w.now = min(w.now+int64(w.r.IntN(20))*int64(time.Millisecond), w.end)
	c := cmdSpec{Idx: idx, Time: w.now}
	w.nextPS++
	pseed := w.r.Uint64()
	n := w.r.IntN(1000)
	if w.full > 3 {
		n = 900 + w.r.IntN(20) // a full stream that refuses: purge or compact
		w.full = 0
	}
	switch {
	case n < 740:
		c.Op, c.Subject, c.Size, c.Hdr, c.PSeed = blockstore.OpStore, w.subject(), w.size(), w.r.IntN(5) == 0, pseed
		c.TTL = w.ttl()
	case n < 810:
		c.Op, c.Seq = blockstore.OpRemove, w.live(s, s.State())
	case n < 830:
		c.Op, c.Seq = blockstore.OpErase, w.live(s, s.State())
	case n < 880:
		c.Op = blockstore.OpExpire
	case n < 920:
		c.Op, c.Key = blockstore.OpSetAux, fmt.Sprintf("consumer.%d", w.r.IntN(6))
		if w.r.IntN(5) != 0 {
			c.Size, c.PSeed = 1+w.r.IntN(200), pseed
		}
	case n < 950:
		c.Op, c.Subject = blockstore.OpPurge, w.filter()
		c.Keep = uint64(w.r.IntN(3)) * uint64(w.r.IntN(5))
		if c.Subject == "" && c.Keep == 0 && w.r.IntN(4) != 0 {
			c.Keep = 1 + uint64(w.r.IntN(50)) // purge-all is rare: it wipes the history
		}
	case n < 960:
		st := s.State()
		c.Op, c.Subject, c.Seq = blockstore.OpPurge, w.filter(), w.live(s, st)
	case n < 972:
		st := s.State()
		c.Op = blockstore.OpCompact
		c.Seq = st.FirstSeq + uint64(w.r.IntN(int(min(st.Msgs, 200))+1))
	case n < 977:
		st := s.State()
		c.Op = blockstore.OpTruncate
		if st.LastSeq > 0 {
			c.Seq = st.LastSeq - min(st.LastSeq, uint64(w.r.IntN(20)))
		}
	case n < 982:
		c.Op = blockstore.OpSkip
	case n < 986:
		l := limitsOf(s.Config())
		switch w.r.IntN(3) {
		case 0:
			l.MaxMsgs = max(200, l.MaxMsgs+int64(w.r.IntN(400))-200)
		case 1:
			l.MaxPerSubj = int64(w.r.IntN(10))
		default:
			l.TTL = !l.TTL
		}
		c.Op, c.Cfg = blockstore.OpConfig, &l
	case n < 990:
		c.Op = blockstore.OpPurge
		if w.r.IntN(4) == 0 {
			c.Keep = uint64(w.r.IntN(10))
		}
	default:
		c.Op, c.Subject, c.Size, c.PSeed = blockstore.OpStore, w.subject(), 0, pseed
	}
	return c
}
