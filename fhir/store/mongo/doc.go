// Package mongo is the MongoDB adapter of engine.Store: CPMS on a replica
// set, a sharded cluster, Atlas or Azure Cosmos DB for MongoDB, through
// the official Go driver (go.mongodb.org/mongo-driver/v2), for the
// deployments that outgrow one machine's embedded SQLite store.
//
// Collections (docs/mongodb.md lists their indexes and shard keys):
//
//   - resources: the current version of each resource, _id "Type/id",
//     with its body as the client sent it (stored, never re-encoded), its
//     search values as equality keys (an array of scalars), sort keys and
//     the whole index for the exact test of a clause;
//   - versions: every version, _id "Type/id/version", for vread and
//     history;
//   - txlog and txchunks: transactions committed and not yet applied;
//   - locks: the resources that transactions are committing;
//   - settings: server settings.
//
// The documents and queries run identically on MongoDB and on FerretDB,
// the wire-protocol server the tests use: search values are scalars in
// arrays, compared by equality and prefix; ranges are tested in the
// server. No multi-document transaction is used: a FHIR transaction is
// made atomic by a record written as one document before it is applied
// (write.go). Nothing is kept in one server's memory that another needs:
// paging cursors carry their position, and two servers share one
// database.
package mongo
