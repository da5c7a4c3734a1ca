package validate

import (
	"context"
	"log/slog"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
)

const (
	patientProfile   = "http://example.org/fhir/StructureDefinition/cpms-patient"
	diagnosisProfile = "http://example.org/fhir/StructureDefinition/cpms-diagnosis"
	formProfile      = "http://example.org/fhir/StructureDefinition/cpms-form"
	frozenExt        = "http://example.org/fhir/StructureDefinition/cpms-frozen"
	recordLabelExt   = "http://example.org/fhir/StructureDefinition/cpms-record-label"
	cpmsIDSystem     = "https://example.org/cpms/sid/cpms-id"
)

// cpmsValidator returns a validator knowing the hand-written CPMS test
// profiles of testdata, with the fake terminology.
func cpmsValidator(t testing.TB) *Validator {
	t.Helper()
	v := New(Options{Terminology: newFakeTerm(), Logger: slog.New(slog.DiscardHandler)})
	for _, f := range []string{"patient-profile.json", "extension-frozen.json", "extension-record-label.json",
		"condition-profile.json", "questionnaire-profile.json"} {
		if err := v.Add(readFile(t, f)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return v
}

const validPatient = `{
  "resourceType": "Patient", "id": "p1",
  "meta": {"profile": ["http://example.org/fhir/StructureDefinition/cpms-patient"]},
  "extension": [
    {"url": "http://example.org/fhir/StructureDefinition/cpms-frozen", "valueBoolean": false},
    {"url": "http://example.org/fhir/StructureDefinition/cpms-record-label", "valueString": "Label 1"},
    {"url": "http://example.org/fhir/StructureDefinition/other", "valueString": "open slicing"}
  ],
  "identifier": [
    {"system": "urn:oid:1.2.3", "value": "H-1"},
    {"use": "official", "system": "https://example.org/cpms/sid/cpms-id", "value": "ERN-BE10-EuroBloodNet-006"}
  ],
  "name": [{"family": "Chalmers", "given": ["Peter", "James"]}],
  "gender": "male",
  "birthDate": "1974-12-25",
  "deceasedBoolean": false,
  "maritalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]},
  "contact": [{"name": {"family": "Chalmers"}}],
  "managingOrganization": {"reference": "Organization/hcp-1"}
}`

// TestPatientProfile validates a Patient against the CPMS Patient test
// profile: an identifier slice recognised by a pattern on its system,
// with a fixed use; extension slices by url whose definitions are
// followed; a required binding on a code and an extensible one on a
// CodeableConcept; a choice restricted to one type; maxLength on a
// repeated element; a profile invariant on the resource and one on an
// element; a backbone element with a cardinality; a reference target.
func TestPatientProfile(t *testing.T) {
	v := cpmsValidator(t)
	const prof = "(profile " + patientProfile + ")"
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   []want
	}{
		{"valid", nil, nil},
		{"fixed use of the CPMS ID", func(m map[string]any) {
			obj(m, "identifier", 1)["use"] = "usual"
		}, []want{{fhir.SeverityError, fhir.IssueValue, "Patient.identifier[1].use",
			`Patient.identifier:cpmsId.use: the value "usual" is not the fixed value "official" ` + prof}}},
		{"no CPMS ID", func(m map[string]any) {
			m["identifier"] = arr(m, "identifier")[:1]
		}, []want{{fhir.SeverityError, fhir.IssueRequired, "Patient.identifier",
			"the slice cpmsId of Patient.identifier: found 0, the profile requires min 1 " + prof}}},
		{"CPMS ID without value", func(m map[string]any) {
			delete(obj(m, "identifier", 1), "value")
		}, []want{{fhir.SeverityError, fhir.IssueRequired, "Patient.identifier[1].value",
			"Patient.identifier:cpmsId.value: found 0, the profile requires min 1"}}},
		{"two CPMS IDs", func(m map[string]any) {
			m["identifier"] = append(arr(m, "identifier"), map[string]any{"system": cpmsIDSystem, "value": "ERN-FR1-ERKNet-001"})
		}, []want{{fhir.SeverityError, fhir.IssueStructure, "Patient.identifier",
			"the slice cpmsId of Patient.identifier: found 2, the profile allows max 1"}}},
		{"CPMS ID of the wrong form", func(m map[string]any) {
			obj(m, "identifier", 1)["value"] = "12345"
		}, []want{{fhir.SeverityError, fhir.IssueInvariant, "Patient",
			"constraint cpms-1 failed: The CPMS ID has the form ERN-<country><number>-<ERN>-<number> " + prof}}},
		{"no frozen extension", func(m map[string]any) {
			m["extension"] = arr(m, "extension")[1:]
		}, []want{{fhir.SeverityError, fhir.IssueRequired, "Patient.extension",
			"the slice frozen of Patient.extension: found 0, the profile requires min 1"}}},
		{"no extension at all", func(m map[string]any) {
			delete(m, "extension")
		}, []want{
			{fhir.SeverityError, fhir.IssueRequired, "Patient.extension", "Patient.extension: found 0, the profile requires min 1"},
			{fhir.SeverityError, fhir.IssueRequired, "Patient.extension", "the slice frozen of Patient.extension: found 0"},
		}},
		{"two frozen extensions", func(m map[string]any) {
			m["extension"] = append(arr(m, "extension"), map[string]any{"url": frozenExt, "valueBoolean": true})
		}, []want{{fhir.SeverityError, fhir.IssueStructure, "Patient.extension",
			"the slice frozen of Patient.extension: found 2, the profile allows max 1"}}},
		{"frozen extension of the wrong type", func(m map[string]any) {
			ext := obj(m, "extension", 0)
			delete(ext, "valueBoolean")
			ext["valueString"] = "yes"
		}, []want{{fhir.SeverityError, fhir.IssueStructure, "Patient.extension[0].value",
			"Extension.value[x]: the type string is not allowed, the profile allows boolean (profile " + frozenExt + ")"}}},
		{"record label too long", func(m map[string]any) {
			obj(m, "extension", 1)["valueString"] = "a record label that is too long"
		}, []want{{fhir.SeverityError, fhir.IssueTooLong, "Patient.extension[1].value",
			"Extension.value[x]: the value has 31 characters, the profile allows maxLength 20 (profile " + recordLabelExt + ")"}}},
		{"frozen extension with a nested extension", func(m map[string]any) {
			obj(m, "extension", 0)["extension"] = []any{map[string]any{"url": "x", "valueString": "y"}}
		}, []want{{fhir.SeverityError, fhir.IssueStructure, "Patient.extension[0].extension",
			"Extension.extension: found 1, the profile allows max 0 (profile " + frozenExt + ")"}}},
		{"gender outside the required value set", func(m map[string]any) {
			m["gender"] = "other"
		}, []want{{fhir.SeverityError, fhir.IssueCodeInvalid, "Patient.gender",
			"is not in the value set http://example.org/fhir/ValueSet/cpms-gender (required binding of Patient.gender"}}},
		{"marital status outside the extensible value set", func(m map[string]any) {
			obj(m, "maritalStatus", "coding", 0)["code"] = "U"
		}, []want{{fhir.SeverityWarning, fhir.IssueCodeInvalid, "Patient.maritalStatus.coding[0]",
			"(extensible binding of Patient.maritalStatus to http://example.org/fhir/ValueSet/cpms-marital, profile " + patientProfile + ")"}}},
		{"marital status code unknown to its system", func(m map[string]any) {
			obj(m, "maritalStatus", "coding", 0)["code"] = "X"
		}, []want{{fhir.SeverityWarning, fhir.IssueCodeInvalid, "Patient.maritalStatus.coding[0].code", "extensible binding"}}},
		{"marital status as text only", func(m map[string]any) {
			m["maritalStatus"] = map[string]any{"text": "married"}
		}, nil},
		{"deceased as a date", func(m map[string]any) {
			delete(m, "deceasedBoolean")
			m["deceasedDateTime"] = "2020-01-01"
		}, []want{{fhir.SeverityError, fhir.IssueStructure, "Patient.deceased",
			"Patient.deceased[x]: the type dateTime is not allowed, the profile allows boolean"}}},
		{"given name too long", func(m map[string]any) {
			arr(obj(m, "name", 0), "given")[1] = "Bartholomew-James"
		}, []want{{fhir.SeverityError, fhir.IssueTooLong, "Patient.name[0].given[1]", "maxLength 10"}}},
		{"name without family", func(m map[string]any) {
			m["name"] = append(arr(m, "name"), map[string]any{"given": []any{"Jim"}})
		}, []want{{fhir.SeverityWarning, fhir.IssueInvariant, "Patient.name[1]",
			"constraint cpms-2 failed: A name should have a family name"}}},
		{"contact without name", func(m map[string]any) {
			m["contact"] = append(arr(m, "contact"), map[string]any{"gender": "female"})
		}, []want{
			{fhir.SeverityError, fhir.IssueRequired, "Patient.contact[1].name", "Patient.contact.name: found 0, the profile requires min 1"},
			// pat-1 has no source, and no base definition declaring it is
			// known: it counts as the profile's.
			{fhir.SeverityError, fhir.IssueInvariant, "Patient.contact[1]", "constraint pat-1 failed"},
		}},
		{"no birth date", func(m map[string]any) {
			delete(m, "birthDate")
		}, []want{{fhir.SeverityError, fhir.IssueRequired, "Patient.birthDate", "Patient.birthDate: found 0, the profile requires min 1"}}},
		{"birth date absent with a reason", func(m map[string]any) {
			delete(m, "birthDate")
			m["_birthDate"] = map[string]any{"extension": []any{map[string]any{
				"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}}}
		}, nil},
		{"managing organization is a patient", func(m map[string]any) {
			obj(m, "managingOrganization")["reference"] = "Patient/p2"
		}, []want{{fhir.SeverityError, fhir.IssueInvalid, "Patient.managingOrganization",
			"Patient.managingOrganization: the reference Patient/p2 is to a resource of type Patient, the profile allows Organization"}}},
		{"managing organization by identifier", func(m map[string]any) {
			m["managingOrganization"] = map[string]any{"identifier": map[string]any{"value": "x"}}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issues := v.Check(context.Background(), "Patient", edit(t, validPatient, tt.mutate), nil)
			assertIssues(t, issues, tt.want)
		})
	}
}

const validCondition = `{
  "resourceType": "Condition", "id": "c1",
  "meta": {"profile": ["http://example.org/fhir/StructureDefinition/cpms-diagnosis"]},
  "contained": [{"resourceType": "Practitioner", "id": "pr1"}],
  "code": {"coding": [
    {"system": "https://www.orpha.net", "code": "558", "display": "Marfan syndrome"},
    {"system": "http://hl7.org/fhir/sid/icd-10", "code": "Q87.4"}
  ]},
  "subject": {"reference": "Patient/p1"},
  "onsetDateTime": "2019-04",
  "recorder": {"reference": "#pr1"},
  "evidence": [{"detail": [{"reference": "DocumentReference/d1"}]}, {"code": [{"text": "clinical"}]}]
}`

// TestConditionProfile validates a Condition against the CPMS diagnosis
// test profile: a choice restricted to dateTime, reference targets
// (relative, absolute and versioned, contained), a closed and ordered
// slicing by pattern on $this, an exists discriminator, a required
// binding on a CodeableConcept met by one coding, an invariant.
func TestConditionProfile(t *testing.T) {
	v := cpmsValidator(t)
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   []want
	}{
		{"valid", nil, nil},
		{"onset as an age", func(m map[string]any) {
			delete(m, "onsetDateTime")
			m["onsetAge"] = map[string]any{"value": 3, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}
		}, []want{{fhir.SeverityError, fhir.IssueStructure, "Condition.onset",
			"Condition.onset[x]: the type Age is not allowed, the profile allows dateTime (profile " + diagnosisProfile + ")"}}},
		{"subject is a group", func(m map[string]any) {
			obj(m, "subject")["reference"] = "Group/g1"
		}, []want{{fhir.SeverityError, fhir.IssueInvalid, "Condition.subject",
			"Condition.subject: the reference Group/g1 is to a resource of type Group, the profile allows Patient"}}},
		{"recorder is an organization, absolute versioned reference", func(m map[string]any) {
			obj(m, "recorder")["reference"] = "https://cpms.example.org/fhir/Organization/o1/_history/2"
		}, []want{{fhir.SeverityError, fhir.IssueInvalid, "Condition.recorder",
			"is to a resource of type Organization, the profile allows Practitioner, PractitionerRole"}}},
		{"recorder is a contained organization", func(m map[string]any) {
			obj(m, "contained", 0)["resourceType"] = "Organization"
		}, []want{{fhir.SeverityError, fhir.IssueInvalid, "Condition.recorder", "the reference #pr1 is to a resource of type Organization"}}},
		{"recorder by type only", func(m map[string]any) {
			m["recorder"] = map[string]any{"type": "PractitionerRole", "identifier": map[string]any{"value": "x"}}
		}, nil},
		{"recorder by a urn", func(m map[string]any) {
			obj(m, "recorder")["reference"] = "urn:uuid:9d6c1f8e-1c1e-4b4e-9a4c-0c8f4c1d2e3f"
		}, nil},
		{"a SNOMED coding in the closed slicing", func(m map[string]any) {
			c := obj(m, "code")
			c["coding"] = append(arr(c, "coding"), map[string]any{"system": "http://snomed.info/sct", "code": "19346006"})
		}, []want{{fhir.SeverityError, fhir.IssueStructure, "Condition.code.coding[2]",
			"Condition.code.coding: the value matches none of the slices, and the slicing is closed"}}},
		{"ICD-10 before ORPHA in the ordered slicing", func(m map[string]any) {
			c := arr(obj(m, "code"), "coding")
			c[0], c[1] = c[1], c[0]
		}, []want{{fhir.SeverityError, fhir.IssueStructure, "Condition.code.coding[1]",
			"the value of slice orpha comes after a value of slice icd10, and the slicing is ordered"}}},
		{"no ORPHA code", func(m map[string]any) {
			c := obj(m, "code")
			c["coding"] = arr(c, "coding")[1:]
		}, []want{
			{fhir.SeverityError, fhir.IssueRequired, "Condition.code.coding", "the slice orpha of Condition.code.coding: found 0, the profile requires min 1"},
			{fhir.SeverityError, fhir.IssueCodeInvalid, "Condition.code.coding[0]", "required binding of Condition.code"},
		}},
		{"ORPHA code unknown", func(m map[string]any) {
			obj(m, "code", "coding", 0)["code"] = "999999"
		}, []want{
			{fhir.SeverityError, fhir.IssueCodeInvalid, "Condition.code.coding[0].code", "the code 999999 is not in the code system https://www.orpha.net"},
			{fhir.SeverityError, fhir.IssueCodeInvalid, "Condition.code.coding[1]", "is not in the value set"},
		}},
		{"code as text only", func(m map[string]any) {
			m["code"] = map[string]any{"text": "Marfan"}
		}, []want{
			{fhir.SeverityError, fhir.IssueRequired, "Condition.code.coding", "Condition.code.coding: found 0, the profile requires min 1"},
			{fhir.SeverityError, fhir.IssueRequired, "Condition.code.coding", "the slice orpha of Condition.code.coding: found 0"},
			{fhir.SeverityError, fhir.IssueCodeInvalid, "Condition.code", "Condition.code: no coding, and the binding to http://example.org/fhir/ValueSet/cpms-diagnosis is required"},
		}},
		{"two documented evidences", func(m map[string]any) {
			m["evidence"] = append(arr(m, "evidence"), map[string]any{"detail": []any{map[string]any{"reference": "DocumentReference/d2"}}})
		}, []want{{fhir.SeverityError, fhir.IssueStructure, "Condition.evidence",
			"the slice documented of Condition.evidence: found 2, the profile allows max 1"}}},
		{"documented evidence pointing to an observation", func(m map[string]any) {
			obj(m, "evidence", 0, "detail", 0)["reference"] = "Observation/o1"
		}, []want{{fhir.SeverityError, fhir.IssueInvalid, "Condition.evidence[0].detail[0]",
			"Condition.evidence:documented.detail: the reference Observation/o1 is to a resource of type Observation, the profile allows DocumentReference"}}},
		{"abated without onset", func(m map[string]any) {
			delete(m, "onsetDateTime")
			m["abatementString"] = "in remission"
		}, []want{{fhir.SeverityError, fhir.IssueInvariant, "Condition", "constraint cpms-dx-1 failed: An abated diagnosis has an onset"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issues := v.Check(context.Background(), "Condition", edit(t, validCondition, tt.mutate), nil)
			assertIssues(t, issues, tt.want)
		})
	}
}

// TestContentReference validates nested Questionnaire items, whose
// item.item refers to the item element, against a profile asked for as
// by $validate?profile=.
func TestContentReference(t *testing.T) {
	v := cpmsValidator(t)
	body := []byte(`{"resourceType": "Questionnaire", "status": "draft", "item": [
		{"linkId": "1", "text": "Episode", "type": "group", "item": [
			{"linkId": "1.a", "text": "Onset", "type": "date"},
			{"linkId": "1.2", "type": "string", "item": [{"text": "no link id", "type": "display"}]}
		]}]}`)
	assertIssues(t, v.Check(context.Background(), "Questionnaire", body, []string{formProfile}), []want{
		{fhir.SeverityError, fhir.IssueRequired, "Questionnaire.item[0].item[1].text", "Questionnaire.item.text: found 0, the profile requires min 1"},
		{fhir.SeverityError, fhir.IssueRequired, "Questionnaire.item[0].item[1].item[0].linkId", "Questionnaire.item.linkId: found 0"},
		// The constraint of the item element holds for nested items.
		{fhir.SeverityWarning, fhir.IssueInvariant, "Questionnaire.item[0].item[0]", "constraint cpms-q-1 failed: Link ids are dotted numbers"},
	})
	assertIssues(t, v.Check(context.Background(), "Questionnaire", []byte(`{"resourceType": "Questionnaire", "status": "draft"}`),
		[]string{formProfile}), []want{
		{fhir.SeverityError, fhir.IssueRequired, "Questionnaire.item", "Questionnaire.item: found 0, the profile requires min 1"},
	})
}

// TestProfileClaims checks which profiles a resource is validated
// against: those of meta.profile the validator knows (an unknown one is a
// warning), and those asked for (an unknown one is an error).
func TestProfileClaims(t *testing.T) {
	v := cpmsValidator(t)
	ctx := context.Background()
	plain := []byte(`{"resourceType": "Patient", "id": "p"}`)
	if issues := v.Check(ctx, "Patient", plain, nil); issues != nil {
		t.Errorf("no profile claimed: %v", issues)
	}
	unknown := []byte(`{"resourceType": "Patient", "meta": {"profile": ["http://example.org/a", "http://example.org/b"]}}`)
	assertIssues(t, v.Check(ctx, "Patient", unknown, nil), []want{
		{fhir.SeverityWarning, fhir.IssueNotFound, "Patient.meta.profile[0]", "the profile http://example.org/a is not known to this server"},
		{fhir.SeverityWarning, fhir.IssueNotFound, "Patient.meta.profile[1]", "the profile http://example.org/b is not known to this server"},
	})
	assertIssues(t, v.Check(ctx, "Patient", plain, []string{"http://example.org/c"}), []want{
		{fhir.SeverityError, fhir.IssueNotFound, "", "the profile http://example.org/c is not known to this server"},
	})
	assertIssues(t, v.Check(ctx, "Patient", plain, []string{diagnosisProfile}), []want{
		{fhir.SeverityError, fhir.IssueInvalid, "", "the profile " + diagnosisProfile + " constrains Condition resources, not Patient"},
	})
	// A versioned canonical finds the profile; a profile both claimed and
	// asked for is checked once.
	claimed := edit(t, validPatient, func(m map[string]any) {
		obj(m, "meta")["profile"] = []any{patientProfile + "|0.1.0"}
		delete(m, "birthDate")
	})
	assertIssues(t, v.Check(ctx, "Patient", claimed, []string{patientProfile, patientProfile + "|0.1.0"}), []want{
		{fhir.SeverityError, fhir.IssueRequired, "Patient.birthDate", "found 0"},
	})
	if !v.Known(patientProfile) || !v.Known(patientProfile+"|2") || v.Known("http://example.org/a") {
		t.Error("Known")
	}
}

// TestBaseDefinitionRules checks what is left to the base validation once
// the validator knows the base definition of the profile's type: the
// constraints that definition declares (pat-1, which the test profile
// repeats without source), and the bindings the profile does not change.
func TestBaseDefinitionRules(t *testing.T) {
	v := cpmsValidator(t)
	ctx := context.Background()
	body := edit(t, validPatient, func(m map[string]any) {
		m["contact"] = []any{map[string]any{"name": map[string]any{"family": "X"}}, map[string]any{"gender": "female"}}
		obj(m, "maritalStatus", "coding", 0)["code"] = "U"
	})
	before := []want{
		{fhir.SeverityError, fhir.IssueRequired, "Patient.contact[1].name", "found 0"},
		{fhir.SeverityError, fhir.IssueInvariant, "Patient.contact[1]", "constraint pat-1 failed"},
		{fhir.SeverityWarning, fhir.IssueCodeInvalid, "Patient.maritalStatus.coding[0]", "extensible binding"},
	}
	assertIssues(t, v.Check(ctx, "Patient", body, nil), before)
	base := `{"resourceType": "StructureDefinition", "url": "http://hl7.org/fhir/StructureDefinition/Patient",
		"name": "Patient", "kind": "resource", "type": "Patient", "derivation": "specialization",
		"snapshot": {"element": [
			{"id": "Patient", "path": "Patient", "min": 0, "max": "*"},
			{"id": "Patient.maritalStatus", "path": "Patient.maritalStatus", "min": 0, "max": "1", "type": [{"code": "CodeableConcept"}],
			 "binding": {"strength": "extensible", "valueSet": "http://example.org/fhir/ValueSet/cpms-marital|4.0.1"}},
			{"id": "Patient.contact", "path": "Patient.contact", "min": 0, "max": "*", "type": [{"code": "BackboneElement"}],
			 "constraint": [{"key": "pat-1", "severity": "error", "human": "contact details",
			   "expression": "name.exists() or telecom.exists() or address.exists() or organization.exists()",
			   "source": "http://hl7.org/fhir/StructureDefinition/Patient"}]}
		]}}`
	if err := v.Add([]byte(base)); err != nil {
		t.Fatal(err)
	}
	assertIssues(t, v.Check(ctx, "Patient", body, nil), before[:1])
	// Validating against the base definition itself evaluates none of its
	// constraints.
	assertIssues(t, v.Check(ctx, "Patient", body, []string{"http://hl7.org/fhir/StructureDefinition/Patient"}), before[:1])
}

// TestReplaceAndRemove replaces a profile by one with the same URL and
// removes it, while the validator is in use.
func TestReplaceAndRemove(t *testing.T) {
	v := cpmsValidator(t)
	ctx := context.Background()
	body := edit(t, validPatient, func(m map[string]any) { delete(m, "birthDate") })
	if len(v.Check(ctx, "Patient", body, nil)) != 1 {
		t.Fatal("birthDate is required by the first version")
	}
	relaxed := edit(t, string(readFile(t, "patient-profile.json")), func(m map[string]any) {
		for _, e := range arr(obj(m, "snapshot"), "element") {
			if e := e.(map[string]any); e["id"] == "Patient.birthDate" {
				e["min"] = 0
			}
		}
	})
	if err := v.Add(relaxed); err != nil {
		t.Fatal(err)
	}
	assertIssues(t, v.Check(ctx, "Patient", body, nil), nil)
	v.Remove(patientProfile)
	assertIssues(t, v.Check(ctx, "Patient", body, nil), []want{
		{fhir.SeverityWarning, fhir.IssueNotFound, "Patient.meta.profile[0]", "is not known to this server"},
	})
}

// TestConcurrentUse validates from several goroutines while profiles are
// replaced (run with -race).
func TestConcurrentUse(t *testing.T) {
	v := cpmsValidator(t)
	sd := readFile(t, "patient-profile.json")
	body := []byte(validPatient)
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				if issues := v.Check(context.Background(), "Patient", body, nil); fhir.HasErrors(issues) {
					t.Errorf("valid patient: %v", issues)
					return
				}
			}
		}()
	}
	for range 20 {
		if err := v.Add(sd); err != nil {
			t.Error(err)
		}
	}
	for range 4 {
		<-done
	}
}

// TestAddErrors checks that definitions that cannot be used are refused.
func TestAddErrors(t *testing.T) {
	v := New(Options{})
	for name, sd := range map[string]string{
		"not JSON":         `{`,
		"not a definition": `{"resourceType": "Patient"}`,
		"no url":           `{"resourceType": "StructureDefinition", "snapshot": {"element": [{"path": "Patient"}]}}`,
		"no snapshot":      `{"resourceType": "StructureDefinition", "url": "http://x/a", "type": "Patient"}`,
		"orphan element": `{"resourceType": "StructureDefinition", "url": "http://x/a", "type": "Patient",
			"snapshot": {"element": [{"path": "Patient"}, {"path": "Patient.contact.name"}]}}`,
		"bad max": `{"resourceType": "StructureDefinition", "url": "http://x/a", "type": "Patient",
			"snapshot": {"element": [{"path": "Patient"}, {"path": "Patient.name", "max": "many"}]}}`,
		"dangling contentReference": `{"resourceType": "StructureDefinition", "url": "http://x/a", "type": "Patient",
			"snapshot": {"element": [{"path": "Patient"}, {"path": "Patient.link", "contentReference": "#Patient.nothing"}]}}`,
	} {
		if err := v.Add([]byte(sd)); err == nil {
			t.Errorf("%s: added", name)
		}
	}
	if v.Known("http://x/a") {
		t.Error("a refused definition is known")
	}
}

// TestUncompilableConstraint checks that a profile whose constraint does
// not compile is still used, the constraint reported as not checked.
func TestUncompilableConstraint(t *testing.T) {
	v := New(Options{Logger: slog.New(slog.DiscardHandler)})
	const url = "http://example.org/fhir/StructureDefinition/t-bad"
	if err := v.Add(inlineProfile(url, "Patient",
		`{"id": "Patient", "path": "Patient", "min": 0, "max": "*",
		  "constraint": [{"key": "bad-1", "severity": "error", "human": "h", "expression": "name.where("}]}`,
		`{"id": "Patient.name", "path": "Patient.name", "min": 1, "max": "*", "type": [{"code": "HumanName"}]}`)); err != nil {
		t.Fatal(err)
	}
	assertIssues(t, v.Check(context.Background(), "Patient", []byte(`{"resourceType": "Patient"}`), []string{url}), []want{
		{fhir.SeverityWarning, fhir.IssueNotSupported, "Patient", "the constraint bad-1 of Patient cannot be evaluated"},
		{fhir.SeverityError, fhir.IssueRequired, "Patient.name", "Patient.name: found 0, the profile requires min 1"},
	})
}
