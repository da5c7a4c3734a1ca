package profiles

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/model"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/extract"
	"github.com/cpms-fhir/cpms/fhir/validate"
	"github.com/cpms-fhir/cpms/profiles/base"
	"github.com/cpms-fhir/cpms/terminology"
)

// coreValueSets is the file of the terminology seed holding the value sets
// of FHIR R4 (valuesets.json of the R4 definitions), which the server
// serves.
const coreValueSets = "../terminology/seed/fhir-valuesets.json.gz"

// servedSystems are the code systems whose implicit value sets
// (system?fhir_vs) the terminology service serves from its seed.
var servedSystems = []string{
	terminology.ICD10URL, terminology.OrphaURL, terminology.HPOURL, terminology.LOINCURL,
	terminology.ICDO3URL, terminology.ICCC3URL,
}

// Types the definitions are decoded into by the tests.
type (
	elementDef struct {
		ID         string          `json:"id"`
		Path       string          `json:"path"`
		SliceName  string          `json:"sliceName"`
		Min        *int            `json:"min"`
		Max        string          `json:"max"`
		Type       []typeRef       `json:"type"`
		Binding    *binding        `json:"binding"`
		Constraint []constraintDef `json:"constraint"`
		FixedURI   string          `json:"fixedUri"`
	}
	typeRef struct {
		Code          string   `json:"code"`
		Profile       []string `json:"profile"`
		TargetProfile []string `json:"targetProfile"`
	}
	binding struct {
		Strength string `json:"strength"`
		ValueSet string `json:"valueSet"`
	}
	constraintDef struct {
		Key        string `json:"key"`
		Severity   string `json:"severity"`
		Human      string `json:"human"`
		Expression string `json:"expression"`
		Source     string `json:"source"`
	}
	structureDef struct {
		ResourceType   string `json:"resourceType"`
		ID             string `json:"id"`
		URL            string `json:"url"`
		Version        string `json:"version"`
		Name           string `json:"name"`
		Status         string `json:"status"`
		Publisher      string `json:"publisher"`
		Description    string `json:"description"`
		FHIRVersion    string `json:"fhirVersion"`
		Kind           string `json:"kind"`
		Abstract       *bool  `json:"abstract"`
		Type           string `json:"type"`
		BaseDefinition string `json:"baseDefinition"`
		Derivation     string `json:"derivation"`
		Context        []struct {
			Type       string `json:"type"`
			Expression string `json:"expression"`
		} `json:"context"`
		Snapshot *struct {
			Element []elementDef `json:"element"`
		} `json:"snapshot"`
		Differential *struct {
			Element []elementDef `json:"element"`
		} `json:"differential"`
	}
	concept struct {
		Code    string    `json:"code"`
		Display string    `json:"display"`
		Concept []concept `json:"concept"`
	}
	codeSystem struct {
		URL      string    `json:"url"`
		ValueSet string    `json:"valueSet"`
		Content  string    `json:"content"`
		Count    int       `json:"count"`
		Concept  []concept `json:"concept"`
	}
	valueSet struct {
		Compose struct {
			Include []struct {
				System  string `json:"system"`
				Concept []struct {
					Code string `json:"code"`
				} `json:"concept"`
			} `json:"include"`
		} `json:"compose"`
	}
)

// definitionsAsWritten returns the embedded definitions (differentials).
func definitionsAsWritten(t *testing.T) []entry {
	t.Helper()
	defs, err := differentials()
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

func exampleEntries(t *testing.T) []entry {
	t.Helper()
	exs, err := examples()
	if err != nil {
		t.Fatal(err)
	}
	return exs
}

func decodeAs(t *testing.T, e entry, v any) {
	t.Helper()
	if err := json.Unmarshal(e.Body, v); err != nil {
		t.Fatalf("%s/%s: %v", e.Type, e.ID, err)
	}
}

// decodeResource decodes a resource as fhirpath expects it.
func decodeResource(t *testing.T, body []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func structureDefinitions(t *testing.T) map[string]structureDef {
	t.Helper()
	out := make(map[string]structureDef)
	for _, e := range definitionsAsWritten(t) {
		if e.Type != "StructureDefinition" {
			continue
		}
		var sd structureDef
		decodeAs(t, e, &sd)
		out[sd.URL] = sd
	}
	return out
}

func codeSystems(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := make(map[string]map[string]string)
	for _, e := range definitionsAsWritten(t) {
		if e.Type != "CodeSystem" {
			continue
		}
		var cs codeSystem
		decodeAs(t, e, &cs)
		codes := make(map[string]string)
		var walk func([]concept)
		walk = func(cs []concept) {
			for _, c := range cs {
				codes[c.Code] = c.Display
				walk(c.Concept)
			}
		}
		walk(cs.Concept)
		out[cs.URL] = codes
	}
	return out
}

// readCoreValueSets returns the canonical URLs of the FHIR R4 value sets of
// the terminology seed.
func readCoreValueSets(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(coreValueSets)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				URL          string `json:"url"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &bundle); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]bool)
	for _, e := range bundle.Entry {
		if e.Resource.ResourceType == "ValueSet" {
			out[e.Resource.URL] = true
		}
	}
	if len(out) < 500 {
		t.Fatalf("%s: only %d value sets", coreValueSets, len(out))
	}
	return out
}

// TestDefinitionsAreConsistent checks the metadata of every definition:
// canonical URL under Base and matching the id, version, status, publisher,
// and for StructureDefinitions the FHIR version, kind, derivation and
// abstract flag the CPMS profiles share, and a description.
func TestDefinitionsAreConsistent(t *testing.T) {
	defs := definitionsAsWritten(t)
	if len(defs) < 50 {
		t.Fatalf("only %d definitions", len(defs))
	}
	urls := make(map[string]bool)
	count := make(map[fhir.ResourceType]int)
	for _, e := range defs {
		count[e.Type]++
		var m map[string]any
		decodeAs(t, e, &m)
		where := string(e.Type) + "/" + string(e.ID)
		for k, want := range map[string]any{"status": "active", "publisher": "CPMS-FHIR"} {
			if m[k] != want {
				t.Errorf("%s: %s = %v, want %v", where, k, m[k], want)
			}
		}
		if d, _ := m["description"].(string); len(d) < 20 {
			t.Errorf("%s: no description", where)
		}
		if e.Type == "NamingSystem" {
			continue // no url in R4
		}
		if m["version"] != "1.0.0" {
			t.Errorf("%s: version %v", where, m["version"])
		}
		if want := CanonicalOf(e.Type, string(e.ID)); e.URL != want {
			t.Errorf("%s: url %q, want %q", where, e.URL, want)
		}
		if urls[e.URL] {
			t.Errorf("%s: url %s used twice", where, e.URL)
		}
		urls[e.URL] = true
		if !strings.HasPrefix(string(e.ID), "cpms-") && e.Type != "SearchParameter" {
			t.Errorf("%s: id without the cpms- prefix", where)
		}
	}
	for _, typ := range []fhir.ResourceType{"StructureDefinition", "CodeSystem", "ValueSet", "SearchParameter", "NamingSystem"} {
		if count[typ] == 0 {
			t.Errorf("no %s", typ)
		}
	}

	sds := structureDefinitions(t)
	for url, sd := range sds {
		if url != Canonical(sd.ID) {
			t.Errorf("%s: Canonical(%q) = %s", url, sd.ID, Canonical(sd.ID))
		}
		if sd.FHIRVersion != "4.0.1" || sd.Derivation != "constraint" || sd.Abstract == nil || *sd.Abstract {
			t.Errorf("%s: fhirVersion %q, derivation %q, abstract %v", url, sd.FHIRVersion, sd.Derivation, sd.Abstract)
		}
		if sd.Snapshot != nil {
			t.Errorf("%s: the files hold differentials only; snapshots are generated", url)
		}
		if sd.Differential == nil || len(sd.Differential.Element) == 0 {
			t.Errorf("%s: no differential", url)
			continue
		}
		switch {
		case sd.Type == "Extension":
			if sd.Kind != "complex-type" || sd.BaseDefinition != "http://hl7.org/fhir/StructureDefinition/Extension" || len(sd.Context) == 0 {
				t.Errorf("%s: kind %q, baseDefinition %q, %d contexts", url, sd.Kind, sd.BaseDefinition, len(sd.Context))
			}
		case sd.Kind != "resource" || !model.IsResourceType(sd.Type):
			t.Errorf("%s: kind %q, type %q", url, sd.Kind, sd.Type)
		}
		if !base.IsCore(sd.BaseDefinition) {
			if b, ok := sds[sd.BaseDefinition]; !ok || b.Type != sd.Type {
				t.Errorf("%s: baseDefinition %s is not a definition of %s", url, sd.BaseDefinition, sd.Type)
			}
		} else if want := "http://hl7.org/fhir/StructureDefinition/" + sd.Type; sd.BaseDefinition != want {
			t.Errorf("%s: baseDefinition %s, want %s", url, sd.BaseDefinition, want)
		}
	}
}

// TestNamingSystems checks that the identifier systems of the package are
// the NamingSystems of definitions/.
func TestNamingSystems(t *testing.T) {
	want := map[string]bool{CPMSIDSystem: true, ERNSystem: true, CentreSystem: true}
	for _, e := range definitionsAsWritten(t) {
		if e.Type != "NamingSystem" {
			continue
		}
		var ns struct {
			Kind     string `json:"kind"`
			UniqueID []struct {
				Type  string `json:"type"`
				Value string `json:"value"`
			} `json:"uniqueId"`
		}
		decodeAs(t, e, &ns)
		if ns.Kind != "identifier" || len(ns.UniqueID) != 1 || ns.UniqueID[0].Type != "uri" || !want[ns.UniqueID[0].Value] {
			t.Errorf("NamingSystem/%s: %+v", e.ID, ns)
			continue
		}
		delete(want, ns.UniqueID[0].Value)
	}
	if len(want) > 0 {
		t.Errorf("no NamingSystem for %v", want)
	}
}

// TestCodeSystemsAndValueSets checks that every CodeSystem is complete,
// counts its concepts, has unique codes and its all-codes ValueSet, and
// that every ValueSet draws on a CPMS CodeSystem and names only codes it
// has.
func TestCodeSystemsAndValueSets(t *testing.T) {
	systems := codeSystems(t)
	valueSets := make(map[string]bool)
	for _, e := range definitionsAsWritten(t) {
		if e.Type == "ValueSet" {
			valueSets[e.URL] = true
		}
	}
	for _, e := range definitionsAsWritten(t) {
		switch e.Type {
		case "CodeSystem":
			var cs codeSystem
			decodeAs(t, e, &cs)
			if cs.Content != "complete" || cs.Count != len(cs.Concept) || cs.Count != len(systems[cs.URL]) {
				t.Errorf("%s: content %q, count %d, %d concepts, %d distinct codes", cs.URL, cs.Content, cs.Count, len(cs.Concept), len(systems[cs.URL]))
			}
			if !valueSets[cs.ValueSet] || cs.ValueSet != CanonicalOf("ValueSet", string(e.ID)) {
				t.Errorf("%s: valueSet %q is not its all-codes value set", cs.URL, cs.ValueSet)
			}
		case "ValueSet":
			var vs valueSet
			decodeAs(t, e, &vs)
			if len(vs.Compose.Include) == 0 {
				t.Errorf("%s: nothing included", e.URL)
			}
			for _, inc := range vs.Compose.Include {
				codes, ok := systems[inc.System]
				if !ok {
					t.Errorf("%s: includes %s, not a CPMS code system", e.URL, inc.System)
				}
				for _, c := range inc.Concept {
					if _, ok := codes[c.Code]; !ok {
						t.Errorf("%s: %s has no code %q", e.URL, inc.System, c.Code)
					}
				}
			}
		}
	}
}

// resolver tells whether a canonical URL names something the server has.
type resolver struct {
	own      map[string]fhir.ResourceType // CPMS definitions by URL
	sds      map[string]structureDef
	coreVS   map[string]bool
	implicit map[string]bool
}

func newResolver(t *testing.T) *resolver {
	r := &resolver{own: make(map[string]fhir.ResourceType), sds: structureDefinitions(t), coreVS: readCoreValueSets(t), implicit: make(map[string]bool)}
	for _, e := range definitionsAsWritten(t) {
		if e.URL != "" {
			r.own[e.URL] = e.Type
		}
	}
	for _, s := range servedSystems {
		r.implicit[s+"?fhir_vs"] = true
	}
	return r
}

// structureDefinitionType returns the type a StructureDefinition URL
// (CPMS or core) constrains, or "" if it does not resolve.
func (r *resolver) structureDefinitionType(url string) string {
	if sd, ok := r.sds[url]; ok {
		return sd.Type
	}
	if sd, ok := base.Get(url); ok {
		return sd.Type
	}
	return ""
}

func (r *resolver) valueSet(url string) bool {
	url, _, _ = strings.Cut(url, "|")
	return r.own[url] == "ValueSet" || r.coreVS[url] || r.implicit[url]
}

// TestReferencesResolve checks every canonical reference of the
// StructureDefinitions: baseDefinition, type.profile, type.targetProfile and
// binding.valueSet resolve to a CPMS definition, a core R4 definition or a
// value set the server serves (an implicit one of its terminologies, or an
// R4 one). It also checks each differential element against the R4 model:
// its path exists, its id is its path with slice names, its types are
// allowed there, and its target profiles constrain allowed target types.
func TestReferencesResolve(t *testing.T) {
	r := newResolver(t)
	for url, sd := range r.sds {
		if r.structureDefinitionType(sd.BaseDefinition) != sd.Type {
			t.Errorf("%s: baseDefinition %s does not resolve to a %s", url, sd.BaseDefinition, sd.Type)
		}
		for _, c := range sd.Context {
			if _, ok := model.LookupElement(strings.SplitN(c.Expression, ".", 2)[0], c.Expression); c.Type != "element" || (!ok && !model.IsResourceType(c.Expression)) {
				t.Errorf("%s: context %s %q is not an element", url, c.Type, c.Expression)
			}
		}
		for i, el := range sd.Differential.Element {
			where := fmt.Sprintf("%s differential.element[%d] %s", url, i, el.ID)
			if !strings.HasPrefix(el.Path+".", sd.Type+".") {
				t.Errorf("%s: path %s outside %s", where, el.Path, sd.Type)
				continue
			}
			if want := idWithoutSlices(el.ID); want != el.Path {
				t.Errorf("%s: id does not match path %s", where, el.Path)
			}
			if el.SliceName != "" && !strings.HasSuffix(el.ID, ":"+el.SliceName) {
				t.Errorf("%s: id does not end with slice %s", where, el.SliceName)
			}
			var me *model.Element
			if el.Path != sd.Type {
				var ok bool
				me, ok = model.LookupElement(sd.Type, strings.ReplaceAll(el.Path, "[x]", ""))
				if !ok {
					t.Errorf("%s: no element %s in R4", where, el.Path)
					continue
				}
			}
			for _, ty := range el.Type {
				if me != nil && !slices.ContainsFunc(me.Types, func(et model.ElementType) bool { return et.Type.Name == ty.Code }) {
					t.Errorf("%s: type %s not allowed", where, ty.Code)
				}
				for _, p := range ty.Profile {
					if got := r.structureDefinitionType(p); got != ty.Code {
						t.Errorf("%s: profile %s does not resolve to a %s (%q)", where, p, ty.Code, got)
					}
				}
				for _, p := range ty.TargetProfile {
					target := r.structureDefinitionType(p)
					if target == "" {
						t.Errorf("%s: targetProfile %s does not resolve", where, p)
					} else if me != nil && len(me.Targets) > 0 && !slices.Contains(me.Targets, target) && !slices.Contains(me.Targets, "Resource") {
						t.Errorf("%s: targetProfile %s (%s) not among the targets %v", where, p, target, me.Targets)
					}
				}
			}
			if b := el.Binding; b != nil {
				if !slices.Contains([]string{"required", "extensible", "preferred", "example"}, b.Strength) {
					t.Errorf("%s: binding strength %q", where, b.Strength)
				}
				if !r.valueSet(b.ValueSet) {
					t.Errorf("%s: value set %s does not resolve", where, b.ValueSet)
				}
			}
		}
	}
}

// idWithoutSlices returns an element id without its slice names
// (Patient.identifier:cpmsId.system → Patient.identifier.system).
func idWithoutSlices(id string) string {
	parts := strings.Split(id, ".")
	for i, p := range parts {
		parts[i], _, _ = strings.Cut(p, ":")
	}
	return strings.Join(parts, ".")
}

// TestCPMSCodesExist checks every Coding of a CPMS code system, in the
// definitions (patterns) and the examples: the code exists, and a display,
// when given, is the code system's.
func TestCPMSCodesExist(t *testing.T) {
	systems := codeSystems(t)
	check := func(where string, body []byte) {
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				if sys, ok := v["system"].(string); ok && strings.HasPrefix(sys, Base+"/CodeSystem/") {
					code, _ := v["code"].(string)
					codes, ok := systems[sys]
					if !ok {
						t.Errorf("%s %s: unknown code system %s", where, path, sys)
					} else if display, ok := codes[code]; !ok {
						t.Errorf("%s %s: %s has no code %q", where, path, sys, code)
					} else if d, ok := v["display"].(string); ok && d != display {
						t.Errorf("%s %s: display %q of %s, want %q", where, path, d, code, display)
					}
				}
				for k, c := range v {
					walk(path+"."+k, c)
				}
			case []any:
				for i, c := range v {
					walk(fmt.Sprintf("%s[%d]", path, i), c)
				}
			}
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		walk("", v)
	}
	for _, e := range definitionsAsWritten(t) {
		if e.Type == "StructureDefinition" {
			check(e.URL, e.Body)
		}
	}
	for _, e := range exampleEntries(t) {
		check(string(e.Type)+"/"+string(e.ID), e.Body)
	}
}

// TestBaseValidation checks that every definition as served (with its
// snapshot) and every example passes the server's validation against the
// FHIR R4 base specification.
func TestBaseValidation(t *testing.T) {
	v, err := validate.New()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	check := func(typ fhir.ResourceType, id fhir.ID, body []byte) error {
		n++
		if err := v.Validate(body); err != nil {
			t.Errorf("%s/%s: %v", typ, id, describe(err))
		}
		return nil
	}
	if err := Resources(check); err != nil {
		t.Fatal(err)
	}
	if err := Examples(check); err != nil {
		t.Fatal(err)
	}
	if n != len(definitionsAsWritten(t))+len(exampleEntries(t)) {
		t.Errorf("%d resources validated", n)
	}
}

// describe spells out the issues of a *fhir.Error.
func describe(err error) string {
	fe, ok := err.(*fhir.Error)
	if !ok {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString(fe.Error())
	for _, is := range fe.Issues {
		fmt.Fprintf(&b, "\n\t%s %v: %s", is.Severity, is.Expression, is.Diagnostics)
	}
	return b.String()
}

// TestResources checks what Resources and StructureDefinitions give: every
// definition once, in an order where every resource comes after what it
// uses, and every StructureDefinition by its canonical URL.
func TestResources(t *testing.T) {
	seen := make(map[string]bool)
	var order []string
	err := Resources(func(typ fhir.ResourceType, id fhir.ID, body []byte) error {
		key := string(typ) + "/" + string(id)
		if seen[key] {
			t.Errorf("%s twice", key)
		}
		seen[key] = true
		order = append(order, key)
		var h header
		if err := json.Unmarshal(body, &h); err != nil {
			return err
		}
		if h.ResourceType != typ || h.ID != id {
			t.Errorf("%s: body of %s/%s", key, h.ResourceType, h.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(definitionsAsWritten(t)) {
		t.Errorf("%d resources, %d files", len(seen), len(definitionsAsWritten(t)))
	}
	pos := func(key string) int { return slices.Index(order, key) }
	for _, before := range [][2]string{
		{"CodeSystem/cpms-role", "ValueSet/cpms-user-role"},
		{"ValueSet/cpms-user-role", "StructureDefinition/cpms-practitionerrole"},
		{"StructureDefinition/cpms-frozen", "StructureDefinition/cpms-patient"},
		{"StructureDefinition/cpms-patient", "SearchParameter/patient-frozen"},
		{"SearchParameter/careteam-participant-status", "SearchParameter/careteam-member-status"},
	} {
		if a, b := pos(before[0]), pos(before[1]); a < 0 || b < 0 || a > b {
			t.Errorf("%s (at %d) must come before %s (at %d)", before[0], a, before[1], b)
		}
	}
	supported, err := SupportedProfiles()
	if err != nil {
		t.Fatal(err)
	}
	if got := supported["Condition"]; !slices.Equal(got, []string{Canonical("cpms-condition-comorbidity"), Canonical("cpms-condition-oncology"),
		Canonical("cpms-condition-phenotype"), Canonical("cpms-condition-rare-disease")}) {
		t.Errorf("SupportedProfiles()[Condition] = %q", got)
	}
	if got := supported["Patient"]; !slices.Equal(got, []string{Canonical("cpms-patient")}) {
		t.Errorf("SupportedProfiles()[Patient] = %q", got)
	}
	if _, ok := supported["Extension"]; ok || len(supported) != 13 {
		t.Errorf("SupportedProfiles() has %d types: %v", len(supported), supported)
	}
	sds, err := StructureDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	if len(sds) != len(structureDefinitions(t)) {
		t.Errorf("StructureDefinitions: %d, want %d", len(sds), len(structureDefinitions(t)))
	}
	for url, body := range sds {
		var h header
		if err := json.Unmarshal(body, &h); err != nil || h.URL != url || h.ResourceType != "StructureDefinition" {
			t.Errorf("StructureDefinitions[%s]: %s %s (%v)", url, h.ResourceType, h.URL, err)
		}
	}
	for _, id := range []string{"cpms-patient", "cpms-consent-care", "cpms-consent-registry", "cpms-consent-research-contact",
		"cpms-encounter", "cpms-condition-rare-disease", "cpms-condition-comorbidity", "cpms-condition-phenotype",
		"cpms-condition-oncology", "cpms-organization-ern", "cpms-organization-centre", "cpms-practitioner",
		"cpms-practitionerrole", "cpms-panel-task", "cpms-panel-careteam", "cpms-panel-meeting", "cpms-panel-contribution",
		"cpms-request-additional-data", "cpms-panel-outcome",
		"cpms-record-label", "cpms-enrolment-date", "cpms-frozen", "cpms-register-name", "cpms-time-spent", "cpms-ern-affiliation"} {
		if sds[Canonical(id)] == nil {
			t.Errorf("no StructureDefinition %s", Canonical(id))
		}
	}
}

// searchTable returns an R4 search table with the CPMS search parameters
// added, in the order Resources gives them.
func searchTable(t *testing.T) (*search.Table, []*search.Param) {
	t.Helper()
	tb := search.NewTable()
	var params []*search.Param
	err := Resources(func(typ fhir.ResourceType, id fhir.ID, body []byte) error {
		if typ != "SearchParameter" {
			return nil
		}
		p, err := tb.ParamFromResource(body)
		if err != nil {
			return fmt.Errorf("SearchParameter/%s: %v", id, describe(err))
		}
		if err := tb.Add(p); err != nil {
			return fmt.Errorf("SearchParameter/%s: %v", id, describe(err))
		}
		params = append(params, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tb, params
}

// TestSearchParameters checks that every CPMS SearchParameter is one the
// server can index (its expression compiles and fits each base type, its
// code clashes with no R4 parameter of its bases) and that it yields values
// on the examples of every one of its base types; for some, the values
// expected.
func TestSearchParameters(t *testing.T) {
	tb, params := searchTable(t)
	if len(params) < 10 {
		t.Fatalf("%d search parameters", len(params))
	}
	x := extract.New(tb, extract.Options{})
	indexes := make(map[string]*search.Index) // by Type/id
	byType := make(map[fhir.ResourceType][]*search.Index)
	for _, e := range exampleEntries(t) {
		idx, err := x.Extract(e.Type, e.Body)
		if err != nil {
			t.Fatalf("%s/%s: %v", e.Type, e.ID, err)
		}
		indexes[string(e.Type)+"/"+string(e.ID)] = idx
		byType[e.Type] = append(byType[e.Type], idx)
	}
	for _, p := range params {
		if _, err := fhirpath.Compile(p.Expression); err != nil {
			t.Errorf("%s: %v", p.URL, err)
		}
		for _, b := range p.Base {
			if len(byType[b]) == 0 {
				t.Errorf("%s: no example %s", p.URL, b)
				continue
			}
			if !slices.ContainsFunc(byType[b], func(idx *search.Index) bool { return len(values(idx, p.Code)) > 0 }) {
				t.Errorf("%s: no value on the %s examples", p.URL, b)
			}
		}
	}

	for _, tc := range []struct {
		resource, param string
		want            []string
	}{
		{"Patient/example-cpms-patient", "cpms-id", []string{CPMSIDSystem + "|ERN-BE10-EuroBloodNet-001"}},
		{"Patient/example-cpms-patient", "frozen", []string{"|false"}},
		{"Patient/example-cpms-patient", "record-label", []string{"hem-2026-0042"}},
		{"Patient/example-cpms-patient", "enrolment-date", []string{"2026-03-02"}},
		{"Patient/example-cpms-patient", "ern", []string{"Organization/ern-eurobloodnet"}},
		{"Organization/centre-be10", "ern", []string{"Organization/ern-eurobloodnet"}},
		{"Task/example-panel", "panel-status", []string{CanonicalOf("CodeSystem", "cpms-panel-status") + "|in-discussion"}},
		{"Task/example-panel", "thematic-area", []string{"|"}},
		{"Consent/example-consent-registry", "register-name", []string{"eurobloodnet registry (enrol)"}},
		{"Consent/example-consent-registry", "provision-type", []string{"http://hl7.org/fhir/consent-provision-type|permit"}},
		{"Consent/example-consent-research-contact", "provision-type", []string{"http://hl7.org/fhir/consent-provision-type|deny"}},
		{"Communication/example-contribution", "time-spent", []string{"45 min"}},
		{"Communication/example-contribution", "panel", []string{"Task/example-panel"}},
		{"CommunicationRequest/example-additional-data", "panel", []string{"Task/example-panel"}},
		{"Appointment/example-panel-meeting", "panel", []string{"Task/example-panel"}},
		{"Composition/example-outcome", "panel", []string{"Task/example-panel"}},
		{"CareTeam/example-panel-team", "participant-status", []string{"|accepted", "|needs-action"}},
		{"CareTeam/example-panel-team", "member-status", []string{
			"PractitionerRole/example-lead-role$|accepted",
			"PractitionerRole/example-hp-role$|accepted",
			"PractitionerRole/example-expert-role$|needs-action"}},
	} {
		idx := indexes[tc.resource]
		if idx == nil {
			t.Errorf("no example %s", tc.resource)
			continue
		}
		got := values(idx, tc.param)
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s %s = %q, want %q", tc.resource, tc.param, got, want)
		}
	}
}

// values renders the index values of param: tokens as system|code,
// strings folded, dates as the day they start, references as Type/id,
// quantities as "value unit", composites as parts joined by $.
func values(idx *search.Index, param string) []string {
	var out []string
	for _, v := range idx.Tokens {
		if v.Param == param {
			out = append(out, v.System+"|"+v.Code)
		}
	}
	for _, v := range idx.Strings {
		if v.Param == param {
			out = append(out, v.Value)
		}
	}
	for _, v := range idx.Dates {
		if v.Param == param {
			out = append(out, time.UnixMilli(v.Lo).UTC().Format(time.DateOnly))
		}
	}
	for _, v := range idx.References {
		if v.Param == param {
			out = append(out, string(v.Type)+"/"+string(v.ID))
		}
	}
	for _, v := range idx.Quantities {
		if v.Param == param {
			out = append(out, fmt.Sprintf("%g %s", v.Lo, v.Code))
		}
	}
	for _, v := range idx.Composites {
		if v.Param != param {
			continue
		}
		var parts []string
		for _, p := range v.Parts {
			switch {
			case p.Token != nil:
				parts = append(parts, p.Token.System+"|"+p.Token.Code)
			case p.Reference != nil:
				parts = append(parts, string(p.Reference.Type)+"/"+string(p.Reference.ID))
			default:
				parts = append(parts, fmt.Sprintf("%+v", p))
			}
		}
		out = append(out, strings.Join(parts, "$"))
	}
	return out
}

// invariant is a constraint of a CPMS StructureDefinition, compiled, with
// the element it is on.
type invariant struct {
	sd   structureDef
	path string
	constraintDef
	expr *fhirpath.Expression
}

// invariants returns the constraints the CPMS StructureDefinitions add,
// compiled, by key. A key shared by several definitions (cpms-con-1 of the
// three consents) must have the same expression in each.
func invariants(t *testing.T) map[string][]*invariant {
	t.Helper()
	out := make(map[string][]*invariant)
	for url, sd := range structureDefinitions(t) {
		for _, el := range sd.Differential.Element {
			for _, c := range el.Constraint {
				if prev := out[c.Key]; prev != nil && (prev[0].Expression != c.Expression || prev[0].sd.URL == url) {
					t.Errorf("%s: constraint %s also in %s", url, c.Key, prev[0].sd.URL)
					continue
				}
				if !strings.HasPrefix(c.Key, "cpms-") || (c.Severity != "error" && c.Severity != "warning") || c.Human == "" || c.Source != url {
					t.Errorf("%s: constraint %+v", url, c)
				}
				e, err := fhirpath.Compile(c.Expression)
				if err != nil {
					t.Errorf("%s %s: %v", url, c.Key, err)
					continue
				}
				ctx := sd.Type
				if el.Path != sd.Type {
					me, ok := model.LookupElement(sd.Type, el.Path)
					if !ok || len(me.Types) != 1 {
						t.Errorf("%s %s: cannot type %s", url, c.Key, el.Path)
						continue
					}
					ctx = me.Types[0].Type.Name
				}
				if err := e.Check(ctx, fhirpath.CheckOptions{OrderedFunctions: true}); err != nil {
					t.Errorf("%s %s: %v", url, c.Key, err)
				}
				out[c.Key] = append(out[c.Key], &invariant{sd: sd, path: el.Path, constraintDef: c, expr: e})
			}
		}
	}
	return out
}

// instances returns the items of resource an invariant applies to: the
// resource for a constraint on a profile's root, the extensions with the
// definition's URL for one on an extension definition's root.
func (inv *invariant) instances(t *testing.T, resource map[string]any) fhirpath.Collection {
	t.Helper()
	switch {
	case inv.sd.Type == "Extension" && inv.path == "Extension":
		e := fhirpath.MustCompile("descendants().ofType(Extension).where(url = '" + inv.sd.URL + "')")
		col, err := e.Evaluate(resource)
		if err != nil {
			t.Fatal(err)
		}
		return col
	case inv.path == inv.sd.Type:
		if profiles(resource)[inv.sd.URL] {
			return fhirpath.Collection{fhirpath.ResourceItem(resource)}
		}
		return nil
	}
	t.Fatalf("%s: constraint on %s not handled by the test", inv.Key, inv.path)
	return nil
}

// profiles returns the profiles a resource claims in meta.profile.
func profiles(resource map[string]any) map[string]bool {
	out := make(map[string]bool)
	meta, _ := resource["meta"].(map[string]any)
	ps, _ := meta["profile"].([]any)
	for _, p := range ps {
		if s, ok := p.(string); ok {
			out[s] = true
		}
	}
	return out
}

// evaluate returns the result of inv on each instance in resource.
func (inv *invariant) evaluate(t *testing.T, resource map[string]any) []bool {
	t.Helper()
	var out []bool
	for _, it := range inv.instances(t, resource) {
		ok, err := inv.expr.EvaluateBool(it, fhirpath.WithVariable("resource", fhirpath.ResourceItem(resource)))
		if err != nil {
			t.Errorf("%s: %v", inv.Key, err)
		}
		out = append(out, ok)
	}
	return out
}

// TestInvariants checks that every invariant of the CPMS profiles and
// extensions compiles, fits its context type, holds on every example it
// applies to (each invariant applying to at least one), and is broken by
// examples changed to break it.
func TestInvariants(t *testing.T) {
	invs := invariants(t)
	if len(invs) < 10 {
		t.Fatalf("%d invariants", len(invs))
	}
	exercised := make(map[string]bool)
	for _, e := range exampleEntries(t) {
		res := decodeResource(t, e.Body)
		for _, list := range invs {
			for _, inv := range list {
				for _, ok := range inv.evaluate(t, res) {
					exercised[inv.sd.URL+"#"+inv.Key] = true
					if !ok {
						t.Errorf("%s/%s breaks %s of %s: %s", e.Type, e.ID, inv.Key, inv.sd.URL, inv.Human)
					}
				}
			}
		}
	}
	for key, list := range invs {
		for _, inv := range list {
			if !exercised[inv.sd.URL+"#"+key] {
				t.Errorf("no example exercises %s of %s", key, inv.sd.URL)
			}
		}
	}

	for _, tc := range []struct {
		name, example, key string
		change             func(r map[string]any)
		want               bool
	}{
		{"CPMS ID without ERN", "Patient/example-cpms-patient", "cpms-pat-1", setCPMSID("ERN-BE10-001"), false},
		{"CPMS ID in lower case", "Patient/example-cpms-patient", "cpms-pat-1", setCPMSID("ern-be10-EuroBloodNet-001"), false},
		{"CPMS ID with two digits", "Patient/example-cpms-patient", "cpms-pat-1", setCPMSID("ERN-BE10-EuroBloodNet-01"), false},
		{"CPMS ID with trailing text", "Patient/example-cpms-patient", "cpms-pat-1", setCPMSID("ERN-BE10-EuroBloodNet-001 x"), false},
		{"CPMS ID of a hyphenated ERN", "Patient/example-cpms-patient", "cpms-pat-1", setCPMSID("ERN-IT05-ERN-RND-1042"), true},
		{"rare disease in SNOMED CT only", "Condition/example-rare-disease", "cpms-rd-1", setCoding("http://snomed.info/sct", "19346006"), false},
		{"rare disease in ICD-10 only", "Condition/example-rare-disease", "cpms-rd-1", setCoding(terminology.ICD10URL, "Q87.4"), true},
		{"tumour in SNOMED CT only", "Condition/example-oncology", "cpms-onc-1", setCoding("http://snomed.info/sct", "255028004"), false},
		{"tumour in ICCC-3 only", "Condition/example-oncology", "cpms-onc-1", setCoding(terminology.ICCC3URL, "XIb"), true},
		{"morphology without behaviour", "Condition/example-oncology", "cpms-onc-2", setCoding(terminology.ICDO3URL, "8260"), false},
		{"centre code without country", "Organization/centre-be10", "cpms-org-1", set("identifier", []any{map[string]any{"system": CentreSystem, "value": "10"}}), false},
		{"country spelt out", "Organization/centre-be10", "cpms-org-2", set("address", []any{map[string]any{"country": "Belgium"}}), false},
		{"closed panel in progress", "Task/example-panel", "cpms-panel-1", setPanelStatus("closed", "in-progress"), false},
		{"archived panel completed", "Task/example-panel", "cpms-panel-1", setPanelStatus("archived", "completed"), true},
		{"cancelled panel completed", "Task/example-panel", "cpms-panel-1", setPanelStatus("cancelled", "completed"), false},
		{"panel with two leads", "CareTeam/example-panel-team", "cpms-team-1", setRole(1, "panel-lead"), false},
		{"panel without a lead", "CareTeam/example-panel-team", "cpms-team-1", setRole(0, "panel-member"), false},
		{"signed-off outcome without sign-off", "Composition/example-outcome", "cpms-out-1", set("attester", nil), false},
		{"signed-off outcome with a professional attester", "Composition/example-outcome", "cpms-out-1", set("attester", []any{map[string]any{"mode": "professional", "time": "2026-03-12"}}), false},
		{"draft outcome without sign-off", "Composition/example-outcome", "cpms-out-1", chain(set("status", "preliminary"), set("attester", nil)), true},
		{"signed-off outcome without recommendations", "Composition/example-outcome", "cpms-out-2", dropSection("recommendations"), false},
		{"time spent in seconds", "Communication/example-contribution", "cpms-time-1", setTimeSpent("30", "s"), false},
		{"negative time spent", "Communication/example-contribution", "cpms-time-1", setTimeSpent("-5", "min"), false},
		{"consent without policy", "Consent/example-consent-care", "cpms-con-1", set("policy", nil), false},
		{"consent with a policy rule", "Consent/example-consent-registry", "cpms-con-1", chain(set("policy", nil), set("policyRule", map[string]any{"text": "GDPR art. 9(2)(a)"})), true},
		{"time spent in hours", "Communication/example-contribution", "cpms-time-1", setTimeSpent("1.5", "h"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := decodeResource(t, exampleBody(t, tc.example))
			var inv *invariant
			for _, i := range invs[tc.key] {
				if profiles(res)[i.sd.URL] || i.sd.Type == "Extension" {
					inv = i
				}
			}
			if inv == nil {
				t.Fatalf("no invariant %s for %s", tc.key, tc.example)
			}
			tc.change(res)
			got := inv.evaluate(t, res)
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("%s = %v, want [%v]", tc.key, got, tc.want)
			}
		})
	}
}

func exampleBody(t *testing.T, ref string) []byte {
	t.Helper()
	for _, e := range exampleEntries(t) {
		if string(e.Type)+"/"+string(e.ID) == ref {
			return e.Body
		}
	}
	t.Fatalf("no example %s", ref)
	return nil
}

func set(key string, v any) func(map[string]any) {
	return func(r map[string]any) {
		if v == nil {
			delete(r, key)
		} else {
			r[key] = v
		}
	}
}

func chain(fs ...func(map[string]any)) func(map[string]any) {
	return func(r map[string]any) {
		for _, f := range fs {
			f(r)
		}
	}
}

func setCPMSID(value string) func(map[string]any) {
	return set("identifier", []any{map[string]any{"system": CPMSIDSystem, "value": value}})
}

func setCoding(system, code string) func(map[string]any) {
	return set("code", map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}})
}

func setPanelStatus(business, status string) func(map[string]any) {
	return chain(set("status", status),
		set("businessStatus", map[string]any{"coding": []any{map[string]any{"system": CanonicalOf("CodeSystem", "cpms-panel-status"), "code": business}}}))
}

func setRole(participant int, role string) func(map[string]any) {
	return func(r map[string]any) {
		p := r["participant"].([]any)[participant].(map[string]any)
		p["role"] = []any{map[string]any{"coding": []any{map[string]any{"system": CanonicalOf("CodeSystem", "cpms-role"), "code": role}}}}
	}
}

func dropSection(code string) func(map[string]any) {
	return func(r map[string]any) {
		var keep []any
		for _, s := range r["section"].([]any) {
			if !strings.Contains(fmt.Sprint(s), "code:"+code) {
				keep = append(keep, s)
			}
		}
		r["section"] = keep
	}
}

func setTimeSpent(value, unit string) func(map[string]any) {
	return set("extension", []any{map[string]any{"url": Canonical("cpms-time-spent"),
		"valueDuration": map[string]any{"value": json.Number(value), "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}})
}

// TestExamples checks the examples: each claims one CPMS profile of its
// type; every profile has an example and every extension is used in one;
// the references between examples resolve (except to the consultation
// QuestionnaireResponse, defined elsewhere); and the elements a profile
// makes mandatory (min ≥ 1 in its differential, for elements outside slices
// and for extension slices) are present.
func TestExamples(t *testing.T) {
	sds := structureDefinitions(t)
	exs := exampleEntries(t)
	ids := make(map[string]bool)
	for _, e := range exs {
		ids[string(e.Type)+"/"+string(e.ID)] = true
	}
	covered := make(map[string]bool)
	for _, e := range exs {
		where := string(e.Type) + "/" + string(e.ID)
		res := decodeResource(t, e.Body)
		ps := profiles(res)
		if len(ps) != 1 {
			t.Errorf("%s: profiles %v", where, ps)
		}
		for p := range ps {
			sd, ok := sds[p]
			if !ok || sd.Type != string(e.Type) {
				t.Errorf("%s: claims %s, not a CPMS profile of %s", where, p, e.Type)
				continue
			}
			covered[p] = true
			checkMandatory(t, where, sd, res)
		}
		for ref := range references(res) {
			typ, _, _ := strings.Cut(ref, "/")
			if !ids[ref] && typ != "QuestionnaireResponse" {
				t.Errorf("%s: reference %s to no example", where, ref)
			}
		}
		for url := range sds {
			if bytes.Contains(e.Body, []byte(`"`+url+`"`)) && sds[url].Type == "Extension" {
				covered[url] = true
			}
		}
	}
	for url := range sds {
		if !covered[url] {
			t.Errorf("no example of %s", url)
		}
	}
}

// references returns the relative references (Type/id) in a resource.
func references(v any) map[string]bool {
	out := make(map[string]bool)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if s, ok := c.(string); ok && k == "reference" {
					out[s] = true
				}
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(v)
	return out
}

// checkMandatory checks that res has the elements sd's differential makes
// mandatory outside slices, and its mandatory extension slices, wherever
// their parent element is present.
func checkMandatory(t *testing.T, where string, sd structureDef, res map[string]any) {
	t.Helper()
	for _, el := range sd.Differential.Element {
		if el.Min == nil || *el.Min == 0 || el.Path == sd.Type {
			continue
		}
		rel := strings.TrimPrefix(strings.ReplaceAll(el.Path, "[x]", ""), sd.Type+".")
		var expr string
		switch {
		case !strings.Contains(el.ID, ":"):
			parent, name := "", rel
			if i := strings.LastIndex(rel, "."); i >= 0 {
				parent, name = rel[:i]+".", rel[i+1:]
			}
			expr = fmt.Sprintf("%sall(%s.exists())", parent, name)
		case el.SliceName != "" && len(el.Type) == 1 && el.Type[0].Code == "Extension" && len(el.Type[0].Profile) == 1:
			parent := strings.TrimSuffix(rel, "extension")
			expr = fmt.Sprintf("%sall(extension('%s').exists())", parent, el.Type[0].Profile[0])
		default:
			continue // other slices: see the invariants and the profile validation
		}
		ok, err := fhirpath.MustCompile(expr).EvaluateBool(res)
		if err != nil || !ok {
			t.Errorf("%s: %s (%s) is mandatory in %s (%v)", where, el.ID, expr, sd.URL, err)
		}
	}
}

// TestSnapshots checks that every StructureDefinition is served with a
// generated snapshot that starts at its type, has unique element ids, keeps
// the elements of its base (Patient.name in the CPMS Patient), and carries
// every element of its differential with its cardinality, types, fixed
// URI, binding and invariants.
func TestSnapshots(t *testing.T) {
	sds, err := StructureDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	for url, body := range sds {
		var sd structureDef
		if err := json.Unmarshal(body, &sd); err != nil {
			t.Fatal(err)
		}
		if sd.Snapshot == nil || len(sd.Snapshot.Element) == 0 {
			t.Errorf("%s: no snapshot", url)
			continue
		}
		if sd.Differential == nil {
			t.Errorf("%s: the differential was dropped", url)
			continue
		}
		snap := make(map[string]elementDef)
		for i, el := range sd.Snapshot.Element {
			if i == 0 && (el.Path != sd.Type || el.ID != sd.Type) {
				t.Errorf("%s: snapshot starts with %s", url, el.ID)
			}
			if _, dup := snap[el.ID]; dup {
				t.Errorf("%s: snapshot element %s twice", url, el.ID)
			}
			snap[el.ID] = el
		}
		for _, name := range []string{"id", "extension"} {
			if _, ok := snap[sd.Type+"."+name]; !ok {
				t.Errorf("%s: snapshot without %s.%s", url, sd.Type, name)
			}
		}
		for _, d := range sd.Differential.Element {
			s, ok := snap[d.ID]
			if !ok {
				t.Errorf("%s: differential element %s not in the snapshot", url, d.ID)
				continue
			}
			if (d.Min != nil && (s.Min == nil || *s.Min != *d.Min)) || (d.Max != "" && s.Max != d.Max) {
				t.Errorf("%s %s: snapshot cardinality %v..%s, differential %v..%s", url, d.ID, deref(s.Min), s.Max, deref(d.Min), d.Max)
			}
			if d.FixedURI != s.FixedURI {
				t.Errorf("%s %s: fixedUri %q in the snapshot", url, d.ID, s.FixedURI)
			}
			if d.Type != nil && fmt.Sprint(d.Type) != fmt.Sprint(s.Type) {
				t.Errorf("%s %s: types %v in the snapshot, %v in the differential", url, d.ID, s.Type, d.Type)
			}
			if d.Binding != nil && (s.Binding == nil || *s.Binding != *d.Binding) {
				t.Errorf("%s %s: binding %v in the snapshot", url, d.ID, s.Binding)
			}
			for _, c := range d.Constraint {
				if !slices.Contains(s.Constraint, c) {
					t.Errorf("%s %s: constraint %s not in the snapshot", url, d.ID, c.Key)
				}
			}
		}
	}
	if _, ok := snapshotOf(t, sds, Canonical("cpms-patient"))["Patient.name"]; !ok {
		t.Error("CPMS Patient snapshot without Patient.name")
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func snapshotOf(t *testing.T, sds map[string][]byte, url string) map[string]elementDef {
	t.Helper()
	var sd structureDef
	if err := json.Unmarshal(sds[url], &sd); err != nil || sd.Snapshot == nil {
		t.Fatalf("%s: %v", url, err)
	}
	out := make(map[string]elementDef)
	for _, el := range sd.Snapshot.Element {
		out[el.ID] = el
	}
	return out
}

// TestReadDir checks the loader on files of its own: the order of the
// resources, and the errors for a file named after another resource, a file
// that is not JSON and a resource without an id.
func TestReadDir(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	fsys := fstest.MapFS{
		"d/SearchParameter-b.json":     file(`{"resourceType":"SearchParameter","id":"b","type":"composite"}`),
		"d/SearchParameter-c.json":     file(`{"resourceType":"SearchParameter","id":"c","type":"token"}`),
		"d/StructureDefinition-p.json": file(`{"resourceType":"StructureDefinition","id":"p","type":"Patient"}`),
		"d/StructureDefinition-x.json": file(`{"resourceType":"StructureDefinition","id":"x","type":"Extension"}`),
		"d/ValueSet-v.json":            file(`{"resourceType":"ValueSet","id":"v"}`),
		"d/CodeSystem-z.json":          file("{\n  \"resourceType\": \"CodeSystem\",\n  \"id\": \"z\"\n}\n"),
		"d/README.md":                  file("not a resource"),
		"d/examples/Patient-p.json":    file(`{"resourceType":"Patient","id":"p"}`),
		"bad/Patient-a.json":           file(`{"resourceType":"Patient","id":"b"}`),
		"notjson/Patient-a.json":       file(`{"resourceType":`),
		"noid/Patient-.json":           file(`{"resourceType":"Patient"}`),
	}
	got, err := readDir(fsys, "d")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range got {
		order = append(order, string(e.Type)+"/"+string(e.ID))
	}
	want := []string{"CodeSystem/z", "ValueSet/v", "StructureDefinition/x", "StructureDefinition/p", "SearchParameter/c", "SearchParameter/b"}
	if !slices.Equal(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
	if string(got[0].Body) != `{"resourceType":"CodeSystem","id":"z"}` {
		t.Errorf("body not compacted: %s", got[0].Body)
	}
	if got[3].sdType != "Patient" || got[2].sdType != "Extension" {
		t.Errorf("sdType %q, %q", got[3].sdType, got[2].sdType)
	}
	for _, dir := range []string{"bad", "notjson", "noid", "missing"} {
		if _, err := readDir(fsys, dir); err == nil {
			t.Errorf("%s: no error", dir)
		}
	}
}

// BenchmarkSnapshots measures the generation of the snapshots of every
// CPMS StructureDefinition, done once when the definitions are first used.
func BenchmarkSnapshots(b *testing.B) {
	diffs, err := differentials()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := withSnapshots(diffs); err != nil {
			b.Fatal(err)
		}
	}
}
