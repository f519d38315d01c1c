// Package index keeps a stream's indexes for the storage engine: the
// subjects it holds with their per-subject state (Tree), the ordered table
// of its blocks with sequence and time lookups (Blocks), the set of
// sequences deleted inside its range (SeqSet), and checkpoints that persist
// all of them so a store opens without rescanning its blocks (Checkpoint).
//
// The package does no I/O of its own except writing and reading checkpoint
// files, and knows nothing of messages: the store tells it what was stored
// and removed, and asks it where to look.
package index
