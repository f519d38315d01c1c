// Package fuzz holds the fuzz targets of decoders that cross packages (a
// whole store folder opened by the engine) and the crash-recovery harness
// of the storage engine.
//
// # The crash harness
//
// A child process (the test binary run again with its instructions in the
// environment variable ChildEnv, which TestMain hands to RunChild) opens a
// store with blockstore.Open, creates a few file streams (plain,
// S2-compressed, with limits and message TTLs; the whole store encrypted
// when asked) and applies a random workload to each from its own
// goroutine: stores of 0 B to 64 KiB
// (large ones take the engine's straight-to-block path) on a few hundred
// subjects, removals, erasures, purges (all, by subject, keeping N, up to a
// sequence), compactions, truncations, expiries, TTL messages, skips,
// configuration changes and aux records. It tells the parent over a pipe
// (never through the store's disk) every command it is about to apply,
// what applying it returned, and, once Engine.Durable() has passed the
// command's ticket, a durable acknowledgement (with the stored sequence and
// a hash of its payload, or the sequence it removed).
//
// The parent SIGKILLs the child at a random moment (sometimes while it is
// still recovering). Sometimes it then tears what was written after the
// last sync: it truncates, zeroes or garbles the tail of the newest WAL
// segment and of each stream's newest block, beyond the last record an
// acknowledgement covers and beyond what the stream's state file claims
// (read as recovery reads it, decrypted when the store is). A power cut
// may lose that, and it must cost nothing acknowledged. Sometimes it
// damages bytes that were synced instead: it flips a byte inside the
// records of a few acknowledged messages in older blocks, or inside a
// synced WAL record. Then it opens the store (in-process, or a copy of it
// while the next child recovers the original itself and must find the
// same) and checks:
//
//   - every acknowledged message is there, byte for byte, unless a command
//     that survived removed it; nothing durably removed comes back;
//   - the stream equals a model: a memory stream (blockstore.NewMemoryStream)
//     that applied the same commands, up to the recovered LastApplied, which
//     never goes back and never falls below the last acknowledged command;
//     where an injection cost records that recovery needed, the model
//     replays the commands the way recovery must then (model.go): a lost
//     WAL record's command is missing, a store whose block record is lost
//     becomes a skip;
//   - sequences strictly increase; State and SubjectsState equal a full
//     scan; FilteredState, NumPending, LoadLastMsg, LoadPrevMsg agree with
//     it; NextExpiry is never later than the first message due; a snapshot
//     restores to the same messages;
//   - the index equals a rebuild: the store is closed, its index
//     checkpoints (streams/<id>/INDEX) removed, and the reopened store must
//     show the same state, subjects and messages;
//   - a damaged record is either intact (the engine did not need it) or
//     reported (a message by its sequence, in Engine.Damaged or the
//     recovery log; a WAL record by its index), and the damage touches
//     nothing else. After a damage round the store starts afresh; otherwise
//     the next child continues the store's history.
//
// # Running it
//
// A short run is part of go test ./... (8 kills on a plain and 8 on an
// encrypted store; 4 each with -short). The long run is one command (-v
// shows the summary of a passing run; -timeout 0 lifts go test's 10
// minutes):
//
//	go test ./fuzz -run Crash -crash.iterations=1000 -timeout 0 -v
//
// Flags: -crash.iterations (kills), -crash.seed (0: from the clock; the
// seed is printed so that a failure can be replayed), -crash.encrypt
// (encrypt the store), -crash.keep (keep the work folder and the store as
// each failing kill left it), -crash.v (log every round), -crash.noinject
// (kills only), -crash.delay (the longest a child runs). Everything is
// decided by the seed except the moment each kill lands.
//
// It ends with a summary line:
//
//	crash: 1000 kills, 0 lost, 0 corrupt, 12 damaged
//
// lost counts acknowledged messages missing after a kill or a torn unsynced
// write; corrupt counts acknowledged messages with other bytes and every
// broken invariant (each logged with the seed, the round, the last
// acknowledged sequences and the mismatch); damaged counts the records hit
// by damage injected into synced bytes. The run fails when lost or corrupt
// is not zero, or when damage was not reported or spread beyond the records
// it hit.
//
// # Fuzz targets
//
// FuzzEngineOpen writes fuzzed bytes over one file of a small real store (a
// block, a WAL segment, a stream state file, an index checkpoint, the
// engine, key or epoch file; plain or encrypted), optionally fixing the
// checksums the fuzzer cannot forge, and opens and uses the store: it must
// fail with an error or recover, never panic or allocate without bound.
// FuzzSnapshotRestore does the same for snapshot images. The decoders of
// single records have their own targets in wal, seal, index and
// blockstore. Each run opens a store, so fuzzing is slow (tens of inputs a
// second); keep the minimizer short:
//
//	go test ./fuzz -run '^$' -fuzz FuzzEngineOpen -fuzztime 10m -fuzzminimizetime 10s
//
// # Engine bugs
//
// engine_bugs_test.go holds minimal reproductions of engine bugs the
// harness found; each fails until the engine is fixed.
package fuzz
