//go:build !linux

package fuzz

import "os/exec"

// setDeathSignal has no equivalent here: the child's own lifetime limit
// ends it if the parent dies first.
func setDeathSignal(*exec.Cmd) {}
