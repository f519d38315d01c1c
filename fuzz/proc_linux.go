package fuzz

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the child if the parent dies first,
// so a crashed test leaves no workload running.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
