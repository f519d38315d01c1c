package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/keelhq/keel/server/logger"
)

// writePidFile writes the process ID, without a new line, as nats-server
// does.
func writePidFile(path string) error {
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o660); err != nil {
		return fmt.Errorf("could not write pid file: %w", err)
	}
	return nil
}

// removePidFile removes the pid file at exit, if it is still ours.
func removePidFile(path string, log logger.Logger) {
	if path == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != strconv.Itoa(os.Getpid()) {
		return
	}
	if err := os.Remove(path); err != nil {
		log.Errorf("Could not remove pid file %s: %v", path, err)
	}
}
