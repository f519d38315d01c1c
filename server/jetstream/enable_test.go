package jetstream_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/keelhq/keel/server/conf"
	"github.com/keelhq/keel/server/jetstream"
	"github.com/keelhq/keel/server/opts"
)

// TestFromOptionsBlockCache: jetstream { block_cache } sets the ceiling of
// the engine's decoded-block cache; without it the engine default applies
// (left to Enable, so zero here).
func TestFromOptionsBlockCache(t *testing.T) {
	for _, tc := range []struct {
		conf string
		want int64
	}{
		{"jetstream { store_dir: %s }", 0},
		{"jetstream { store_dir: %s, block_cache: 8MB }", 8 << 20},
	} {
		m, err := conf.Parse(fmt.Appendf(nil, tc.conf, strconv.Quote(t.TempDir())), "test.conf")
		if err != nil {
			t.Fatal(err)
		}
		o, err := opts.FromConfig(m)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := jetstream.FromOptions(o)
		if err != nil {
			t.Fatal(err)
		}
		if c.BlockCacheBytes != tc.want {
			t.Errorf("%s: block cache %d, want %d", tc.conf, c.BlockCacheBytes, tc.want)
		}
	}
}
