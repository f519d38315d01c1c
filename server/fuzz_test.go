package server

import (
	"testing"

	"github.com/keelhq/keel/server/opts"
)

// FuzzClientInput feeds arbitrary bytes to a connection's parser and
// handlers (CONNECT JSON, SUB/UNSUB bookkeeping, routing to a subscriber):
// nothing may panic, whatever a client sends.
func FuzzClientInput(f *testing.F) {
	seeds := []string{
		"CONNECT {\"verbose\":true,\"pedantic\":true,\"headers\":true,\"no_responders\":true}\r\nSUB a.* q 1\r\nPUB a.b r 2\r\nhi\r\nUNSUB 1 3\r\nPING\r\n",
		"CONNECT {\"protocol\":1,\"echo\":false}\r\nSUB > 1\r\nHPUB x 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\nPING\r\n",
		"SUB a 1\r\nSUB a 1\r\nUNSUB 1\r\nUNSUB 1 0\r\nPUB a..b 0\r\n\r\n",
		"CONNECT {\"protocol\":-1}\r\n",
		"CONNECT {\"user\":\"x\",\"account\":\"A\"}\r\n",
		"-ERR 'x'\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	o := opts.Default()
	o.MaxSubs = 5
	s, err := New(o)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sink := benchClient(t, s, "CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB > 1\r\n")
		c := newClient(s, nullConn{})
		c.acc = s.gacc
		_ = c.parser.Parse(in)
		c.flushClients()
		// Leave nothing behind for the next input.
		for _, cl := range []*client{c, sink} {
			cl.mu.Lock()
			subs := make([]*subscription, 0, len(cl.subs))
			for _, sub := range cl.subs {
				subs = append(subs, sub)
			}
			cl.out.dropLocked()
			cl.mu.Unlock()
			for _, sub := range subs {
				cl.removeSub(sub)
			}
		}
	})
}
