// Package sqlite is the embedded store of the CPMS FHIR server: one SQLite
// database in the data directory, in WAL mode, that needs no set-up. It
// implements engine.Store.
//
// Layout:
//
//   - resource: one row per resource (type, id) with its internal key
//     (rid), current version number, deleted flag and the sequence number
//     of its current version.
//   - version: one row per version of every resource, in commit order
//     (seq): the body as served, or NULL for a deletion, with its
//     lastUpdated time and the method that wrote it. Reads of the current
//     version are two primary-key lookups.
//   - token: the token search values of current versions.
//
// Writes go through one connection in serialised transactions
// (synchronous=FULL: a committed write survives a power loss); reads use a
// pool of read-only connections that see the last committed state. The
// driver is modernc.org/sqlite (pure Go, so the binary builds without cgo),
// chosen by the benchmark in internal/sqlitebench; docs/performance.md has
// the figures. A lock file keeps a second server off the same data
// directory.
package sqlite
