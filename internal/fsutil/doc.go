// Package fsutil holds the few file-system operations the engine's
// packages (seal, wal, index, blockstore) need to make what they write
// survive a crash or a power cut: fdatasync of a file, fsync of a
// directory, atomic replacement of a small file, preallocation and an
// exclusive lock on a folder.
//
// Each helper states the durability it gives; none retries a failed sync,
// since after a failed fsync the kernel may already have dropped the dirty
// pages and a second, successful one would prove nothing.
package fsutil
