package profiles

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/profiles/base"
	"github.com/cpms-fhir/cpms/profiles/snapshot"
)

// Base is the canonical base URL of the CPMS conformance resources.
const Base = "http://cpms-fhir.org/fhir"

// The identifier systems of CPMS (see the NamingSystems of definitions/).
const (
	// CPMSIDSystem is the system of the CPMS ID of a patient
	// (ERN-BE10-EuroBloodNet-006).
	CPMSIDSystem = Base + "/sid/cpms-id"
	// ERNSystem is the system of the acronym of an ERN (EuroBloodNet).
	ERNSystem = Base + "/sid/ern"
	// CentreSystem is the system of the CPMS code of a centre (BE10).
	CentreSystem = Base + "/sid/centre"
)

// Canonical returns the canonical URL of the CPMS StructureDefinition
// (profile or extension) with logical id id:
// Canonical("cpms-patient") is
// http://cpms-fhir.org/fhir/StructureDefinition/cpms-patient.
func Canonical(id string) string { return CanonicalOf("StructureDefinition", id) }

// CanonicalOf returns the canonical URL of the CPMS conformance resource of
// type t (CodeSystem, ValueSet, SearchParameter, StructureDefinition) with
// logical id id.
func CanonicalOf(t fhir.ResourceType, id string) string {
	return Base + "/" + string(t) + "/" + id
}

// The definitions are the JSON files of definitions/, one resource each,
// named <resourceType>-<id>.json; definitions/examples/ holds example
// instances of the profiles, which are not definitions.
//
//go:embed definitions/*.json definitions/examples/*.json
var files embed.FS

const (
	definitionsDir = "definitions"
	examplesDir    = "definitions/examples"
)

// entry is one embedded resource.
type entry struct {
	Type fhir.ResourceType
	ID   fhir.ID
	URL  string
	Body []byte
	// sdType is the type a StructureDefinition constrains.
	sdType string
	// rank orders the resources so that each comes after what it uses.
	rank int
}

// header is what the loader reads of every resource.
type header struct {
	ResourceType fhir.ResourceType `json:"resourceType"`
	ID           fhir.ID           `json:"id"`
	URL          string            `json:"url"`
	// Type is StructureDefinition.type or SearchParameter.type (a string);
	// other resources have a type of other JSON types (Composition.type).
	Type any `json:"type"`
}

// rankOf orders conformance resources: code systems before the value sets
// drawing on them, extension definitions before the profiles using them,
// search parameters after the extensions they read, composites after their
// components.
func rankOf(h header) int {
	switch h.ResourceType {
	case "CodeSystem":
		return 0
	case "ValueSet":
		return 1
	case "NamingSystem":
		return 2
	case "StructureDefinition":
		if h.Type == any("Extension") {
			return 3
		}
		return 4
	case "SearchParameter":
		if h.Type == any("composite") {
			return 6
		}
		return 5
	}
	return 7
}

// readDir reads the resources of one directory of fsys (the embedded
// files), checking that each file is named after its resource type and id.
func readDir(fsys fs.FS, dir string) ([]entry, error) {
	des, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, de := range des {
		if de.IsDir() || !strings.HasSuffix(de.Name(), ".json") {
			continue
		}
		name := path.Join(dir, de.Name())
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var h header
		if err := json.Unmarshal(body, &h); err != nil {
			return nil, fmt.Errorf("profiles: %s: %w", name, err)
		}
		if h.ResourceType == "" || !h.ID.Valid() {
			return nil, fmt.Errorf("profiles: %s: no resourceType or no valid id", name)
		}
		if want := string(h.ResourceType) + "-" + string(h.ID) + ".json"; de.Name() != want {
			return nil, fmt.Errorf("profiles: %s holds %s/%s: name it %s", name, h.ResourceType, h.ID, want)
		}
		body, err = compact(body)
		if err != nil {
			return nil, fmt.Errorf("profiles: %s: %w", name, err)
		}
		e := entry{Type: h.ResourceType, ID: h.ID, URL: h.URL, Body: body, rank: rankOf(h)}
		if s, ok := h.Type.(string); ok && h.ResourceType == "StructureDefinition" {
			e.sdType = s
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b entry) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		if c := strings.Compare(string(a.Type), string(b.Type)); c != 0 {
			return c
		}
		return strings.Compare(string(a.ID), string(b.ID))
	})
	return out, nil
}

// differentials are the embedded definitions as written (StructureDefinitions
// with their differential only), in dependency order.
var differentials = sync.OnceValues(func() ([]entry, error) { return readDir(files, definitionsDir) })

// definitions are the definitions as served: StructureDefinitions with
// their generated snapshots.
var definitions = sync.OnceValues(func() ([]entry, error) {
	diffs, err := differentials()
	if err != nil {
		return nil, err
	}
	return withSnapshots(diffs)
})

// Resources calls fn with every CPMS conformance resource, as JSON: the
// CodeSystems and ValueSets of the CPMS codes, the NamingSystems of the
// CPMS identifiers, the StructureDefinitions of the profiles and extensions
// (with their generated snapshots) and the custom SearchParameters. The
// order is such that every resource comes after those it uses (code
// systems before value sets, extensions before profiles, a composite search
// parameter after its components). It stops at the first error fn returns
// and returns it. body is shared: fn must not modify it.
func Resources(fn func(t fhir.ResourceType, id fhir.ID, body []byte) error) error {
	defs, err := definitions()
	if err != nil {
		return err
	}
	for _, e := range defs {
		if err := fn(e.Type, e.ID, e.Body); err != nil {
			return err
		}
	}
	return nil
}

// StructureDefinitions returns the JSON of every CPMS StructureDefinition
// (profiles and extension definitions), with its generated snapshot, by
// canonical URL: what a profile validator needs besides the R4 base
// definitions. The map is the caller's; the bodies are shared and must not
// be modified.
func StructureDefinitions() (map[string][]byte, error) {
	defs, err := definitions()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte)
	for _, e := range defs {
		if e.Type == "StructureDefinition" {
			out[e.URL] = e.Body
		}
	}
	return out, nil
}

// SupportedProfiles returns the canonical URLs of the CPMS resource
// profiles (not the extension definitions) by the resource type they
// constrain, sorted: what a CapabilityStatement lists as the
// supportedProfile of each resource.
func SupportedProfiles() (map[fhir.ResourceType][]string, error) {
	diffs, err := differentials()
	if err != nil {
		return nil, err
	}
	out := make(map[fhir.ResourceType][]string)
	for _, e := range diffs {
		if e.Type == "StructureDefinition" && e.sdType != "Extension" {
			out[fhir.ResourceType(e.sdType)] = append(out[fhir.ResourceType(e.sdType)], e.URL)
		}
	}
	for _, urls := range out {
		slices.Sort(urls)
	}
	return out, nil
}

// Examples calls fn with every example instance of the CPMS profiles (a
// CPMS Patient ERN-BE10-EuroBloodNet-001, its consents, diagnoses, and a
// panel with its team, meeting, contribution, request and outcome). They
// reference each other by relative references (Patient/example-cpms-patient);
// the panel Task's focus names a QuestionnaireResponse that is not among
// them. body is shared: fn must not modify it.
func Examples(fn func(t fhir.ResourceType, id fhir.ID, body []byte) error) error {
	exs, err := examples()
	if err != nil {
		return err
	}
	for _, e := range exs {
		if err := fn(e.Type, e.ID, e.Body); err != nil {
			return err
		}
	}
	return nil
}

var examples = sync.OnceValues(func() ([]entry, error) { return readDir(files, examplesDir) })

// withSnapshots returns the definitions with a snapshot generated for
// every StructureDefinition by package snapshot. The base definition of a
// profile, the extension definitions it uses and the profiles of its types
// are found among the CPMS definitions when they are not R4 ones.
func withSnapshots(diffs []entry) ([]entry, error) {
	own := make(map[string]*base.StructureDefinition)
	for _, e := range diffs {
		if e.Type != "StructureDefinition" {
			continue
		}
		sd := new(base.StructureDefinition)
		if err := json.Unmarshal(e.Body, sd); err != nil {
			return nil, fmt.Errorf("profiles: StructureDefinition/%s: %w", e.ID, err)
		}
		own[e.URL] = sd
	}
	resolve := func(url string) (*base.StructureDefinition, bool) {
		url, _, _ = strings.Cut(url, "|")
		sd, ok := own[url]
		return sd, ok
	}
	out := slices.Clone(diffs)
	var errs []error
	for i, e := range out {
		if e.Type != "StructureDefinition" {
			continue
		}
		body, err := snapshot.WithSnapshot(e.Body, resolve)
		if err != nil {
			errs = append(errs, fmt.Errorf("profiles: snapshot of %s: %w", e.URL, err))
			continue
		}
		out[i].Body = body
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// compact returns body without insignificant white space: the files are
// indented to be read, the resources served compact.
func compact(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
