package base

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/cpms-fhir/cpms/internal/gendata"
)

// r4Data is the generated table of definitions (see doc.go for how to
// regenerate it).
//
//go:embed r4definitions.json.gz
var r4Data []byte

// FHIRVersion is the FHIR version of the definitions.
const FHIRVersion = "4.0.1"

type entry struct {
	url, typ, kind, derivation string
	line                       []byte
	once                       sync.Once
	sd                         *StructureDefinition
}

type table struct {
	list   []*entry
	byURL  map[string]*entry
	byType map[string]*entry
}

// header mirrors the first line written by internal/gen.
type header struct {
	FHIRVersion string `json:"fhirVersion"`
	Index       []struct {
		URL        string `json:"url"`
		Type       string `json:"type"`
		Kind       string `json:"kind"`
		Derivation string `json:"derivation"`
	} `json:"index"`
}

// load reads the index of the embedded table on first use. The table is
// generated and checked by tests, so a decoding failure is a build defect
// and panics.
var load = sync.OnceValue(func() *table {
	t, err := decodeTable(r4Data)
	if err != nil {
		panic("profiles/base: corrupt embedded definition table: " + err.Error())
	}
	return t
})

func decodeTable(gz []byte) (*table, error) {
	data, err := gendata.Gunzip(gz)
	if err != nil {
		return nil, err
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	var h header
	if err := json.Unmarshal(lines[0], &h); err != nil {
		return nil, err
	}
	if h.FHIRVersion != FHIRVersion {
		return nil, fmt.Errorf("FHIR version %q, want %s", h.FHIRVersion, FHIRVersion)
	}
	if len(h.Index) != len(lines)-1 {
		return nil, fmt.Errorf("%d index entries for %d definitions", len(h.Index), len(lines)-1)
	}
	t := &table{byURL: make(map[string]*entry, len(h.Index)), byType: map[string]*entry{}}
	for i, x := range h.Index {
		e := &entry{url: x.URL, typ: x.Type, kind: x.Kind, derivation: x.Derivation, line: lines[i+1]}
		t.list = append(t.list, e)
		t.byURL[e.url] = e
		// The definition of a type is the one that is not a constraint
		// (Element, the only definition without a base, has no derivation).
		if x.Derivation != "constraint" && x.Kind != "logical" {
			t.byType[x.Type] = e
		}
	}
	return t, nil
}

func (e *entry) get() *StructureDefinition {
	e.once.Do(func() {
		var sd StructureDefinition
		if err := json.Unmarshal(e.line, &sd); err != nil {
			panic("profiles/base: corrupt embedded definition " + e.url + ": " + err.Error())
		}
		e.sd = &sd
		e.line = nil
	})
	return e.sd
}

// Get returns the base definition with canonical URL url, such as
// http://hl7.org/fhir/StructureDefinition/Patient or the URL of a core
// extension. A version suffix ("|4.0.1") is accepted. The definition is
// shared and must not be modified.
func Get(url string) (*StructureDefinition, bool) {
	if u, v, ok := strings.Cut(url, "|"); ok {
		if v != FHIRVersion {
			return nil, false
		}
		url = u
	}
	e, ok := load().byURL[url]
	if !ok {
		return nil, false
	}
	return e.get(), true
}

// ByType returns the definition of the FHIR type code: a resource
// ("Patient"), a complex data type ("Identifier", "Extension",
// "BackboneElement") or a primitive type ("string"). Constraint profiles
// (SimpleQuantity, the extensions) are not types. The definition is shared
// and must not be modified.
func ByType(code string) (*StructureDefinition, bool) {
	e, ok := load().byType[code]
	if !ok {
		return nil, false
	}
	return e.get(), true
}

// URLs returns the canonical URLs of all the definitions, in the order of
// the table: data types, resources, then extensions.
func URLs() []string {
	t := load()
	out := make([]string, len(t.list))
	for i, e := range t.list {
		out[i] = e.url
	}
	return out
}

// IsCore reports whether url (with or without a version) is the URL of one
// of the base definitions.
func IsCore(url string) bool {
	u, _, _ := strings.Cut(url, "|")
	_, ok := load().byURL[u]
	return ok
}
