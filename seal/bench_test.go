package seal

import (
	"fmt"
	"testing"
)

func BenchmarkSeal(b *testing.B) {
	for _, k := range testKeys(b) {
		for _, size := range []int{128, 1024, 16 * 1024} {
			b.Run(fmt.Sprintf("%s/%d", k.Cipher(), size), func(b *testing.B) {
				_, s := k.NewFileSealer()
				pt := make([]byte, size)
				dst := make([]byte, 0, size+s.Overhead())
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					s.Seal(dst[:0], pt, uint64(i), nil)
				}
			})
		}
	}
}
