package jetstream_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain lets more parallel tests run at once than there are CPUs
// (unless -parallel says otherwise): the parallel tests here mostly wait
// on the clock (expiry, schedules, timeouts), not on a processor.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}
