package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/profiles/questionnaire"
	"github.com/cpms-fhir/cpms/server"
)

const (
	consultationForm = "http://cpms-fhir.org/fhir/Questionnaire/cpms-consultation-form|1.0.0"
	diagnosisWidget  = "http://cpms-fhir.org/fhir/Questionnaire/cpms-rare-disease-diagnosis"
)

// newSDCServer is a server that serves the SDC operations over the
// embedded forms and checks QuestionnaireResponses against them.
func newSDCServer(t *testing.T) *testServer {
	t.Helper()
	qc, err := questionnaire.New(questionnaire.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return newTestServerWith(t, func(o *engine.Options) { o.Checkers = []engine.Checker{qc} },
		func(o *server.Options) { o.Questionnaires = questionnaire.Questionnaires() })
}

// sdcPatientData is a patient with a rare disease, two phenotypic
// features (one excluded), a comorbidity, an allergy and a medication.
var sdcPatientData = []string{
	`{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1990-05-14","name":[{"family":"Peeters","given":["Lotte"]}]}`,
	`{"resourceType":"Condition","id":"rd1","meta":{"profile":["http://cpms-fhir.org/fhir/StructureDefinition/cpms-condition-rare-disease"]},
	  "extension":[{"url":"http://hl7.org/fhir/StructureDefinition/condition-assertedDate","valueDateTime":"2004-09-21"}],
	  "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
	  "verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},
	  "category":[{"coding":[{"system":"http://cpms-fhir.org/fhir/CodeSystem/cpms-condition-category","code":"rare-disease"}]}],
	  "code":{"coding":[{"system":"https://www.orpha.net","code":"ORPHA:558","display":"Marfan syndrome"},{"system":"http://hl7.org/fhir/sid/icd-10","code":"Q87.4","display":"Marfan syndrome"}]},
	  "subject":{"reference":"Patient/p1"},"onsetDateTime":"1998"}`,
	`{"resourceType":"Condition","id":"ph1","meta":{"profile":["http://cpms-fhir.org/fhir/StructureDefinition/cpms-condition-phenotype"]},
	  "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
	  "verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},
	  "category":[{"coding":[{"system":"http://cpms-fhir.org/fhir/CodeSystem/cpms-condition-category","code":"phenotype"}]}],
	  "code":{"coding":[{"system":"http://human-phenotype-ontology.org","code":"HP:0001166","display":"Arachnodactyly"}]},
	  "subject":{"reference":"Patient/p1"},"onsetDateTime":"2001-03"}`,
	`{"resourceType":"Condition","id":"ph2","meta":{"profile":["http://cpms-fhir.org/fhir/StructureDefinition/cpms-condition-phenotype"]},
	  "verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"refuted"}]},
	  "category":[{"coding":[{"system":"http://cpms-fhir.org/fhir/CodeSystem/cpms-condition-category","code":"phenotype"}]}],
	  "code":{"coding":[{"system":"http://human-phenotype-ontology.org","code":"HP:0001083","display":"Ectopia lentis"}]},
	  "subject":{"reference":"Patient/p1"}}`,
	`{"resourceType":"Condition","id":"cm1","meta":{"profile":["http://cpms-fhir.org/fhir/StructureDefinition/cpms-condition-comorbidity"]},
	  "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
	  "category":[{"coding":[{"system":"http://cpms-fhir.org/fhir/CodeSystem/cpms-condition-category","code":"comorbidity"}]}],
	  "code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10","display":"Essential (primary) hypertension"}],"text":"Hypertension"},
	  "subject":{"reference":"Patient/p1"},"onsetDateTime":"2019-02-01T10:00:00Z"}`,
	`{"resourceType":"Condition","id":"other","verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"entered-in-error"}]},
	  "code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"J45"}]},"subject":{"reference":"Patient/p1"}}`,
	`{"resourceType":"AllergyIntolerance","id":"al1",
	  "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},
	  "type":"allergy","category":["medication"],"code":{"text":"Penicillin"},"patient":{"reference":"Patient/p1"},
	  "reaction":[{"manifestation":[{"text":"Urticaria"}],"severity":"moderate","onset":"2015-07"}]}`,
	`{"resourceType":"MedicationStatement","id":"ms1","status":"active","medicationCodeableConcept":{"text":"Losartan"},
	  "subject":{"reference":"Patient/p1"},"effectivePeriod":{"start":"2020-06-15"},"dosage":[{"text":"50 mg once daily"}]}`,
}

func storeAll(t *testing.T, ts *testServer, bodies []string) {
	t.Helper()
	for _, b := range bodies {
		var head struct{ ResourceType, ID string }
		if err := json.Unmarshal([]byte(b), &head); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		r := ts.do(http.MethodPut, "/fhir/"+head.ResourceType+"/"+head.ID, b)
		if r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Fatalf("PUT %s/%s: %d %s", head.ResourceType, head.ID, r.Status, r.Body)
		}
	}
}

// ageOn is the age of someone born on born, today.
func ageOn(born time.Time) int {
	now := time.Now()
	age := now.Year() - born.Year()
	if now.YearDay() < born.YearDay() && (now.Month() < born.Month() || now.Month() == born.Month() && now.Day() < born.Day()) {
		age--
	}
	return age
}

// withoutText decodes JSON and drops the items' text, for comparisons.
func withoutText(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var strip func(v any)
	strip = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if _, ok := x["linkId"]; ok {
				delete(x, "text")
			}
			for _, y := range x {
				strip(y)
			}
		case []any:
			for _, y := range x {
				strip(y)
			}
		}
	}
	strip(v)
	return v
}

func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	g, w := withoutText(t, got), withoutText(t, []byte(want))
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", " ")
		wb, _ := json.MarshalIndent(w, "", " ")
		t.Errorf("got\n%s\nwant\n%s", gb, wb)
	}
}

const wantDiagnosis = `{"linkId":"dx.diagnosis","item":[
  {"linkId":"dx.orpha","answer":[{"valueCoding":{"system":"https://www.orpha.net","code":"ORPHA:558","display":"Marfan syndrome"}}]},
  {"linkId":"dx.icd10","answer":[{"valueCoding":{"system":"http://hl7.org/fhir/sid/icd-10","code":"Q87.4","display":"Marfan syndrome"}}]},
  {"linkId":"dx.assertion","answer":[{"valueCoding":{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}}]},
  {"linkId":"dx.onset","answer":[{"valueDate":"1998"}]},
  {"linkId":"dx.date","answer":[{"valueDate":"2004-09-21"}]}]}`

func TestSDCPopulate(t *testing.T) {
	ts := newSDCServer(t)
	storeAll(t, ts, sdcPatientData)
	age := ageOn(time.Date(1990, 5, 14, 0, 0, 0, 0, time.UTC))

	r := ts.do(http.MethodGet, "/fhir/Questionnaire/$populate?questionnaire="+strings.ReplaceAll(consultationForm, "|", "%7C")+"&subject=Patient/p1", nil)
	wantStatus(t, r, http.StatusOK)
	sameJSON(t, r.Body, fmt.Sprintf(`{"resourceType":"QuestionnaireResponse","questionnaire":%q,"status":"in-progress",
	 "subject":{"reference":"Patient/p1"},"item":[
	 {"linkId":"patient-information","item":[
	   {"linkId":"pi.sex","answer":[{"valueCoding":{"system":"http://hl7.org/fhir/administrative-gender","code":"female","display":"Female"}}]},
	   {"linkId":"pi.age","answer":[{"valueInteger":%d}]}]},
	 {"linkId":"rare-disease-diagnosis","item":[%s]},
	 {"linkId":"comorbidities","item":[{"linkId":"cm.condition","item":[
	   {"linkId":"cm.icd10","answer":[{"valueCoding":{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10","display":"Essential (primary) hypertension"}}]},
	   {"linkId":"cm.description","answer":[{"valueString":"Hypertension"}]},
	   {"linkId":"cm.onset","answer":[{"valueDate":"2019-02-01"}]},
	   {"linkId":"cm.status","answer":[{"valueCoding":{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}}]}]}]},
	 {"linkId":"phenotype-genetics-biobanks","item":[
	   {"linkId":"pg.phenotype","item":[
	     {"linkId":"pg.hpo","answer":[{"valueCoding":{"system":"http://human-phenotype-ontology.org","code":"HP:0001166","display":"Arachnodactyly"}}]},
	     {"linkId":"pg.excluded","answer":[{"valueBoolean":false}]},
	     {"linkId":"pg.hpo-onset","answer":[{"valueDate":"2001-03"}]}]},
	   {"linkId":"pg.phenotype","item":[
	     {"linkId":"pg.hpo","answer":[{"valueCoding":{"system":"http://human-phenotype-ontology.org","code":"HP:0001083","display":"Ectopia lentis"}}]},
	     {"linkId":"pg.excluded","answer":[{"valueBoolean":true}]}]}]},
	 {"linkId":"allergies","item":[
	   {"linkId":"al.known","answer":[{"valueCoding":{"system":"http://terminology.hl7.org/CodeSystem/v2-0136","code":"Y","display":"Yes"}}]},
	   {"linkId":"al.reaction","item":[
	     {"linkId":"al.substance","answer":[{"valueString":"Penicillin"}]},
	     {"linkId":"al.category","answer":[{"valueCoding":{"system":"http://hl7.org/fhir/allergy-intolerance-category","code":"medication"}}]},
	     {"linkId":"al.type","answer":[{"valueCoding":{"system":"http://hl7.org/fhir/allergy-intolerance-type","code":"allergy"}}]},
	     {"linkId":"al.manifestation","answer":[{"valueString":"Urticaria"}]},
	     {"linkId":"al.severity","answer":[{"valueCoding":{"system":"http://hl7.org/fhir/reaction-event-severity","code":"moderate"}}]},
	     {"linkId":"al.date","answer":[{"valueDate":"2015-07"}]}]}]},
	 {"linkId":"medication-summary","item":[{"linkId":"md.medication","item":[
	   {"linkId":"md.name","answer":[{"valueString":"Losartan"}]},
	   {"linkId":"md.dose","answer":[{"valueString":"50 mg once daily"}]},
	   {"linkId":"md.start","answer":[{"valueDate":"2020-06-15"}]},
	   {"linkId":"md.ongoing","answer":[{"valueBoolean":true}]}]}]}]}`, consultationForm, age, wantDiagnosis))

	// The response passes the server's QuestionnaireResponse check.
	saved := ts.do(http.MethodPost, "/fhir/QuestionnaireResponse", r.Body)
	wantStatus(t, saved, http.StatusCreated)

	// The diagnosis widget, stored, by id; and by a Parameters body.
	widget := questionnaire.Questionnaires()[diagnosisWidget]
	wantStatus(t, ts.do(http.MethodPut, "/fhir/Questionnaire/cpms-rare-disease-diagnosis", widget), http.StatusCreated)
	wantWidget := `{"resourceType":"QuestionnaireResponse","questionnaire":"` + diagnosisWidget + `|1.0.0","status":"in-progress",
	  "subject":{"reference":"Patient/p1"},"item":[` + wantDiagnosis + `]}`
	r = ts.do(http.MethodGet, "/fhir/Questionnaire/cpms-rare-disease-diagnosis/$populate?subject=Patient/p1", nil)
	wantStatus(t, r, http.StatusOK)
	sameJSON(t, r.Body, wantWidget)
	r = ts.do(http.MethodPost, "/fhir/Questionnaire/$populate", `{"resourceType":"Parameters","parameter":[
	  {"name":"questionnaire","valueCanonical":"`+diagnosisWidget+`"},{"name":"subject","valueReference":{"reference":"Patient/p1"}}]}`)
	wantStatus(t, r, http.StatusOK)
	sameJSON(t, r.Body, wantWidget)
	wantStatus(t, ts.do(http.MethodPost, "/fhir/QuestionnaireResponse", r.Body), http.StatusCreated)
}

func TestSDCPopulateErrors(t *testing.T) {
	ts := newSDCServer(t)
	storeAll(t, ts, sdcPatientData[:1])
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		expr                     string
	}{
		{"unknown questionnaire", "GET", "/fhir/Questionnaire/$populate?questionnaire=http://example.org/Q/none&subject=Patient/p1", "", 404, "questionnaire"},
		{"no questionnaire", "GET", "/fhir/Questionnaire/$populate?subject=Patient/p1", "", 400, "questionnaire"},
		{"unknown subject", "GET", "/fhir/Questionnaire/$populate?questionnaire=" + diagnosisWidget + "&subject=Patient/nobody", "", 404, "subject"},
		{"no subject", "GET", "/fhir/Questionnaire/$populate?questionnaire=" + diagnosisWidget, "", 400, "subject"},
		{"subject not a patient", "GET", "/fhir/Questionnaire/$populate?questionnaire=" + diagnosisWidget + "&subject=Group/g", "", 400, "subject"},
		{"unknown encounter", "GET", "/fhir/Questionnaire/$populate?questionnaire=" + diagnosisWidget + "&subject=Patient/p1&encounter=Encounter/e9", "", 404, "encounter"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			r := ts.do(c.method, c.path, body)
			wantStatus(t, r, c.status)
			if got := expressions(t, r); len(got) != 1 || got[0] != c.expr {
				t.Errorf("expressions %v, want [%s]", got, c.expr)
			}
		})
	}
	// Not a stored Questionnaire.
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Questionnaire/none/$populate?subject=Patient/p1", nil), http.StatusNotFound)
}

func readTestResponse(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../profiles/questionnaire/testdata/response-in-progress.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSDCExtract(t *testing.T) {
	ts := newSDCServer(t)
	storeAll(t, ts, sdcPatientData[:1])
	qr := readTestResponse(t)

	r := ts.do(http.MethodPost, "/fhir/QuestionnaireResponse/$extract", qr)
	wantStatus(t, r, http.StatusOK)
	if r.JSON["resourceType"] != "Bundle" || r.JSON["type"] != "transaction" {
		t.Fatalf("not a transaction Bundle: %.300s", r.Body)
	}
	type want struct{ typ, code, profile, ident string }
	wants := []want{
		{"Observation", "http://loinc.org|82589-3", "", "qr1/patient-information/pi.education"},
		{"Observation", "http://loinc.org|11341-5", "", "qr1/patient-information/pi.occupation"},
		{"Condition", "https://www.orpha.net|ORPHA:558 http://hl7.org/fhir/sid/icd-10|Q87.4", "http://cpms-fhir.org/fhir/StructureDefinition/cpms-condition-rare-disease", "qr1/rare-disease-diagnosis/dx.diagnosis/1"},
		{"Condition", "http://human-phenotype-ontology.org|HP:0001083", "http://cpms-fhir.org/fhir/StructureDefinition/cpms-condition-phenotype", "qr1/phenotype-genetics-biobanks/pg.phenotype/1"},
		{"Condition", "http://human-phenotype-ontology.org|HP:0002616", "http://cpms-fhir.org/fhir/StructureDefinition/cpms-condition-phenotype", "qr1/phenotype-genetics-biobanks/pg.phenotype/2"},
		{"Observation", "http://loinc.org|69548-6", "", "qr1/phenotype-genetics-biobanks/pg.genetics/pg.variant/1"},
		{"FamilyMemberHistory", "", "", "qr1/family-history/fh.member/1"},
		{"MedicationStatement", "", "", "qr1/medication-summary/md.medication/1"},
	}
	entries, _ := r.JSON["entry"].([]any)
	if len(entries) != len(wants) {
		t.Fatalf("%d entries, want %d: %s", len(entries), len(wants), r.Body)
	}
	for i, w := range wants {
		e := entries[i]
		res := get(e, "resource")
		var codes []string
		coding, _ := get(res, "code", "coding").([]any)
		for _, c := range coding {
			codes = append(codes, str(c, "system")+"|"+str(c, "code"))
		}
		if w.typ == "FamilyMemberHistory" || w.typ == "MedicationStatement" {
			codes = nil
		}
		subj := str(res, "subject", "reference") + str(res, "patient", "reference")
		if str(res, "resourceType") != w.typ || strings.Join(codes, " ") != w.code || str(res, "meta", "profile", 0) != w.profile ||
			str(res, "identifier", 0, "value") != w.ident || subj != "Patient/p1" {
			t.Errorf("entry %d: %s, want %+v", i, mustJSON(res), w)
		}
		if str(e, "request", "method") != "POST" || str(e, "request", "url") != w.typ ||
			str(e, "request", "ifNoneExist") != "identifier=http%3A%2F%2Fcpms-fhir.org%2Ffhir%2Fsid%2Fquestionnaire-extract%7C"+strings.ReplaceAll(w.ident, "/", "%2F") {
			t.Errorf("entry %d request: %v", i, get(e, "request"))
		}
	}
	if str(entries[3], "resource", "verificationStatus", "coding", 0, "code") != "confirmed" {
		t.Errorf("phenotype verification status: %s", mustJSON(entries[3]))
	}

	// apply=true carries the Bundle out.
	r = ts.do(http.MethodPost, "/fhir/QuestionnaireResponse/$extract?apply=true", qr)
	wantStatus(t, r, http.StatusOK)
	if r.JSON["type"] != "transaction-response" {
		t.Fatalf("not a transaction-response: %.300s", r.Body)
	}
	for i, e := range r.JSON["entry"].([]any) {
		if s := str(e, "response", "status"); !strings.HasPrefix(s, "201") {
			t.Errorf("entry %d: %s, want 201", i, s)
		}
	}
	s := ts.do(http.MethodGet, "/fhir/Condition?subject=Patient/p1&code=https://www.orpha.net%7CORPHA:558", nil)
	wantStatus(t, s, http.StatusOK)
	if n := len(s.JSON["entry"].([]any)); n != 1 {
		t.Errorf("%d rare disease Conditions, want 1", n)
	}
	s = ts.do(http.MethodGet, "/fhir/Condition?subject=Patient/p1&code=http://human-phenotype-ontology.org%7CHP:0002616", nil)
	if n := len(s.JSON["entry"].([]any)); n != 1 {
		t.Errorf("%d phenotype Conditions, want 1", n)
	}

	// Extracting the stored response again, by id: nothing new.
	wantStatus(t, ts.do(http.MethodPut, "/fhir/QuestionnaireResponse/qr1", qr), http.StatusCreated)
	before := ts.historyCount("/fhir/_history")
	r = ts.do(http.MethodPost, "/fhir/QuestionnaireResponse/qr1/$extract", `{"resourceType":"Parameters","parameter":[{"name":"apply","valueBoolean":true}]}`)
	wantStatus(t, r, http.StatusOK)
	for i, e := range r.JSON["entry"].([]any) {
		if s := str(e, "response", "status"); !strings.HasPrefix(s, "200") {
			t.Errorf("second apply, entry %d: %s, want 200", i, s)
		}
	}
	if after := ts.historyCount("/fhir/_history"); after != before {
		t.Errorf("the second apply wrote %d versions", after-before)
	}
	// GET by id returns the Bundle.
	r = ts.do(http.MethodGet, "/fhir/QuestionnaireResponse/qr1/$extract", nil)
	wantStatus(t, r, http.StatusOK)
	if len(r.JSON["entry"].([]any)) != len(wants) {
		t.Errorf("GET $extract: %.300s", r.Body)
	}
	// Parameters with the response.
	r = ts.do(http.MethodPost, "/fhir/QuestionnaireResponse/$extract", `{"resourceType":"Parameters","parameter":[{"name":"questionnaire-response","resource":`+string(qr)+`}]}`)
	wantStatus(t, r, http.StatusOK)
	if len(r.JSON["entry"].([]any)) != len(wants) {
		t.Errorf("Parameters $extract: %.300s", r.Body)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSDCExtractErrors(t *testing.T) {
	ts := newSDCServer(t)
	storeAll(t, ts, sdcPatientData[:1])
	resp := func(items string) string {
		return `{"resourceType":"QuestionnaireResponse","id":"x","questionnaire":"` + diagnosisWidget + `|1.0.0","status":"in-progress","subject":{"reference":"Patient/p1"},"item":[` + items + `]}`
	}
	for _, c := range []struct {
		name, path, body string
		status           int
		expr             string
	}{
		{"no codes", "/fhir/QuestionnaireResponse/$extract", resp(`{"linkId":"dx.diagnosis","item":[{"linkId":"dx.onset","answer":[{"valueDate":"2001"}]}]}`), 422, "QuestionnaireResponse.item[0]"},
		{"wrong system", "/fhir/QuestionnaireResponse/$extract", resp(`{"linkId":"dx.diagnosis","item":[{"linkId":"dx.orpha","answer":[{"valueCoding":{"system":"http://snomed.info/sct","code":"1"}}]}]}`), 422, "QuestionnaireResponse.item[0].item[0]"},
		{"unknown item", "/fhir/QuestionnaireResponse/$extract", resp(`{"linkId":"dx.notes","answer":[{"valueString":"a"}]},{"linkId":"xx"}`), 422, "QuestionnaireResponse.item[1]"},
		{"no subject", "/fhir/QuestionnaireResponse/$extract", strings.Replace(resp(""), `"subject":{"reference":"Patient/p1"},`, "", 1), 422, "QuestionnaireResponse.subject"},
		{"unknown questionnaire", "/fhir/QuestionnaireResponse/$extract", strings.Replace(resp(""), diagnosisWidget, "http://example.org/Q", 1), 422, "QuestionnaireResponse.questionnaire"},
		{"not a response", "/fhir/QuestionnaireResponse/$extract", `{"resourceType":"Patient"}`, 400, "QuestionnaireResponse"},
		{"no response", "/fhir/QuestionnaireResponse/$extract", `{"resourceType":"Parameters","parameter":[{"name":"apply","valueBoolean":true}]}`, 400, "questionnaire-response"},
		{"bad apply", "/fhir/QuestionnaireResponse/$extract?apply=yes", resp(""), 400, "apply"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(http.MethodPost, c.path, c.body)
			wantStatus(t, r, c.status)
			if got := expressions(t, r); len(got) != 1 || got[0] != c.expr {
				t.Errorf("expressions %v, want [%s]: %s", got, c.expr, r.Body)
			}
		})
	}
	r := ts.do(http.MethodGet, "/fhir/QuestionnaireResponse/none/$extract?apply=true", nil)
	wantStatus(t, r, http.StatusNotFound)
	wantStatus(t, ts.do(http.MethodPut, "/fhir/QuestionnaireResponse/x", resp(`{"linkId":"dx.notes","answer":[{"valueString":"a"}]}`)), http.StatusCreated)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/QuestionnaireResponse/x/$extract?apply=true", nil), http.StatusBadRequest)
}

// Without Options.Questionnaires the operations are neither served nor
// declared.
func TestSDCNotConfigured(t *testing.T) {
	ts := newTestServer(t)
	wantStatus(t, ts.do(http.MethodGet, "/fhir/Questionnaire/$populate?questionnaire="+diagnosisWidget+"&subject=Patient/p1", nil), http.StatusNotFound)
	wantStatus(t, ts.do(http.MethodPost, "/fhir/QuestionnaireResponse/$extract", `{"resourceType":"QuestionnaireResponse","status":"completed"}`), http.StatusNotFound)
	if strings.Contains(string(ts.do(http.MethodGet, "/fhir/metadata", nil).Body), "$populate") {
		t.Error("metadata declares $populate")
	}
	sdc := newSDCServer(t)
	meta := string(sdc.do(http.MethodGet, "/fhir/metadata", nil).Body)
	for _, d := range []string{"Questionnaire-populate", "QuestionnaireResponse-extract"} {
		if !strings.Contains(meta, d) {
			t.Errorf("metadata does not declare %s", d)
		}
	}
}
