// Package seal owns Keel's at-rest encryption: turning the configured secret
// into a master key, giving every file (or every rewrite of a file) its own
// subkey, and sealing records with nonces that are never reused.
//
// # Keys
//
// The master key is HKDF-SHA256(secret, store salt, "keel master v1"). The
// store salt is random, created with the store and kept in the key-check file
// (KEY) together with a check value derived from the same secret and salt
// through a separate HKDF label, so a wrong secret is recognised at start-up
// (ErrBadKey) instead of producing garbage later. The secret is used as key
// material, not stretched as a password: configure a high-entropy secret.
//
// Every file that holds sealed data draws a fresh random 16-byte salt when it
// is created or rewritten (Key.NewFileSealer) and stores that salt itself; the
// file's subkey is HKDF-SHA256(master, salt, "keel file v1 <cipher>"). Within
// a subkey the caller numbers its records with a counter it never repeats
// (a record index, a block offset, ...); the 96-bit nonce is four zero bytes
// followed by the counter, big-endian. So a (key, nonce) pair repeats only if
// one file writes the same counter twice under one salt, which every user of
// this package rules out by taking a new salt for every new file, every
// rewrite and every process run that may append after a crash.
//
// # KEY file format (version 1, 76 bytes)
//
//	off len
//	0   4   magic "KKEY"
//	4   1   version (1)
//	5   1   cipher (1 AES-256-GCM, 2 ChaCha20-Poly1305)
//	6   1   kdf (1 HKDF-SHA256)
//	7   1   reserved (0)
//	8   32  store salt (random)
//	40  32  check = HMAC-SHA256(HKDF(secret, salt, "keel check v1"), "keel key check")
//	72  4   CRC32C (Castagnoli) of bytes 0..72, little-endian
//
// A sealed record is the AEAD output: ciphertext followed by a 16-byte tag
// (Overhead). The associated data is chosen by the caller and binds the
// record to its place (file, index, header), so a record moved elsewhere
// fails to open.
package seal
