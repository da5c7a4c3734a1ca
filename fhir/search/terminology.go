package search

// Terminology answers the token modifiers that need knowledge of code
// systems and value sets: :below, :above, :in and :not-in. The parser
// (package parse, Options.Terminology) asks it while reading a search and
// turns each such clause into a plain token clause over the codes it
// returns, so that a store never sees these modifiers.
//
// An error should be a *fhir.Error whose issues say what is wrong (an
// unknown code system, code or value set: issue type not-found or
// code-invalid; a set too large to list: too-costly); the parser reports
// those issues against the parameter as written, as a request error. Any
// other error fails the search as an internal error.
type Terminology interface {
	// Below returns code and every code it subsumes in the code system
	// system (its latest version).
	Below(system, code string) ([]string, error)
	// Above returns code and every code that subsumes it in the code
	// system system (its latest version).
	Above(system, code string) ([]string, error)
	// ValueSetCodes returns the codes of the value set url (an explicit
	// or implicit value set URL, as in system?fhir_vs=isa/code) in
	// version (the latest when empty): all of them, or an error.
	ValueSetCodes(url, version string) ([]Coding, error)
}

// Coding is a code with its code system.
type Coding struct {
	System, Code string
}
