// Package sqlite is the embedded store of the CPMS FHIR server: one SQLite
// database in the data directory, in WAL mode, that needs no set-up. It
// implements engine.Store.
//
// Layout (schema.go):
//
//   - resource: one row per resource (type, id) with its internal key
//     (rid), current version number, deleted flag, the sequence number and
//     lastUpdated of its current version, and h, the hash that references
//     to it carry.
//   - version: one row per version of every resource, in commit order
//     (seq): the body as served, or NULL for a deletion, with its
//     lastUpdated time and the method that wrote it. Reads of the current
//     version are two primary-key lookups.
//   - token, string, date, number, quantity, ref, uri, comp: the search
//     values of the current versions (search.Index), one table per kind,
//     keyed by rid and by hashes of the parameter and of the values that
//     are only compared for equality (keys.go). A Put queues the
//     resource's new rows (below), which replace its old ones when the
//     queue is drained. A union parameter (such as
//     Observation's combo-code, see search.UnionOf) has no rows, and one
//     among its own parts (Patient's name, whose parts are name, family
//     and given) only those of the values no other part has and of its
//     lowest and highest value: clauses on a union read its parts' rows,
//     and sorts the rows of a part that holds those values, or of all
//     the parts (search.Stored, search.SortedBy). A store
//     written before keeps a resource's other rows of a union until the
//     resource is written again or reindexed: they repeat values of the
//     parts, so that searches find the same.
//   - typecount, paramcount: the live resources of each type and those
//     with a value of each parameter, kept by every write (paramcount by
//     every drain of the queue): totals without clauses, :missing and the
//     end of sorted pages cost one lookup.
//   - index_queue: the search values of writes not yet in the value
//     tables, encoded, in write order (queue.go). A write appends its
//     resource's values there in its own transaction; the queue is
//     written into the value tables a thousand resources at a time, in
//     the order of their indexes, and before any search: a search runs in
//     a read transaction when its snapshot has nothing queued, and
//     otherwise in one begun right after a drain, while the drain still
//     holds the writer; the search itself then runs beside the writes.
//     What a crash leaves queued is drained when the store opens.
//
// Searches (search*.go) compile each clause into a condition on one
// resource and, when an index serves it, a list of its matches; a planner
// estimates each clause's matches with bounded index counts and starts
// from the most selective, walks an index in the page's order when it can
// (so that a page costs the same at any depth), and pages by keyset
// cursors. _id and _lastUpdated are answered from the resource table. A
// clause on a compartment (search.CompartmentParts) is the OR of
// reference clauses on the parameters of the compartment's definition,
// and of _id for the owners' type, as a union is of its parts; a clause
// on care dates (search.CareDateParts), the OR of the value on the
// type's care date and that date missing.
//
// Writes go through one connection in serialised transactions, committed
// in groups, which write the log through internal/walvfs (the frames of a
// commit reach the file in a few system calls rather than two each). The
// connection commits without syncing the log (synchronous=NORMAL); a
// goroutine of its own syncs it while the next group runs, and no write
// is answered, nor anything it wrote read, before the sync after its
// commit (durable.go): what a client was told survives a power loss. A
// connection of its own copies the log back into the database file in
// the background (checkpoint.go); reads use a pool of read-only
// connections that see the last committed state, a search one snapshot.
// The driver is modernc.org/sqlite (pure Go, so the binary builds without
// cgo), chosen by the benchmark in internal/sqlitebench;
// docs/performance.md has the figures. A lock file keeps a second server
// off the same data directory.
package sqlite
