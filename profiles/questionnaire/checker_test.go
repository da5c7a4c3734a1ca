package questionnaire

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

var _ engine.Checker = (*Checker)(nil)

// fakeTerminology knows a few value sets and their codes.
type fakeTerminology map[string][]string // value set → "system|code"

func (f fakeTerminology) InValueSet(valueSet string, c Coding) (ok, known bool) {
	codes, known := f[valueSet]
	return slices.Contains(codes, c.System+"|"+c.Code), known
}

var terms = fakeTerminology{
	"https://www.orpha.net?fhir_vs":                              {"https://www.orpha.net|ORPHA:558"},
	"http://hl7.org/fhir/sid/icd-10?fhir_vs":                     {"http://hl7.org/fhir/sid/icd-10|Q87.4"},
	"http://human-phenotype-ontology.org?fhir_vs=isa/HP:0000118": {"http://human-phenotype-ontology.org|HP:0001083", "http://human-phenotype-ontology.org|HP:0002616"},
	"http://hl7.org/fhir/ValueSet/administrative-gender":         {"http://hl7.org/fhir/administrative-gender|female", "http://hl7.org/fhir/administrative-gender|male"},
	"http://terminology.hl7.org/ValueSet/v3-FamilyMember":        {"http://terminology.hl7.org/CodeSystem/v3-RoleCode|FTH", "http://terminology.hl7.org/CodeSystem/v3-RoleCode|MTH"},
}

// patients is a PatientLookup over testdata/patient-dupont.json
// (Patient/p1); Patient/broken fails.
func patients(t *testing.T) PatientLookup {
	body, err := os.ReadFile("testdata/patient-dupont.json")
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, ref string) ([]byte, bool, error) {
		switch ref {
		case "Patient/p1":
			return body, true, nil
		case "Patient/broken":
			return nil, false, errors.New("store unavailable")
		}
		return nil, false, nil
	}
}

// doc is a decoded response to edit.
type doc map[string]any

func loadResponse(t *testing.T) doc {
	t.Helper()
	b, err := os.ReadFile("testdata/response-in-progress.json")
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// item returns the first item with linkID, depth first, through item and
// answer.item.
func (d doc) item(t *testing.T, linkID string) map[string]any {
	t.Helper()
	var find func(items any) map[string]any
	find = func(items any) map[string]any {
		list, _ := items.([]any)
		for _, x := range list {
			it := x.(map[string]any)
			if it["linkId"] == linkID {
				return it
			}
			if f := find(it["item"]); f != nil {
				return f
			}
			answers, _ := it["answer"].([]any)
			for _, a := range answers {
				if f := find(a.(map[string]any)["item"]); f != nil {
					return f
				}
			}
		}
		return nil
	}
	it := find(d["item"])
	if it == nil {
		t.Fatalf("no item %q in the test response", linkID)
	}
	return it
}

// answer sets the answers of the item linkID.
func (d doc) answer(t *testing.T, linkID string, answers ...map[string]any) {
	t.Helper()
	list := make([]any, len(answers))
	for i, a := range answers {
		list[i] = a
	}
	d.item(t, linkID)["answer"] = list
}

// add appends an item to the items of the item parent ("" for the top).
func (d doc) add(t *testing.T, parent string, it map[string]any) {
	t.Helper()
	holder := map[string]any(d)
	if parent != "" {
		holder = d.item(t, parent)
	}
	items, _ := holder["item"].([]any)
	holder["item"] = append(items, it)
}

// remove drops the item linkID from its parent's items.
func (d doc) remove(t *testing.T, linkID string) {
	t.Helper()
	var drop func(holder map[string]any) bool
	drop = func(holder map[string]any) bool {
		items, _ := holder["item"].([]any)
		for i, x := range items {
			it := x.(map[string]any)
			if it["linkId"] == linkID {
				holder["item"] = append(items[:i:i], items[i+1:]...)
				return true
			}
			if drop(it) {
				return true
			}
		}
		return false
	}
	if !drop(d) {
		t.Fatalf("no item %q to remove", linkID)
	}
}

func str(s string) map[string]any { return map[string]any{"valueString": s} }

func code(system, c string) map[string]any {
	return map[string]any{"valueCoding": map[string]any{"system": system, "code": c}}
}

func group(linkID string, items ...map[string]any) map[string]any {
	list := make([]any, len(items))
	for i, it := range items {
		list[i] = it
	}
	return map[string]any{"linkId": linkID, "item": list}
}

func question(linkID string, answers ...map[string]any) map[string]any {
	list := make([]any, len(answers))
	for i, a := range answers {
		list[i] = a
	}
	return map[string]any{"linkId": linkID, "answer": list}
}

const yesNo = "http://terminology.hl7.org/CodeSystem/v2-0136"

// want is an expected issue: its severity, its location, and words of
// its diagnostics.
type want struct {
	sev   fhir.Severity
	where string
	says  string
}

func TestCheckResponses(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(t *testing.T, d doc)
		opts  func(o *Options)
		wants []want
	}{
		{name: "in-progress partial form passes"},
		{name: "completed with a required item missing fails at its group",
			edit:  func(t *testing.T, d doc) { d["status"] = "completed" },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0]", `"cr.description"`}}},
		{name: "completed and complete passes",
			edit: func(t *testing.T, d doc) {
				d["status"] = "completed"
				d.add(t, "consultation-request", question("cr.description", str("Is losartan enough, or should we refer for aortic root surgery at 45 mm?")))
			}},
		{name: "completed without a required widget fails at the response",
			edit: func(t *testing.T, d doc) {
				d["status"] = "completed"
				d.add(t, "consultation-request", question("cr.description", str("Management advice.")))
				d.remove(t, "episode-description")
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse", `"episode-description"`}}},
		{name: "completed with a required item missing in a repeating group",
			edit: func(t *testing.T, d doc) {
				d["status"] = "amended"
				d.add(t, "consultation-request", question("cr.description", str("Management advice.")))
				d.remove(t, "dx.assertion")
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[3].item[0]", `"dx.assertion"`}}},
		{name: "a string for an integer is the wrong type",
			edit:  func(t *testing.T, d doc) { d.answer(t, "pi.age", str("35")) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[1].item[1].answer[0].valueString", "valueInteger"}}},
		{name: "a coding for a string is the wrong type",
			edit:  func(t *testing.T, d doc) { d.answer(t, "cr.nickname", code(yesNo, "Y")) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0].item[0].answer[0].valueCoding", "valueString"}}},
		{name: "a date is yyyy, yyyy-mm or yyyy-mm-dd",
			edit:  func(t *testing.T, d doc) { d.answer(t, "ep.start", map[string]any{"valueDate": "2025-02-30"}) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[2].item[0].answer[0].valueDate", "yyyy-mm-dd"}}},
		{name: "a dateTime for a date is the wrong type",
			edit: func(t *testing.T, d doc) {
				d.answer(t, "ep.start", map[string]any{"valueDateTime": "2025-03-01T10:00:00Z"})
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[2].item[0].answer[0].valueDateTime", "valueDate"}}},
		{name: "two answers to a question that does not repeat",
			edit: func(t *testing.T, d doc) {
				d.answer(t, "cr.urgency", code("http://hl7.org/fhir/request-priority", "routine"), code("http://hl7.org/fhir/request-priority", "urgent"))
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0].item[1].answer[1]", "does not repeat"}}},
		{name: "a group that does not repeat twice",
			edit: func(t *testing.T, d doc) {
				d.add(t, "phenotype-genetics-biobanks", group("pg.genetics",
					question("pg.test-type", code(Base+"/CodeSystem/cpms-genetic-test-type", "exome"))))
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[4].item[5]", "does not repeat"},
				{fhir.SeverityWarning, "QuestionnaireResponse.item[4].item[5]", "order"}}},
		{name: "a question twice",
			edit: func(t *testing.T, d doc) { d.add(t, "patient-information", question("pi.occupation", str("Musician"))) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[1].item[6]", "in one item"},
				{fhir.SeverityWarning, "QuestionnaireResponse.item[1].item[6]", "order"}}},
		{name: "an answer outside the answer options",
			edit: func(t *testing.T, d doc) {
				d.answer(t, "cr.urgency", code("http://hl7.org/fhir/request-priority", "stat"))
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0].item[1].answer[0].valueCoding", "answer options"}}},
		{name: "an answer option coding without its system",
			edit: func(t *testing.T, d doc) {
				d.answer(t, "cr.repeat", map[string]any{"valueCoding": map[string]any{"code": "N"}})
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0].item[3].answer[0].valueCoding", "answer options"}}},
		{name: "free text in an open-choice passes",
			edit: func(t *testing.T, d doc) { d.answer(t, "fh.condition", str("Marfan-like habitus")) }},
		{name: "a coding outside the value set",
			edit: func(t *testing.T, d doc) {
				d.answer(t, "dx.orpha", code("https://www.orpha.net", "ORPHA:98896"))
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[3].item[0].item[0].answer[0].valueCoding", "ORPHA:98896"}}},
		{name: "a code outside this package's value set (evaluated here)",
			edit:  func(t *testing.T, d doc) { d.answer(t, "pi.education", code(Base+"/CodeSystem/isced-2011", "9")) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[1].item[2].answer[0].valueCoding", "isced-2011"}}},
		{name: "a value set the terminology does not know is a warning",
			opts: func(o *Options) { o.Terminology = fakeTerminology{} },
			wants: []want{{fhir.SeverityWarning, "QuestionnaireResponse.item[1].item[0].answer[0].valueCoding", "administrative-gender"},
				{fhir.SeverityWarning, "QuestionnaireResponse.item[3].item[0].item[0].answer[0].valueCoding", "orpha"},
				{fhir.SeverityWarning, "QuestionnaireResponse.item[3].item[0].item[1].answer[0].valueCoding", "icd-10"},
				{fhir.SeverityWarning, "QuestionnaireResponse.item[4].item[0].item[0].answer[0].valueCoding", "human-phenotype"},
				{fhir.SeverityWarning, "QuestionnaireResponse.item[5].item[2].item[0].answer[0].valueCoding", "FamilyMember"}}},
		{name: "biobank details when no sample is stored violate enableWhen",
			edit: func(t *testing.T, d doc) {
				d.add(t, "phenotype-genetics-biobanks", group("pg.biobank", question("pg.biobank-name", str("Biobank of the centre"))))
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[4].item[5]", "enableWhen"}}},
		{name: "biobank details when a sample is stored pass",
			edit: func(t *testing.T, d doc) {
				d.answer(t, "pg.sample-stored", code(yesNo, "Y"))
				d.add(t, "phenotype-genetics-biobanks", group("pg.biobank", question("pg.biobank-name", str("Biobank of the centre"))))
				d.add(t, "phenotype-genetics-biobanks", group("pg.biobank", question("pg.biobank-name", str("National DNA bank"))))
			}},
		{name: "oncology details of a diagnosis that is not oncological violate enableWhen",
			edit: func(t *testing.T, d doc) {
				d.add(t, "dx.diagnosis", group("dx.oncology", question("dx.stage", str("II"))))
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[3].item[0].item[6]", "disabled"}}},
		{name: "enableWhen is evaluated in its own repetition",
			edit: func(t *testing.T, d doc) {
				d.add(t, "rare-disease-diagnosis", group("dx.diagnosis",
					question("dx.assertion", code("http://terminology.hl7.org/CodeSystem/condition-ver-status", "provisional")),
					question("dx.oncological", map[string]any{"valueBoolean": true}),
					group("dx.oncology", question("dx.stage", str("II")))))
			}},
		{name: "an end date of an ongoing medication violates enableWhen",
			edit: func(t *testing.T, d doc) {
				d.add(t, "md.medication", question("md.end", map[string]any{"valueDate": "2024"}))
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[6].item[0].item[4]", "disabled"}}},
		{name: "an item the Questionnaire lacks",
			edit:  func(t *testing.T, d doc) { d.add(t, "patient-information", question("pi.shoe-size", str("38"))) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[1].item[6].linkId", "no item"}}},
		{name: "an item out of its group",
			edit:  func(t *testing.T, d doc) { d.add(t, "rare-disease-diagnosis", question("dx.stage", str("II"))) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[3].item[1].linkId", `under the item "dx.oncology"`}}},
		{name: "an answer on a group",
			edit:  func(t *testing.T, d doc) { d.item(t, "dx.diagnosis")["answer"] = []any{str("x")} },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[3].item[0].answer[0]", "group"}}},
		{name: "a nickname longer than maxLength",
			edit:  func(t *testing.T, d doc) { d.answer(t, "cr.nickname", str(strings.Repeat("heron ", 11))) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0].item[0].answer[0].valueString", "60"}}},
		{name: "a nickname with the family name",
			edit:  func(t *testing.T, d doc) { d.answer(t, "cr.nickname", str("Petit DUPONT 3")) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0].item[0].answer[0].valueString", "last name"}}},
		{name: "a nickname with the family name split and without accents",
			edit:  func(t *testing.T, d doc) { d.answer(t, "cr.nickname", str("lefe-vre case")) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0].item[0].answer[0].valueString", "last name"}}},
		{name: "a nickname with a given name",
			edit:  func(t *testing.T, d doc) { d.answer(t, "cr.nickname", str("Hélène's heart")) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0].item[0].answer[0].valueString", "first name"}}},
		{name: "a nickname with a given name in decomposed Unicode",
			edit:  func(t *testing.T, d doc) { d.answer(t, "cr.nickname", str("zoe\u0301")) },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0].item[0].answer[0].valueString", "first name"}}},
		{name: "a nickname unrelated to the patient passes",
			edit: func(t *testing.T, d doc) { d.answer(t, "cr.nickname", str("Marine Dolphin 7")) }},
		{name: "an unknown patient is a warning",
			edit:  func(t *testing.T, d doc) { d["subject"] = map[string]any{"reference": "Patient/unknown"} },
			wants: []want{{fhir.SeverityWarning, "QuestionnaireResponse.item[0].item[0].answer[0].valueString", "not found"}}},
		{name: "a patient that cannot be read fails",
			edit:  func(t *testing.T, d doc) { d["subject"] = map[string]any{"reference": "Patient/broken"} },
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0].item[0].answer[0].valueString", "could not be read"}}},
		{name: "a contained patient is read",
			edit: func(t *testing.T, d doc) {
				d["contained"] = []any{map[string]any{"resourceType": "Patient", "id": "pt", "name": []any{map[string]any{"family": "Heron"}}}}
				d["subject"] = map[string]any{"reference": "#pt"}
			},
			wants: []want{{fhir.SeverityError, "QuestionnaireResponse.item[0].item[0].answer[0].valueString", "last name"}}},
		{name: "without a subject the nickname is not checked",
			edit:  func(t *testing.T, d doc) { delete(d, "subject") },
			wants: []want{{fhir.SeverityWarning, "QuestionnaireResponse.item[0].item[0].answer[0].valueString", "no subject"}}},
		{name: "an unknown Questionnaire is a warning, and the nickname is still checked",
			edit: func(t *testing.T, d doc) {
				d["questionnaire"] = "http://example.org/Questionnaire/other"
				d.answer(t, "cr.nickname", str("Dupont"))
			},
			wants: []want{{fhir.SeverityWarning, "QuestionnaireResponse.questionnaire", "not known"},
				{fhir.SeverityError, "QuestionnaireResponse.item[0].item[0].answer[0].valueString", "last name"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := loadResponse(t)
			if tc.edit != nil {
				tc.edit(t, d)
			}
			opts := Options{Terminology: terms, Patient: patients(t)}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			c, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			body, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			expectIssues(t, c.Check(context.Background(), "QuestionnaireResponse", body, nil), tc.wants)
		})
	}
}

// expectIssues checks that issues are exactly wants, in any order.
func expectIssues(t *testing.T, issues []fhir.Issue, wants []want) {
	t.Helper()
	used := make([]bool, len(issues))
	for _, w := range wants {
		found := false
		for i, is := range issues {
			if used[i] || is.Severity != w.sev || !strings.Contains(is.Diagnostics, w.says) {
				continue
			}
			if w.where != "" && !slices.Contains(is.Expression, w.where) {
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			t.Errorf("missing %s at %s saying %q", w.sev, w.where, w.says)
		}
	}
	for i, is := range issues {
		if !used[i] {
			t.Errorf("unexpected %s at %v: %s", is.Severity, is.Expression, is.Diagnostics)
		}
	}
}
