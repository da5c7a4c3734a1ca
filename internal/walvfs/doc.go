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
// somewhere else in it, and once a commit's last frame is written.
//
// Durability is unchanged: a commit is durable when the log is synced
// after it, by SQLite at the commit under synchronous=FULL, or by the
// application under NORMAL (see the store's log syncer), and everything
// of the commit is written before that sync. A process that dies before
// a commit's frames are written loses that commit, as it could have with
// the unix VFS, and SQLite ignores such frames on recovery (their
// checksums do not chain).
//
// Other connections, with their own file handles, read frames once the
// writer publishes them in the shared log index, which SQLite does right
// after it wrote a commit's last frame, and before it syncs the log under
// FULL; under NORMAL it does not sync at all. So the buffer is written out
// as soon as SQLite has written a commit's last frame: the frame whose
// header holds the size of the database after the commit (no other frame
// has one). Connections that only read may use either VFS; locks are
// taken by the unix VFS in both cases and are shared through it.
package walvfs
