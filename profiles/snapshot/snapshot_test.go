package snapshot

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/profiles/base"
)

const cpms = "https://cpms.ern-net.eu/fhir/StructureDefinition/"

// testDefs reads the definitions of testdata by URL.
func testDefs(t testing.TB) map[string]*base.StructureDefinition {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	defs := map[string]*base.StructureDefinition{}
	for _, f := range files {
		var sd base.StructureDefinition
		if err := json.Unmarshal(readFile(t, f), &sd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		defs[sd.URL] = &sd
	}
	return defs
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func resolverOf(defs map[string]*base.StructureDefinition) Resolver {
	return func(url string) (*base.StructureDefinition, bool) {
		sd, ok := defs[url]
		return sd, ok
	}
}

// snapshot generates the snapshot of the testdata profile url.
func snapshot(t *testing.T, url string) []base.ElementDefinition {
	t.Helper()
	defs := testDefs(t)
	els, err := Generate(defs[url], resolverOf(defs))
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, els)
	return els
}

// checkWellFormed checks what every snapshot must have: unique ids, and on
// every element a path, min, max and base.
func checkWellFormed(t *testing.T, els []base.ElementDefinition) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range els {
		if e.ID == "" || e.Path == "" || e.Min == nil || e.Max == "" || e.Base == nil {
			t.Errorf("element %s: missing id, path, min, max or base", e.String())
		}
		if seen[e.ID] {
			t.Errorf("duplicate id %s", e.ID)
		}
		seen[e.ID] = true
		if stripSlices(e.ID) != e.Path {
			t.Errorf("id %s does not match path %s", e.ID, e.Path)
		}
	}
}

// stripSlices removes the slice names of an id.
func stripSlices(id string) string {
	parts := strings.Split(id, ".")
	for i, p := range parts {
		parts[i], _, _ = strings.Cut(p, ":")
	}
	return strings.Join(parts, ".")
}

// index returns the position of each element id.
func index(els []base.ElementDefinition) map[string]int {
	m := make(map[string]int, len(els))
	for i, e := range els {
		m[e.ID] = i
	}
	return m
}

func get(t *testing.T, els []base.ElementDefinition, id string) *base.ElementDefinition {
	t.Helper()
	for i := range els {
		if els[i].ID == id {
			return &els[i]
		}
	}
	t.Fatalf("no element %s", id)
	return nil
}

// inOrder checks that the ids come in this order in the snapshot.
func inOrder(t *testing.T, els []base.ElementDefinition, ids ...string) {
	t.Helper()
	ix := index(els)
	for i, id := range ids {
		if _, ok := ix[id]; !ok {
			t.Errorf("no element %s", id)
			continue
		}
		if i > 0 && ix[ids[i-1]] >= ix[id] {
			t.Errorf("%s (at %d) is not before %s (at %d)", ids[i-1], ix[ids[i-1]], id, ix[id])
		}
	}
}

func card(e *base.ElementDefinition) string {
	return strconv.Itoa(e.MinCount()) + ".." + e.Max
}

func fixedString(v *base.Value) string {
	if v == nil {
		return ""
	}
	return v.Type + "=" + string(v.JSON)
}

func typeCodes(e *base.ElementDefinition) []string {
	var out []string
	for _, t := range e.Type {
		out = append(out, t.Code)
	}
	return out
}

func countPrefix(els []base.ElementDefinition, prefix string) int {
	n := 0
	for _, e := range els {
		if strings.HasPrefix(e.ID, prefix) {
			n++
		}
	}
	return n
}

// TestPatientProfile checks the CPMS Patient: an identifier slice with a
// fixed system, extension slices (one with its children constrained),
// narrowed cardinalities, an added invariant.
func TestPatientProfile(t *testing.T) {
	els := snapshot(t, cpms+"cpms-patient")
	patient, _ := base.ByType("Patient")
	// 45 Patient elements; the extension slices recordLabel (1) and
	// birthPlace with the 4 elements of its extension definition; the
	// identifier slices cpmsId and localId, each with the 8 elements of
	// Identifier.
	if want := len(patient.Snapshot.Element) + 1 + 5 + 9 + 9; len(els) != want {
		t.Errorf("%d elements, want %d", len(els), want)
	}
	inOrder(t, els,
		"Patient", "Patient.text", "Patient.extension",
		"Patient.extension:recordLabel", "Patient.extension:birthPlace",
		"Patient.extension:birthPlace.id", "Patient.extension:birthPlace.url", "Patient.extension:birthPlace.value[x]",
		"Patient.modifierExtension", "Patient.identifier",
		"Patient.identifier:cpmsId", "Patient.identifier:cpmsId.id", "Patient.identifier:cpmsId.use",
		"Patient.identifier:cpmsId.system", "Patient.identifier:cpmsId.value", "Patient.identifier:cpmsId.assigner",
		"Patient.identifier:localId", "Patient.identifier:localId.type", "Patient.identifier:localId.assigner",
		"Patient.active", "Patient.gender", "Patient.link.type")

	root := get(t, els, "Patient")
	last := root.Constraint[len(root.Constraint)-1]
	if len(root.Constraint) != 6 || last.Key != "cpms-pat-1" || last.Source != cpms+"cpms-patient" || root.Constraint[0].Key != "dom-2" {
		t.Errorf("root constraints = %+v", root.Constraint)
	}

	ext := get(t, els, "Patient.extension")
	if ext.Slicing == nil || ext.Slicing.Rules != "open" || !reflect.DeepEqual(ext.Slicing.Discriminator, []base.Discriminator{{Type: "value", Path: "url"}}) {
		t.Errorf("Patient.extension slicing = %+v", ext.Slicing)
	}
	label := get(t, els, "Patient.extension:recordLabel")
	if label.SliceName != "recordLabel" || label.Path != "Patient.extension" || card(label) != "0..1" ||
		label.Type[0].Profile[0] != cpms+"record-label" || label.Short != "CPMS record label" || label.MustSupport == nil || !*label.MustSupport {
		t.Errorf("recordLabel slice = %+v", label)
	}
	if n := countPrefix(els, "Patient.extension:recordLabel."); n != 0 {
		t.Errorf("the unconstrained extension slice has %d children", n)
	}
	if e := get(t, els, "Patient.extension:birthPlace.url"); fixedString(e.Fixed) != `Uri="http://hl7.org/fhir/StructureDefinition/patient-birthPlace"` || e.Path != "Patient.extension.url" {
		t.Errorf("birthPlace url = %s %s", e.Path, fixedString(e.Fixed))
	}
	if e := get(t, els, "Patient.extension:birthPlace.value[x]"); card(e) != "1..1" || !slices.Equal(typeCodes(e), []string{"Address"}) || e.Short != "Country of birth only" {
		t.Errorf("birthPlace value[x] = %s %v %q", card(e), typeCodes(e), e.Short)
	}

	id := get(t, els, "Patient.identifier")
	if card(id) != "1..*" || id.Slicing == nil || id.Slicing.Discriminator[0] != (base.Discriminator{Type: "pattern", Path: "system"}) || *id.MustSupport != true {
		t.Errorf("Patient.identifier = %s %+v", card(id), id.Slicing)
	}
	slice := get(t, els, "Patient.identifier:cpmsId")
	if slice.SliceName != "cpmsId" || card(slice) != "1..1" || slice.Slicing != nil || slice.Base.Path != "Patient.identifier" || slice.Short != "CPMS ID (ERN-BE10-EuroBloodNet-006)" {
		t.Errorf("cpmsId slice = %+v", slice)
	}
	sys := get(t, els, "Patient.identifier:cpmsId.system")
	if sys.Path != "Patient.identifier.system" || card(sys) != "1..1" || fixedString(sys.Fixed) != `Uri="https://cpms.ern-net.eu/fhir/sid/cpms-id"` ||
		sys.Base.Path != "Identifier.system" || !slices.Equal(typeCodes(sys), []string{"uri"}) {
		t.Errorf("cpmsId.system = %s %s %s base %+v", sys.Path, card(sys), fixedString(sys.Fixed), sys.Base)
	}
	if e := get(t, els, "Patient.identifier:cpmsId.value"); card(e) != "1..1" {
		t.Errorf("cpmsId.value = %s", card(e))
	}
	if e := get(t, els, "Patient.identifier:localId.system"); card(e) != "0..1" || e.Fixed != nil {
		t.Errorf("localId.system = %s %s", card(e), fixedString(e.Fixed))
	}
	if e := get(t, els, "Patient.identifier:localId.type"); fixedString(e.Pattern) != `CodeableConcept={"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]}` {
		t.Errorf("localId.type pattern = %s", fixedString(e.Pattern))
	}
	if e := get(t, els, "Patient.gender"); card(e) != "1..1" || e.Binding.Strength != "required" || *e.MustSupport != true {
		t.Errorf("gender = %s %+v", card(e), e.Binding)
	}
	if e := get(t, els, "Patient.managingOrganization"); card(e) != "1..1" || !slices.Equal(e.Type[0].TargetProfile, []string{"http://hl7.org/fhir/StructureDefinition/Organization"}) || e.Short != "The enrolling centre" {
		t.Errorf("managingOrganization = %s %+v", card(e), e.Type)
	}
	// Untouched elements are the base's.
	if e := get(t, els, "Patient.contact.gender"); card(e) != "0..1" || e.Base.Path != "Patient.contact.gender" {
		t.Errorf("Patient.contact.gender = %s", card(e))
	}
}

// TestConditionProfile checks a Condition profile restricting the binding
// of code, onset[x] to dateTime, abatement[x] to nothing, and the subject
// to a profile.
func TestConditionProfile(t *testing.T) {
	els := snapshot(t, cpms+"cpms-condition")
	condition, _ := base.ByType("Condition")
	if len(els) != len(condition.Snapshot.Element) {
		t.Errorf("%d elements, want the %d of Condition", len(els), len(condition.Snapshot.Element))
	}
	code := get(t, els, "Condition.code")
	if card(code) != "1..1" || code.Binding == nil || code.Binding.Strength != "required" || code.Binding.ValueSet != "https://cpms.ern-net.eu/fhir/ValueSet/rare-disease-diagnosis" {
		t.Errorf("Condition.code = %s %+v", card(code), code.Binding)
	}
	onset := get(t, els, "Condition.onset[x]")
	if !slices.Equal(typeCodes(onset), []string{"dateTime"}) || onset.Slicing != nil || onset.Short != "Onset date (yyyy, yyyy-mm or yyyy-mm-dd)" {
		t.Errorf("Condition.onset[x] = %v %+v", typeCodes(onset), onset.Slicing)
	}
	if e := get(t, els, "Condition.abatement[x]"); card(e) != "0..0" || len(e.Type) != 5 {
		t.Errorf("Condition.abatement[x] = %s %v", card(e), typeCodes(e))
	}
	if e := get(t, els, "Condition.subject"); card(e) != "1..1" || !slices.Equal(e.Type[0].TargetProfile, []string{cpms + "cpms-patient"}) {
		t.Errorf("Condition.subject = %+v", e.Type)
	}
}

// TestRenamedChoice checks the type-specific name of a choice element in a
// differential (Condition.onsetDateTime): the choice is restricted to that
// type and sliced by type, with the slice onset[x]:onsetDateTime holding
// the constraints, as the R4 tools write it.
func TestRenamedChoice(t *testing.T) {
	sd := profile("Condition", "http://hl7.org/fhir/StructureDefinition/Condition",
		`{"id":"Condition.onsetDateTime","path":"Condition.onsetDateTime","min":1}`,
		`{"id":"Condition.onsetDateTime.extension","path":"Condition.onsetDateTime.extension","max":"0"}`)
	els, err := Generate(sd, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, els)
	inOrder(t, els, "Condition.onset[x]", "Condition.onset[x]:onsetDateTime", "Condition.onset[x]:onsetDateTime.id",
		"Condition.onset[x]:onsetDateTime.extension", "Condition.onset[x]:onsetDateTime.value", "Condition.abatement[x]")
	onset := get(t, els, "Condition.onset[x]")
	if !slices.Equal(typeCodes(onset), []string{"dateTime"}) || card(onset) != "0..1" || onset.Slicing == nil ||
		onset.Slicing.Rules != "closed" || onset.Slicing.Discriminator[0] != (base.Discriminator{Type: "type", Path: "$this"}) {
		t.Errorf("Condition.onset[x] = %s %v %+v", card(onset), typeCodes(onset), onset.Slicing)
	}
	s := get(t, els, "Condition.onset[x]:onsetDateTime")
	if s.SliceName != "onsetDateTime" || s.Path != "Condition.onset[x]" || card(s) != "1..1" || !slices.Equal(typeCodes(s), []string{"dateTime"}) {
		t.Errorf("onsetDateTime slice = %s %s %s %v", s.SliceName, s.Path, card(s), typeCodes(s))
	}
	if e := get(t, els, "Condition.onset[x]:onsetDateTime.extension"); e.Path != "Condition.onset[x].extension" || card(e) != "0..0" || e.Base.Path != "Element.extension" {
		t.Errorf("onsetDateTime.extension = %s %s", e.Path, card(e))
	}
	// The R4 form with the slice named in the id gives the same snapshot.
	sd2 := profile("Condition", "http://hl7.org/fhir/StructureDefinition/Condition",
		`{"id":"Condition.onset[x]","path":"Condition.onset[x]","type":[{"code":"dateTime"}],"slicing":{"discriminator":[{"type":"type","path":"$this"}],"ordered":false,"rules":"closed"}}`,
		`{"id":"Condition.onset[x]:onsetDateTime","path":"Condition.onset[x]","sliceName":"onsetDateTime","min":1}`,
		`{"id":"Condition.onset[x]:onsetDateTime.extension","path":"Condition.onset[x].extension","max":"0"}`)
	els2, err := Generate(sd2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := compareBy(els2, els, fullKey); d != "" {
		t.Errorf("slice form differs from the renamed form: %s", d)
	}
}

// TestExtensionDefinition checks the snapshot of an extension definition
// over the Extension base, simple and complex.
func TestExtensionDefinition(t *testing.T) {
	els := snapshot(t, cpms+"record-label")
	var ids []string
	for _, e := range els {
		ids = append(ids, e.ID+" "+card(&e))
	}
	if want := []string{"Extension 0..1", "Extension.id 0..1", "Extension.extension 0..0", "Extension.url 1..1", "Extension.value[x] 1..1"}; !slices.Equal(ids, want) {
		t.Errorf("elements = %v, want %v", ids, want)
	}
	if e := get(t, els, "Extension"); e.Short != "CPMS record label" || e.Base.Max != "*" {
		t.Errorf("root = %q base %+v", e.Short, e.Base)
	}
	if e := get(t, els, "Extension.url"); fixedString(e.Fixed) != `Uri="https://cpms.ern-net.eu/fhir/StructureDefinition/record-label"` || e.Type[0].FHIRType() != "uri" {
		t.Errorf("url = %s %+v", fixedString(e.Fixed), e.Type)
	}
	if e := get(t, els, "Extension.value[x]"); !slices.Equal(typeCodes(e), []string{"string"}) || e.MaxLength == nil || *e.MaxLength != 64 {
		t.Errorf("value[x] = %v %v", typeCodes(e), e.MaxLength)
	}

	// A complex extension: sub-extensions are slices of Extension.extension,
	// sliced by url without saying so.
	sd := profile("Extension", "http://hl7.org/fhir/StructureDefinition/Extension",
		`{"id":"Extension","path":"Extension","max":"1"}`,
		`{"id":"Extension.extension:decision","path":"Extension.extension","sliceName":"decision","min":1,"max":"1"}`,
		`{"id":"Extension.extension:decision.url","path":"Extension.extension.url","fixedUri":"decision"}`,
		`{"id":"Extension.extension:decision.value[x]","path":"Extension.extension.value[x]","type":[{"code":"boolean"}]}`,
		`{"id":"Extension.extension:date","path":"Extension.extension","sliceName":"date","max":"1"}`,
		`{"id":"Extension.extension:date.url","path":"Extension.extension.url","fixedUri":"date"}`,
		`{"id":"Extension.url","path":"Extension.url","fixedUri":"https://cpms.ern-net.eu/fhir/StructureDefinition/consent-decision"}`,
		`{"id":"Extension.value[x]","path":"Extension.value[x]","max":"0"}`)
	els, err := Generate(sd, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, els)
	if len(els) != 5+2*5 {
		t.Errorf("%d elements, want 15", len(els))
	}
	inOrder(t, els, "Extension.extension", "Extension.extension:decision", "Extension.extension:decision.url",
		"Extension.extension:decision.value[x]", "Extension.extension:date", "Extension.extension:date.value[x]", "Extension.url", "Extension.value[x]")
	if e := get(t, els, "Extension.extension:decision.value[x]"); !slices.Equal(typeCodes(e), []string{"boolean"}) {
		t.Errorf("decision value[x] = %v", typeCodes(e))
	}
	if e := get(t, els, "Extension.extension"); e.Slicing == nil || e.Slicing.Rules != "open" {
		t.Errorf("Extension.extension slicing = %+v", e.Slicing)
	}
}

// TestProfileOnProfile checks a profile whose base is a CPMS profile found
// by the resolver without a snapshot (generated on the way), and that the
// base profile's constraints bind the derived one.
func TestProfileOnProfile(t *testing.T) {
	els := snapshot(t, cpms+"cpms-diagnosis")
	// From cpms-condition.
	if e := get(t, els, "Condition.code"); card(e) != "1..1" || e.Binding.ValueSet != "https://cpms.ern-net.eu/fhir/ValueSet/rare-disease-diagnosis" {
		t.Errorf("Condition.code = %s %+v", card(e), e.Binding)
	}
	if e := get(t, els, "Condition.abatement[x]"); card(e) != "0..0" {
		t.Errorf("Condition.abatement[x] = %s", card(e))
	}
	// Its own.
	if e := get(t, els, "Condition.verificationStatus"); card(e) != "1..1" {
		t.Errorf("Condition.verificationStatus = %s", card(e))
	}
	inOrder(t, els, "Condition.code", "Condition.code.id", "Condition.code.coding",
		"Condition.code.coding:orpha", "Condition.code.coding:orpha.system", "Condition.code.coding:icd10",
		"Condition.code.coding:icd10.system", "Condition.code.text", "Condition.bodySite")
	if e := get(t, els, "Condition.code.coding:orpha.system"); fixedString(e.Fixed) != `Uri="https://www.orpha.net"` || card(e) != "1..1" {
		t.Errorf("orpha system = %s %s", card(e), fixedString(e.Fixed))
	}
	if e := get(t, els, "Condition.code.coding:icd10"); card(e) != "0..1" {
		t.Errorf("icd10 slice = %s", card(e))
	}
	// onset[x], restricted to dateTime by the base, renamed here.
	if e := get(t, els, "Condition.onset[x]:onsetDateTime"); *e.MustSupport != true || e.Short != "Onset date (yyyy, yyyy-mm or yyyy-mm-dd)" {
		t.Errorf("onsetDateTime = %+v", e)
	}

	// The base profile with its snapshot gives the same result.
	defs := testDefs(t)
	cond, err := Generate(defs[cpms+"cpms-condition"], resolverOf(defs))
	if err != nil {
		t.Fatal(err)
	}
	withSnap := *defs[cpms+"cpms-condition"]
	withSnap.Snapshot = &base.ElementList{Element: cond}
	defs[cpms+"cpms-condition"] = &withSnap
	els2, err := Generate(defs[cpms+"cpms-diagnosis"], resolverOf(defs))
	if err != nil {
		t.Fatal(err)
	}
	if d := compareBy(els2, els, fullKey); d != "" {
		t.Errorf("with the base's snapshot: %s", d)
	}

	// The base profile's narrowing cannot be undone.
	sd := profile("Condition", cpms+"cpms-condition",
		`{"id":"Condition.code","path":"Condition.code","min":0}`,
		`{"id":"Condition.abatement[x]","path":"Condition.abatement[x]","max":"1"}`)
	_, err = Generate(sd, resolverOf(defs))
	wantIssues(t, err, "element[0] (Condition.code): min 0 is below the base's min 1", "element[1] (Condition.abatement[x]): max 1 is wider than the base's max 0")

	// A base that depends on itself.
	loop := profile("Patient", "http://example.org/loop")
	loop.URL = "http://example.org/loop"
	_, err = Generate(loop, func(string) (*base.StructureDefinition, bool) { return loop, true })
	wantIssues(t, err, "depends on itself")
}

// TestDataTypePaths checks paths into data types and backbone elements
// (Consent.provision.type) and into elements by contentReference
// (Questionnaire.item.item).
func TestDataTypePaths(t *testing.T) {
	els := snapshot(t, cpms+"cpms-consent-research")
	consent, _ := base.ByType("Consent")
	if len(els) != len(consent.Snapshot.Element) {
		t.Errorf("%d elements, want the %d of Consent", len(els), len(consent.Snapshot.Element))
	}
	if e := get(t, els, "Consent.scope"); fixedString(e.Pattern) != `CodeableConcept={"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"research"}]}` {
		t.Errorf("scope pattern = %s", fixedString(e.Pattern))
	}
	for id, want := range map[string]string{"Consent.provision": "1..1", "Consent.provision.type": "1..1", "Consent.provision.provision": "0..0", "Consent.dateTime": "1..1"} {
		if e := get(t, els, id); card(e) != want {
			t.Errorf("%s = %s, want %s", id, card(e), want)
		}
	}

	sd := profile("Questionnaire", "http://hl7.org/fhir/StructureDefinition/Questionnaire",
		`{"id":"Questionnaire.item.item.text","path":"Questionnaire.item.item.text","min":1}`,
		`{"id":"Questionnaire.item.code.system","path":"Questionnaire.item.code.system","min":1}`)
	els, err := Generate(sd, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, els)
	inOrder(t, els, "Questionnaire.item.code", "Questionnaire.item.code.id", "Questionnaire.item.code.system", "Questionnaire.item.code.userSelected",
		"Questionnaire.item.item", "Questionnaire.item.item.linkId", "Questionnaire.item.item.text", "Questionnaire.item.item.item")
	e := get(t, els, "Questionnaire.item.item.text")
	if card(e) != "1..1" || e.Base.Path != "Questionnaire.item.text" {
		t.Errorf("Questionnaire.item.item.text = %s base %+v", card(e), e.Base)
	}
	if e := get(t, els, "Questionnaire.item.item"); e.ContentReference != "#Questionnaire.item" {
		t.Errorf("Questionnaire.item.item contentReference = %q", e.ContentReference)
	}
	if e := get(t, els, "Questionnaire.item.code.system"); card(e) != "1..1" || e.Base.Path != "Coding.system" {
		t.Errorf("Questionnaire.item.code.system = %s", card(e))
	}
}

// TestIDLessDifferential checks that a differential without ids (located
// by path and sliceName) gives the same snapshot.
func TestIDLessDifferential(t *testing.T) {
	defs := testDefs(t)
	want, err := Generate(defs[cpms+"cpms-patient"], resolverOf(defs))
	if err != nil {
		t.Fatal(err)
	}
	sd := *defs[cpms+"cpms-patient"]
	diff := slices.Clone(sd.Differential.Element)
	for i := range diff {
		diff[i].ID = ""
	}
	sd.Differential = &base.ElementList{Element: diff}
	got, err := Generate(&sd, resolverOf(defs))
	if err != nil {
		t.Fatal(err)
	}
	if d := compareBy(got, want, fullKey); d != "" {
		t.Error(d)
	}
}

// TestWithSnapshot checks the StructureDefinition written back: every
// member kept as written, the snapshot before the differential.
func TestWithSnapshot(t *testing.T) {
	defs := testDefs(t)
	in := readFile(t, "testdata/cpms-patient.json")
	out, err := WithSnapshot(in, resolverOf(defs))
	if err != nil {
		t.Fatal(err)
	}
	var before, after map[string]json.RawMessage
	json.Unmarshal(in, &before)
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatal(err)
	}
	for k, v := range before {
		if !sameJSON(v, after[k]) {
			t.Errorf("member %s changed", k)
		}
	}
	if len(after) != len(before)+1 || after["snapshot"] == nil {
		t.Errorf("members %d, want %d and a snapshot", len(after), len(before)+1)
	}
	if s, d := strings.Index(string(out), `"snapshot"`), strings.Index(string(out), `"differential"`); s < 0 || s > d {
		t.Error("the snapshot is not before the differential")
	}
	var sd base.StructureDefinition
	if err := json.Unmarshal(out, &sd); err != nil {
		t.Fatal(err)
	}
	want, _ := Generate(defs[cpms+"cpms-patient"], resolverOf(defs))
	if !reflect.DeepEqual(sd.Snapshot.Element, want) {
		t.Error("the snapshot written does not decode to the snapshot generated")
	}
	// Again, over the snapshot written: the same.
	again, err := WithSnapshot(out, resolverOf(defs))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(out) {
		t.Error("regenerating over the snapshot written changes it")
	}
	if _, err := WithSnapshot([]byte(`{"resourceType":"Patient"}`), nil); !fhir.IsKind(err, fhir.KindInvalid) {
		t.Errorf("a Patient: %v", err)
	}
}

// profile returns a constraint profile of typ over baseURL with the given
// differential elements (JSON).
func profile(typ, baseURL string, elements ...string) *base.StructureDefinition {
	raw := `{"resourceType":"StructureDefinition","url":"http://example.org/StructureDefinition/test","type":"` + typ +
		`","baseDefinition":"` + baseURL + `","derivation":"constraint","differential":{"element":[` + strings.Join(elements, ",") + `]}}`
	var sd base.StructureDefinition
	if err := json.Unmarshal([]byte(raw), &sd); err != nil {
		panic(err)
	}
	return &sd
}

// wantIssues checks that err is an Unprocessable *fhir.Error with one issue
// containing each of the wanted texts, in order.
func wantIssues(t *testing.T, err error, want ...string) {
	t.Helper()
	var fe *fhir.Error
	if !errors.As(err, &fe) || fe.Kind != fhir.KindUnprocessable {
		t.Fatalf("error %v, want an unprocessable *fhir.Error", err)
	}
	if len(fe.Issues) != len(want) {
		t.Errorf("%d issues, want %d: %v", len(fe.Issues), len(want), err)
		return
	}
	for i, w := range want {
		if !strings.Contains(fe.Issues[i].Diagnostics, w) {
			t.Errorf("issue %d = %q, want %q", i, fe.Issues[i].Diagnostics, w)
		}
	}
}

// TestErrors checks the differentials refused, each problem naming its
// differential element.
func TestErrors(t *testing.T) {
	const (
		patient   = "http://hl7.org/fhir/StructureDefinition/Patient"
		condition = "http://hl7.org/fhir/StructureDefinition/Condition"
		extension = "http://hl7.org/fhir/StructureDefinition/Extension"
	)
	identifierSlicing := `{"id":"Patient.identifier","path":"Patient.identifier","slicing":{"discriminator":[{"type":"value","path":"system"}],"rules":"closed"}}`
	tests := []struct {
		name, typ, base string
		elements        []string
		want            []string
	}{
		{"unknown path", "Patient", patient, []string{`{"id":"Patient.foo","path":"Patient.foo"}`},
			[]string{"StructureDefinition.differential.element[0] (Patient.foo): unknown element foo in Patient"}},
		{"unknown path in a data type", "Patient", patient, []string{`{"id":"Patient.identifier.code","path":"Patient.identifier.code"}`},
			[]string{"element[0] (Patient.identifier.code): unknown element code in Patient.identifier"}},
		{"path of another type", "Patient", patient, []string{`{"id":"Observation.code","path":"Observation.code"}`},
			[]string{"the path must start with Patient"}},
		{"wider max", "Patient", patient, []string{`{"id":"Patient.gender","path":"Patient.gender","max":"2"}`},
			[]string{"element[0] (Patient.gender): max 2 is wider than the base's max 1"}},
		{"unbounded max", "Patient", patient, []string{`{"id":"Patient.birthDate","path":"Patient.birthDate","max":"*"}`},
			[]string{"max * is wider than the base's max 1"}},
		{"lower min", "Extension", extension, []string{`{"id":"Extension.url","path":"Extension.url","min":0}`},
			[]string{"element[0] (Extension.url): min 0 is below the base's min 1"}},
		{"min above max", "Patient", patient, []string{`{"id":"Patient.gender","path":"Patient.gender","min":1,"max":"0"}`},
			[]string{"min 1 is above max 0"}},
		{"malformed max", "Patient", patient, []string{`{"id":"Patient.name","path":"Patient.name","max":"many"}`},
			[]string{`max "many" is not a cardinality`}},
		{"type not allowed", "Patient", patient, []string{`{"id":"Patient.deceased[x]","path":"Patient.deceased[x]","type":[{"code":"string"}]}`},
			[]string{"element[0] (Patient.deceased[x]): type string is not allowed by the base (boolean, dateTime)"}},
		{"target profile not allowed", "Patient", patient, []string{`{"id":"Patient.managingOrganization","path":"Patient.managingOrganization","type":[{"code":"Reference","targetProfile":["http://hl7.org/fhir/StructureDefinition/Patient"]}]}`},
			[]string{"target profile http://hl7.org/fhir/StructureDefinition/Patient is not allowed by the base"}},
		{"profile on another type", "Patient", patient, []string{`{"id":"Patient.extension:x","path":"Patient.extension","sliceName":"x","type":[{"code":"Extension","profile":["http://hl7.org/fhir/StructureDefinition/SimpleQuantity"]}]}`},
			[]string{"profile http://hl7.org/fhir/StructureDefinition/SimpleQuantity is on type Quantity, not Extension"}},
		{"renamed choice of another type", "Condition", condition, []string{`{"id":"Condition.onsetBoolean","path":"Condition.onsetBoolean"}`},
			[]string{"element[0] (Condition.onsetBoolean): onsetBoolean: type Boolean is not one of the types of Condition.onset[x] (dateTime, Age, Period, Range, string)"}},
		{"children of a choice of several types", "Condition", condition, []string{`{"id":"Condition.onset[x].id","path":"Condition.onset[x].id","max":"0"}`},
			[]string{"Condition.onset[x] has 5 types: restrict it to one type"}},
		{"fixed value of another type", "Patient", patient, []string{`{"id":"Patient.gender","path":"Patient.gender","fixedUri":"female"}`},
			[]string{"element[0] (Patient.gender): fixedUri does not match the element's types (code)"}},
		{"fixed value changed", "Extension", "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", []string{`{"id":"Extension.url","path":"Extension.url","fixedUri":"http://example.org/other"}`},
			[]string{"fixedUri differs from the base's fixedUri"}},
		{"weaker binding", "Patient", patient, []string{`{"id":"Patient.gender","path":"Patient.gender","binding":{"strength":"preferred","valueSet":"http://example.org/vs"}}`},
			[]string{"element[0] (Patient.gender): binding strength preferred is weaker than the base's required"}},
		{"unknown slice", "Patient", patient, []string{identifierSlicing, `{"id":"Patient.identifier:nope.system","path":"Patient.identifier.system","min":1}`},
			[]string{`element[1] (Patient.identifier:nope.system): unknown slice "nope" of Patient.identifier`}},
		{"slice without slicing", "Patient", patient, []string{`{"id":"Patient.name:official","path":"Patient.name","sliceName":"official"}`},
			[]string{`element[0] (Patient.name:official): slice "official" of Patient.name, which is not sliced`}},
		{"slicing a single element", "Patient", patient, []string{`{"id":"Patient.gender","path":"Patient.gender","slicing":{"discriminator":[{"type":"value","path":"$this"}],"rules":"open"}}`},
			[]string{"Patient.gender does not repeat (max 1): it cannot be sliced"}},
		{"slicing without rules", "Patient", patient, []string{`{"id":"Patient.name","path":"Patient.name","slicing":{"discriminator":[{"type":"value","path":"use"}]}}`},
			[]string{"slicing without rules"}},
		{"bad discriminator", "Patient", patient, []string{`{"id":"Patient.name","path":"Patient.name","slicing":{"discriminator":[{"type":"equals","path":"use"}],"rules":"open"}}`},
			[]string{"slicing discriminator equals:use is not a discriminator"}},
		{"reslicing", "Patient", patient, []string{identifierSlicing, `{"id":"Patient.identifier:a/b","path":"Patient.identifier","sliceName":"a/b"}`},
			[]string{"reslicing (Patient.identifier:a/b) is not supported"}},
		{"id and path disagree", "Patient", patient, []string{`{"id":"Patient.name","path":"Patient.gender","min":1}`},
			[]string{`id "Patient.name" does not match path "Patient.gender"`}},
		{"sliceName and id disagree", "Patient", patient, []string{identifierSlicing, `{"id":"Patient.identifier:a","path":"Patient.identifier","sliceName":"b"}`},
			[]string{`sliceName "b" does not match id "Patient.identifier:a"`}},
		{"duplicate element", "Patient", patient, []string{`{"id":"Patient.gender","path":"Patient.gender","min":1}`, `{"id":"Patient.gender","path":"Patient.gender","mustSupport":true}`},
			[]string{"element[1] (Patient.gender): the element is already constrained by StructureDefinition.differential.element[0]"}},
		{"constraint key reused", "Patient", patient, []string{`{"id":"Patient","path":"Patient","constraint":[{"key":"dom-2","severity":"error","human":"x","expression":"true"}]}`},
			[]string{"constraint dom-2 is already defined by the base, with another expression"}},
		{"unresolvable extension profile", "Patient", patient, []string{`{"id":"Patient.extension:x","path":"Patient.extension","sliceName":"x","type":[{"code":"Extension","profile":["http://example.org/none"]}]}`, `{"id":"Patient.extension:x.value[x]","path":"Patient.extension.value[x]","min":1}`},
			[]string{"element[1] (Patient.extension:x.value[x]): cannot expand Patient.extension: cannot resolve http://example.org/none"}},
		{"unresolvable base", "Patient", "http://example.org/none", nil,
			[]string{"StructureDefinition.baseDefinition: cannot resolve http://example.org/none"}},
		{"type differs from the base's", "Observation", patient, nil,
			[]string{"StructureDefinition.type: type Observation differs from the type Patient"}},
		{"several problems", "Patient", patient, []string{
			`{"id":"Patient.gender","path":"Patient.gender","max":"3"}`,
			`{"id":"Patient.birthDate","path":"Patient.birthDate","min":1}`,
			`{"id":"Patient.nope","path":"Patient.nope"}`},
			[]string{"element[0] (Patient.gender): max 3", "element[2] (Patient.nope): unknown element"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(profile(tt.typ, tt.base, tt.elements...), nil)
			wantIssues(t, err, tt.want...)
			var fe *fhir.Error
			if errors.As(err, &fe) && strings.HasPrefix(fe.Issues[0].Diagnostics, "StructureDefinition.differential.element[") &&
				!strings.HasPrefix(fe.Issues[0].Diagnostics, fe.Issues[0].Expression[0]+" (") {
				t.Errorf("issue expression %v does not name the element of %q", fe.Issues[0].Expression, fe.Issues[0].Diagnostics)
			}
		})
	}

	sd := profile("Patient", patient)
	sd.Derivation = "specialization"
	_, err := Generate(sd, nil)
	wantIssues(t, err, "specializations are not supported")
}

// TestSharedDefinitionsUnchanged checks that generating snapshots does not
// modify the base definitions or the resolved ones.
func TestSharedDefinitionsUnchanged(t *testing.T) {
	defs := testDefs(t)
	before, _ := json.Marshal(defs)
	patient, _ := base.ByType("Patient")
	bp, _ := json.Marshal(patient)
	for url := range defs {
		if _, err := Generate(defs[url], resolverOf(defs)); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	after, _ := json.Marshal(defs)
	ap, _ := json.Marshal(patient)
	if string(before) != string(after) || string(bp) != string(ap) {
		t.Error("Generate modified the definitions it read")
	}
}

func BenchmarkGeneratePatient(b *testing.B) {
	defs := testDefs(b)
	sd := defs[cpms+"cpms-patient"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(sd, resolverOf(defs)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSlicesOnProfile checks slicing over a profile that already slices:
// existing slices narrowed, new slices appended after them (optional unless
// the differential says otherwise), closed slicings kept closed.
func TestSlicesOnProfile(t *testing.T) {
	defs := testDefs(t)
	sd := profile("Patient", cpms+"cpms-patient",
		`{"id":"Patient.identifier:cpmsId.value","path":"Patient.identifier.value","maxLength":40}`,
		`{"id":"Patient.identifier:localId","path":"Patient.identifier","sliceName":"localId","max":"1"}`,
		`{"id":"Patient.identifier:nationalId","path":"Patient.identifier","sliceName":"nationalId"}`,
		`{"id":"Patient.identifier:nationalId.system","path":"Patient.identifier.system","min":1,"patternUri":"urn:oid:2.16.840.1.113883.2.4.6.3"}`)
	els, err := Generate(sd, resolverOf(defs))
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, els)
	inOrder(t, els, "Patient.identifier", "Patient.identifier:cpmsId", "Patient.identifier:cpmsId.value",
		"Patient.identifier:localId", "Patient.identifier:nationalId", "Patient.identifier:nationalId.system", "Patient.active")
	if e := get(t, els, "Patient.identifier:cpmsId.value"); card(e) != "1..1" || *e.MaxLength != 40 {
		t.Errorf("cpmsId.value = %s %v", card(e), e.MaxLength)
	}
	if e := get(t, els, "Patient.identifier:cpmsId.system"); fixedString(e.Fixed) != `Uri="https://cpms.ern-net.eu/fhir/sid/cpms-id"` {
		t.Errorf("cpmsId.system lost its fixed value: %s", fixedString(e.Fixed))
	}
	if e := get(t, els, "Patient.identifier:localId"); card(e) != "0..1" {
		t.Errorf("localId = %s", card(e))
	}
	// Patient.identifier is 1..* in the base profile; a new slice is 0..*.
	if e := get(t, els, "Patient.identifier:nationalId"); card(e) != "0..*" {
		t.Errorf("nationalId = %s, want 0..*", card(e))
	}
	if e := get(t, els, "Patient.identifier:nationalId.system"); fixedString(e.Pattern) != `Uri="urn:oid:2.16.840.1.113883.2.4.6.3"` {
		t.Errorf("nationalId.system pattern = %s", fixedString(e.Pattern))
	}

	wider := profile("Patient", cpms+"cpms-patient", `{"id":"Patient.identifier:cpmsId","path":"Patient.identifier","sliceName":"cpmsId","max":"2"}`)
	_, err = Generate(wider, resolverOf(defs))
	wantIssues(t, err, "element[0] (Patient.identifier:cpmsId): max 2 is wider than the base's max 1")

	closed := profile("Patient", "http://hl7.org/fhir/StructureDefinition/Patient",
		`{"id":"Patient.identifier","path":"Patient.identifier","slicing":{"discriminator":[{"type":"value","path":"system"}],"rules":"closed"}}`,
		`{"id":"Patient.identifier:a","path":"Patient.identifier","sliceName":"a"}`)
	closed.URL = "http://example.org/closed"
	defs[closed.URL] = closed
	more := profile("Patient", closed.URL, `{"id":"Patient.identifier:b","path":"Patient.identifier","sliceName":"b"}`,
		`{"id":"Patient.identifier","path":"Patient.identifier","slicing":{"rules":"open"}}`)
	_, err = Generate(more, resolverOf(defs))
	wantIssues(t, err, `slice "b" cannot be added: the slicing of Patient.identifier in the base is closed`,
		"slicing rules open are looser than the base's closed")
}
