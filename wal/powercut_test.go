package wal

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The power-cut check runs the log in a child process on an ext4 image
// behind a loop device, with the kernel's periodic writeback off so that
// only what the log fsyncs reaches the image. It SIGKILLs the child at a
// random moment, copies the image (the disk after the cut), mounts the copy
// and checks that every record the child saw committed is there, intact.
// It needs root, loop devices and mkfs.ext4, and changes two vm sysctls
// for its duration (restored at the end):
//
//	go test ./wal -run TestPowercut -wal.powercut=10 -v
var (
	powercutRounds = flag.Int("wal.powercut", 0, "power-cut rounds to run (needs root and loop devices)")
	// A lazy policy shows that the check finds losses: -wal.powercut.sync=1h.
	powercutSync = flag.String("wal.powercut.sync", "always", "sync policy of the child")
)

const (
	powercutChildEnv = "KEEL_WAL_POWERCUT_DIR"
	powercutSyncEnv  = "KEEL_WAL_POWERCUT_SYNC"
)

func TestPowercut(t *testing.T) {
	if dir := os.Getenv(powercutChildEnv); dir != "" {
		powercutChild(dir)
		return
	}
	if *powercutRounds == 0 {
		t.Skip("run with -wal.powercut=N (root, loop devices)")
	}
	restore := setSysctls(t, map[string]string{
		"vm/dirty_writeback_centisecs": "0",
		"vm/dirty_expire_centisecs":    "360000",
	})
	defer restore()
	var acked, lost, bad uint64
	for r := 1; r <= *powercutRounds; r++ {
		a, l, b := powercutRound(t, r)
		acked, lost, bad = acked+a, lost+l, bad+b
	}
	t.Logf("powercut: %d rounds, %d committed, %d lost, %d corrupt", *powercutRounds, acked, lost, bad)
	if lost+bad > 0 {
		t.Fail()
	}
}

func powercutRound(t *testing.T, round int) (acked, lost, bad uint64) {
	work := t.TempDir()
	img, mnt := filepath.Join(work, "disk.img"), filepath.Join(work, "mnt")
	os.Mkdir(mnt, 0o755)
	run(t, "truncate", "-s", "512M", img)
	run(t, "mkfs.ext4", "-q", "-F", img)
	dev := mount(t, img, mnt)

	cmd := exec.Command(os.Args[0], "-test.run=^TestPowercut$")
	cmd.Env = append(os.Environ(), powercutChildEnv+"="+filepath.Join(mnt, "wal"), powercutSyncEnv+"="+*powercutSync)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var committed atomic.Uint64
	first := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if c, err := strconv.ParseUint(strings.TrimSpace(sc.Text()), 10, 64); err == nil {
				committed.Store(max(committed.Load(), c))
				once.Do(func() { close(first) })
			}
		}
	}()
	select {
	case <-first:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child committed nothing")
	}
	time.Sleep(time.Duration(300+rand.IntN(1500)) * time.Millisecond) // the cut comes at a random moment
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	<-done
	crash := filepath.Join(work, "crash.img")
	run(t, "cp", "--sparse=always", img, crash)
	unmount(t, mnt, dev)
	os.Remove(img)

	dev = mount(t, crash, mnt)
	defer unmount(t, mnt, dev)
	l, err := Open(filepath.Join(mnt, "wal"), Options{})
	if err != nil {
		t.Fatalf("round %d: open after the cut: %v", round, err)
	}
	defer l.Close()
	acked = committed.Load()
	var seen uint64
	for i := uint64(1); i <= acked; i++ {
		data, err := l.Read(i, nil)
		switch {
		case err != nil:
			lost++
		case !checkPowercutRecord(data):
			bad++
		default:
			seen++
		}
	}
	t.Logf("round %d: committed %d, recovered %d (last %d), lost %d, corrupt %d, cut %d bytes",
		round, acked, seen, l.LastIndex(), lost, bad, l.Recovery().DroppedBytes())
	return acked, lost, bad
}

// powercutChild appends self-checking records from a few writers, some
// waiting for each record, and prints the watermark as it advances.
func powercutChild(dir string) {
	policy, err := ParseSyncPolicy(os.Getenv(powercutSyncEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	l, err := Open(dir, Options{SegmentSize: 1 << 20, Sync: policy})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var printed uint64
	l.Notify(func(c uint64) {
		mu.Lock()
		defer mu.Unlock()
		if c > printed { // one write(2) per line: the parent sees it at once
			printed = c
			os.Stdout.WriteString(strconv.FormatUint(c, 10) + "\n")
		}
	})
	for w := range 8 {
		go func() {
			for seq := uint64(0); ; seq++ {
				idx, err := l.Append(powercutRecord(uint32(w), seq))
				if err == nil && (w < 4 || seq%64 == 0) {
					err = l.Wait(idx)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
			}
		}()
	}
	select {}
}

// powercutRecord is writer | seq | filler | crc, of a size that varies.
func powercutRecord(w uint32, seq uint64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, w)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = append(b, bytes.Repeat([]byte{byte(seq)}, int(seq%700))...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func checkPowercutRecord(b []byte) bool {
	if len(b) < 16 {
		return false
	}
	return binary.LittleEndian.Uint32(b[len(b)-4:]) == crc32.ChecksumIEEE(b[:len(b)-4]) &&
		bytes.Equal(b, powercutRecord(binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint64(b[4:])))
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func mount(t *testing.T, img, mnt string) string {
	dev := run(t, "losetup", "--find", "--show", img)
	if out, err := exec.Command("mount", "-o", "noauto_da_alloc", dev, mnt).CombinedOutput(); err != nil {
		exec.Command("losetup", "-d", dev).Run()
		t.Fatalf("mount %s: %v: %s", dev, err, out)
	}
	return dev
}

func unmount(t *testing.T, mnt, dev string) {
	run(t, "umount", mnt)
	run(t, "losetup", "-d", dev)
}

func setSysctls(t *testing.T, set map[string]string) func() {
	old := map[string]string{}
	for k, v := range set {
		p := "/proc/sys/" + k
		b, err := os.ReadFile(p)
		if err != nil {
			t.Skipf("sysctl %s: %v", k, err)
		}
		old[k] = strings.TrimSpace(string(b))
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Skipf("sysctl %s: %v", k, err)
		}
	}
	return func() {
		for k, v := range old {
			os.WriteFile("/proc/sys/"+k, []byte(v), 0o644)
		}
	}
}
