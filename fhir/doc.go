// Package fhir is the domain of the CPMS FHIR server: the names and values
// every other package speaks in (resource types, ids, stored resource
// versions, the caller of a request), the one error type with its kinds, and
// OperationOutcome issues. It imports no other package of this project.
//
// Resources travel as the client's JSON. The server never re-marshals a
// resource through a Go model: it checks the JSON with a validating parser,
// then splices the server-owned elements (id, meta.versionId,
// meta.lastUpdated) into the client's bytes (see Prepare) and stores the
// result as it will be served.
package fhir
