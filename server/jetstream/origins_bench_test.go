package jetstream

import (
	"fmt"
	"testing"
	"time"

	"github.com/keelhq/keel/server/jetstream/jsapi"
)

// BenchmarkOriginCopy measures a mirror and a source copying b.N messages
// already in their origin (file streams, sync interval long: the copy, not
// the disk): ns and allocations per copied message.
func BenchmarkOriginCopy(b *testing.B) {
	for _, kind := range []string{"mirror", "source"} {
		b.Run(kind, func(b *testing.B) {
			js, err := Start(&nullHost{}, Config{StoreDir: b.TempDir(), MaxMemory: 1 << 40, MaxStore: 1 << 40,
				Account: jsapi.UnlimitedAccountLimits, SyncInterval: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			defer js.Shutdown()
			create := func(cfg jsapi.StreamConfig) *stream {
				c, _, apiErr := jsapi.CheckStreamCreate(cfg.Name, &jsapi.StreamConfigRequest{StreamConfig: cfg}, js.limitsEnv())
				if apiErr != nil {
					b.Fatal(apiErr)
				}
				st, err := js.createStream(&c)
				if err != nil {
					b.Fatal(err)
				}
				return st
			}
			o := create(jsapi.StreamConfig{Name: "O", Subjects: []string{"o.*"}})
			data := make([]byte, 128)
			for i := 0; i < b.N; i++ {
				if _, err := o.storeSourced(nil, fmt.Sprint("o.", i%16), nil, data); err != nil {
					b.Fatal(err)
				}
			}
			cfg := jsapi.StreamConfig{Name: "D"}
			if kind == "mirror" {
				cfg.Mirror = &jsapi.StreamSource{Name: "O"}
			} else {
				cfg.Sources = []*jsapi.StreamSource{{Name: "O"}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			d := create(cfg)
			for d.lastSeq() < uint64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
		})
	}
}
