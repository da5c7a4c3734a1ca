// Package engine carries out the FHIR RESTful interactions (read, vread,
// create, update, patch, delete, history, conditional create, update,
// patch and delete, validate) over a Store, independently of HTTP: the
// server's handlers, transaction Bundles and the bulk importer all go
// through it, so a resource is validated, indexed, versioned and
// access-checked the same way whichever way it arrives.
//
// The package declares the Store contract it consumes; adapters (the
// embedded SQLite store, MongoDB) implement it and prove it with the
// contract test suite in fhir/store/storetest.
package engine
