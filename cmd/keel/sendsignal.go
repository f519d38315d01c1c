//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// commands maps --signal commands to signals, as nats-server does.
var commands = map[string]syscall.Signal{
	"stop":   syscall.SIGKILL,
	"quit":   syscall.SIGINT,
	"reopen": syscall.SIGUSR1,
	"reload": syscall.SIGHUP,
	"ldm":    syscall.SIGUSR2,
	"term":   syscall.SIGTERM,
}

// sendSignal implements --signal CMD[=PID]: PID is a process ID, a prefix
// ending in '*' (every keel process whose ID starts so), or the path of a
// pid file. Without PID, the one running keel process is signalled.
func sendSignal(spec string) error {
	parts := strings.Split(spec, "=")
	if len(parts) > 2 {
		return fmt.Errorf("invalid signal parameters: %v", parts[2:])
	}
	sig, ok := commands[parts[0]]
	if !ok {
		return fmt.Errorf("unknown signal %q", parts[0])
	}
	pidExpr := ""
	if len(parts) == 2 {
		pidExpr = parts[1]
		if b, err := os.ReadFile(pidExpr); err == nil {
			pidExpr = strings.TrimSpace(string(b))
		}
	}
	glob := strings.HasSuffix(pidExpr, "*")
	prefix := strings.TrimSuffix(pidExpr, "*")
	var pids []int
	if prefix != "" && !glob {
		pid, err := strconv.Atoi(prefix)
		if err != nil {
			return fmt.Errorf("invalid pid: %s", prefix)
		}
		pids = []int{pid}
	} else {
		if prefix != "" {
			if _, err := strconv.Atoi(prefix); err != nil {
				return fmt.Errorf("invalid pid: %s", prefix)
			}
		}
		running, err := keelProcesses()
		if err != nil {
			return err
		}
		for _, pid := range running {
			if strings.HasPrefix(strconv.Itoa(pid), prefix) {
				pids = append(pids, pid)
			}
		}
		switch {
		case len(pids) == 0:
			return fmt.Errorf("no %s processes running", exe)
		case len(pids) > 1 && !glob:
			msg := fmt.Sprintf("multiple %s processes running:", exe)
			for _, p := range pids {
				msg += fmt.Sprintf("\n%d", p)
			}
			return errors.New(msg)
		}
	}
	var errs []string
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil {
			errs = append(errs, fmt.Sprintf("signal %q %d: %v", parts[0], pid, err))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// keelProcesses lists the IDs of the other processes named like this
// executable: from /proc where there is one, else with pgrep.
func keelProcesses() ([]int, error) {
	name := filepath.Base(os.Args[0])
	self := os.Getpid()
	var pids []int
	if entries, err := os.ReadDir("/proc"); err == nil {
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self {
				continue
			}
			comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			if err == nil && strings.TrimSpace(string(comm)) == truncateComm(name) {
				pids = append(pids, pid)
			}
		}
		return pids, nil
	}
	out, err := exec.Command("pgrep", name).Output()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return nil, errors.New("unable to resolve pid, try providing one")
	}
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, errors.New("unable to resolve pid, try providing one")
		}
		if pid != self {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// truncateComm shortens a name as the kernel does in /proc/PID/comm.
func truncateComm(name string) string {
	if len(name) > 15 {
		return name[:15]
	}
	return name
}
