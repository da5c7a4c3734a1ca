// Package examples holds a synthetic European Reference Network as FHIR
// transaction Bundles, for demonstrations, training and tests: the
// EuroBloodNet ERN with six of its centres, its users (a healthcare
// professional per centre, an ERN coordinator, a researcher and a guest
// expert), seven invented patients enrolled with their three consents,
// episode, rare disease diagnoses (ORPHAcodes and ICD-10), HPO
// phenotypes and comorbidities, and seven panels, one in each state of the
// panel workflow from created to closed, with their consultation forms,
// care teams, meetings, contributions, a request for additional data and
// outcome reports. Every resource claims its CPMS profile and validates
// against it with the server's terminology.
//
// The Bundles are in eurobloodnet/, one per concern: the network and its
// people, each patient with everything about them, each panel. Entries
// are PUTs to stable ids, so loading them again changes nothing. They are
// generated from the Go tables of internal/synth:
//
//	go generate ./examples
//
// and a test fails when the files differ from what the tables give.
// "cpms import examples/eurobloodnet" loads them into a stopped server's
// data directory; "cpms serve --load-examples" loads them on start (see
// [Load]).
package examples

//go:generate go test -run TestBundlesUpToDate -update .
