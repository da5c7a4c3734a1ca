// Package server is the HTTP face of the CPMS FHIR server: the FHIR R4
// RESTful API under /fhir (JSON; XML is refused with 415), /healthz for
// liveness, request ids and structured request logs. Handlers translate
// HTTP to calls of the engine and the engine's errors to HTTP in one place
// (errors.go): every non-2xx answer carries an OperationOutcome, and
// internal details go to the log, never to the client.
//
// gin is the router and middleware framework; it stays inside this
// package.
package server
