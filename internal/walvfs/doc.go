// Package walvfs registers a SQLite VFS, for modernc.org/sqlite, that
// gathers the writes of a connection to its write-ahead log into few
// system calls.
//
// SQLite writes each frame of the log with two calls, a 24-byte header
// and then the page, so a commit of 70 pages costs 140 pwrite calls. On
// the 2-vCPU guest of docs/performance.md those take 231 µs, against 38
// µs for one call with the same bytes. This VFS is SQLite's default one
// ("unix") for every file but the log: there it keeps the bytes written
// one after the other in a buffer, and hands them to the unix VFS, in
// calls of up to 128 KiB, when SQLite syncs the log, reads it, asks its
// size, truncates it, closes it, sends it a file control, or writes
// somewhere else in it.
//
// Durability is unchanged: a commit is durable when SQLite's sync of the
// log returns, and everything is written before that sync. A process that
// dies before then loses frames of a commit that had not been synced, as
// it could have with the unix VFS, and SQLite ignores such frames on
// recovery (their checksums do not chain).
//
// Other connections, with their own file handles, read frames once the
// writer publishes them in the shared log index, which SQLite does after
// its commit. So every connection writing through this VFS must sync at
// each commit: open it with synchronous=FULL or EXTRA (under NORMAL or
// OFF the log is not synced at commit, and other connections could look
// for frames still in the buffer). Connections that only read may use
// either VFS; locks are taken by the unix VFS in both cases and are
// shared through it.
package walvfs
