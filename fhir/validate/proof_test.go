package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/internal/synthea"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// agreement checks the proof against google/fhir/go's unmarshaller.
type agreement struct {
	t      *testing.T
	v      *Validator
	rng    *rand.Rand
	valid  int // originals the unmarshaller accepts
	proven int // of which the proof proves
	cases  int
}

func newAgreement(t *testing.T) *agreement {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return &agreement{t: t, v: v, rng: rand.New(rand.NewPCG(7, 3))}
}

// check fails the test if the proof proves body and the unmarshaller
// refuses it; it reports whether the unmarshaller accepts it.
func (a *agreement) check(name string, body []byte) bool {
	a.cases++
	proven := a.v.proof.proven(body)
	err := a.v.unmarshal(body)
	if proven && err != nil {
		a.t.Errorf("%s: proven valid, but google/fhir/go refuses it: %v\n%s", name, err, clip(body))
	}
	return err == nil
}

// resource checks body and mutations of it.
func (a *agreement) resource(name string, body []byte, mutations int) {
	if a.check(name, body) {
		a.valid++
		if a.v.proof.proven(body) {
			a.proven++
		}
	}
	for i := 0; i < mutations; i++ {
		m, what := a.mutate(body)
		if m != nil {
			a.check(name+": "+what, m)
		}
	}
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// tricky are values put in place of an element's: forms the proof must
// refuse when the unmarshaller does, and look-alikes of valid ones.
var tricky = []any{
	"", " ", "a", "a b", "a  b", " a", "a ", "x\u0001y", "x\ny", "\u00e9t\u00e9",
	"2020", "2020-02", "2020-02-29", "2021-02-29", "2020-02-30", "2020-13", "2020-00-10",
	"2020-01-00", "-2020", "0000-01-01", "2020-01-01T10:00:00", "2020-01-01T10:00:00Z",
	"2020-01-01T10:00:00.123+01:00", "2020-01-01T10:00Z", "2020-01-01T24:00:00Z",
	"2020-01-01T10:00:00+14:30", "10:00", "10:00:00", "24:00:00", "10:00:00.5",
	json.Number("0"), json.Number("-0"), json.Number("1"), json.Number("-1"),
	json.Number("01"), json.Number("1.0"), json.Number("1.50"), json.Number("1e3"),
	json.Number("2147483647"), json.Number("2147483648"), json.Number("-2147483649"),
	json.Number("4294967296"), json.Number("0.0000001"), json.Number("-0.5"),
	"1", "1.5", "true", true, false,
	"male", "Male", "MALE", "final", "Final", "entered-in-error", "entered_in_error", "unknown-code",
	"http://example.org/a b", "http://example.org/%zz", "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
	"urn:oid:1.2.3", "urn:oid:1.2.x", "aGVsbG8=", "aGVsbG8", "aGVs bG8=", "a===",
	strings.Repeat("a", 64), strings.Repeat("a", 65), "a.b-c", "a_b",
	"Patient/1", "Practitioner/1", "Organization/1", "Observation/1", "Foo/1", "patient/1",
	"Patient/1/_history/2", "Patient/1/_history/a b", "Patient/", "#", "#p1", "Patient?identifier=a|b",
	map[string]any{}, []any{}, []any{"a"}, []any{map[string]any{}}, map[string]any{"a": "b"},
	map[string]any{"reference": "Patient/1"}, map[string]any{"value": "x"},
	map[string]any{"extension": []any{map[string]any{"url": "http://example.org/x", "valueString": "y"}}},
	map[string]any{"extension": []any{map[string]any{"valueString": "y"}}},
	map[string]any{"url": "http://example.org/x"},
	map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "1-8"}}},
	nil,
}

// step locates a value: a member of an object or an item of an array.
type step struct {
	obj map[string]any
	key string
	arr []any
	i   int
}

func (s step) get() any {
	if s.obj != nil {
		return s.obj[s.key]
	}
	return s.arr[s.i]
}

func (s step) set(v any) {
	if s.obj != nil {
		s.obj[s.key] = v
	} else {
		s.arr[s.i] = v
	}
}

func (s step) name() string {
	if s.obj != nil {
		return s.key
	}
	return fmt.Sprintf("[%d]", s.i)
}

func collect(v any, out []step) []step {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, step{obj: x, key: k})
			out = collect(x[k], out)
		}
	case []any:
		for i := range x {
			out = append(out, step{arr: x, i: i})
			out = collect(x[i], out)
		}
	}
	return out
}

// mutate returns body changed in one place, and what was changed.
func (a *agreement) mutate(body []byte) ([]byte, string) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var root map[string]any
	if d.Decode(&root) != nil {
		return nil, ""
	}
	steps := collect(root, nil)
	if len(steps) == 0 {
		return nil, ""
	}
	s := steps[a.rng.IntN(len(steps))]
	var what string
	switch op := a.rng.IntN(11); {
	case op == 10:
		// A character of a string escaped, which the proof decodes and
		// google/fhir/go sometimes reads as it is.
		out, _ := json.Marshal(root)
		var at []int
		for i := 1; i+1 < len(out); i++ {
			if out[i] == '"' && (out[i-1] == ':' || out[i-1] == '[' || out[i-1] == ',') && out[i+1] != '"' && out[i+1] != '\\' && out[i+1] < 0x80 {
				at = append(at, i+1)
			}
		}
		if len(at) == 0 {
			return nil, ""
		}
		i := at[a.rng.IntN(len(at))]
		esc := fmt.Sprintf(`\u%04x`, out[i])
		return append(append(slices.Clip(out[:i]), esc...), out[i+1:]...), "escaped " + string(out[i])
	case op < 5:
		v := tricky[a.rng.IntN(len(tricky))]
		s.set(v)
		what = fmt.Sprintf("%s = %#v", s.name(), v)
	case op == 5 && s.obj != nil:
		delete(s.obj, s.key)
		what = "without " + s.key
	case op == 6 && s.obj != nil:
		v := s.obj[s.key]
		delete(s.obj, s.key)
		k := s.key
		switch a.rng.IntN(4) {
		case 0:
			k = strings.ToUpper(k[:1]) + k[1:]
		case 1:
			k = "_" + k
		case 2:
			k += "X"
		default:
			k = "value" + strings.ToUpper(k[:1]) + k[1:]
		}
		s.obj[k] = v
		what = s.key + " renamed " + k
	case op == 7:
		s.set([]any{s.get()})
		what = s.name() + " in an array"
	case op == 8:
		if l, ok := s.get().([]any); ok && len(l) > 0 {
			s.set(l[0])
			what = s.name() + " unwrapped"
		} else {
			s.set(map[string]any{"extension": []any{map[string]any{"url": "http://example.org/x", "valueCode": "a"}}})
			what = s.name() + " as an extension"
		}
	default:
		if s.obj == nil {
			return nil, ""
		}
		// The key again, first, with another value: JSON with a repeated key.
		k, _ := json.Marshal(s.key)
		v, _ := json.Marshal(tricky[a.rng.IntN(len(tricky))])
		out, _ := json.Marshal(root)
		if reflect.ValueOf(s.obj).Pointer() == reflect.ValueOf(root).Pointer() {
			return append([]byte("{"+string(k)+":"+string(v)+","), out[1:]...), "repeated " + s.key
		}
		return nil, ""
	}
	out, err := json.Marshal(root)
	if err != nil {
		return nil, ""
	}
	return out, what
}

// TestProofAgrees checks that the proof never proves valid what
// google/fhir/go's unmarshaller refuses, on the fixtures, the R4
// examples and Synthea's resources, and on thousands of mutations of
// them; and that it proves most valid resources, or it would be of no use.
func TestProofAgrees(t *testing.T) {
	t.Run("fixtures", func(t *testing.T) {
		a := newAgreement(t)
		for i, body := range append(proofFixtures, testfixture.Patient) {
			a.resource(fmt.Sprintf("fixture %d", i), body, 400)
		}
		t.Logf("%d cases; %d of %d valid fixtures proven", a.cases, a.proven, a.valid)
		if a.proven != a.valid {
			t.Errorf("%d of %d valid fixtures proven, want all", a.proven, a.valid)
		}
	})
	t.Run("examples", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: the fixtures only")
		}
		a := newAgreement(t)
		testfixture.Examples(t, func(name string, body []byte) {
			a.resource(name, body, 8)
		})
		t.Logf("%d cases; %d of %d valid examples proven", a.cases, a.proven, a.valid)
		if a.proven*10 < a.valid*9 {
			t.Errorf("%d of %d valid examples proven, want 90%%", a.proven, a.valid)
		}
	})
	t.Run("validator-cases", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: the fixtures only")
		}
		// The FHIR validator's own test cases, many of them invalid on
		// purpose.
		a := newAgreement(t)
		dir := testfixture.SharedData(t, "fhir", "validator-cases")
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") || d.Name() == "index.json" {
				return err
			}
			body, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			a.resource(p[len(dir):], body, 4)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d cases; %d of %d valid files proven", a.cases, a.proven, a.valid)
	})
	t.Run("synthea", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: the fixtures only")
		}
		a := newAgreement(t)
		n := 0
		err := synthea.ReadArchive(testfixture.SharedData(t, "fhir", "synthea-r4.tar.gz"), func(name string, bundle []byte) error {
			if n++; n > 12 {
				return nil
			}
			rs, err := synthea.Resources(bundle)
			if err != nil {
				return err
			}
			for i, r := range rs {
				a.resource(fmt.Sprintf("%s entry %d", name, i), r.Body, 2)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d cases; %d of %d valid resources proven", a.cases, a.proven, a.valid)
		if a.proven*100 < a.valid*99 {
			t.Errorf("%d of %d valid resources proven, want 99%%", a.proven, a.valid)
		}
	})
}

// proofFixtures are valid resources with the forms the proof must know:
// choices, primitives with extensions, contained resources, typed and
// untyped references, bound codes, every numeric and temporal primitive.
var proofFixtures = [][]byte{
	[]byte(`{"resourceType":"Observation","id":"o1","meta":{"versionId":"3","lastUpdated":"2024-05-01T10:00:00.123Z","profile":["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},
	"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
	"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"},
	"subject":{"reference":"Patient/p1","display":"P"},"encounter":{"reference":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"},
	"effectiveDateTime":"2024-05-01T09:30:00+02:00","issued":"2024-05-01T10:00:00Z","valueQuantity":{"value":72.5,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"},
	"interpretation":[{"text":"normal"}],"referenceRange":[{"low":{"value":60},"high":{"value":100},"age":{"low":{"value":18},"high":{"value":120}}}],
	"component":[{"code":{"text":"a"},"valueInteger":-3},{"code":{"text":"b"},"valueBoolean":true},{"code":{"text":"c"},"valueTime":"10:15:00.25"},{"code":{"text":"d"},"valuePeriod":{"start":"2024","end":"2024-06"}}]}`),
	[]byte(`{"resourceType":"Patient","id":"p1","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">P &amp; Q</div>"},
	"contained":[{"resourceType":"Organization","id":"org","name":"Clinic"}],
	"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{"city":"Lyon"}}],
	"identifier":[{"system":"urn:oid:1.2.36.146.595.217.0.1","value":"12345","period":{"start":"2001-05-06"}}],
	"name":[{"family":"Chalmers","_family":{"id":"f1","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-prefix","valueString":"VV"}]},"given":["Peter","James"]}],
	"gender":"male","birthDate":"1974-12-25","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1974-12-25T14:35:45-05:00"}]},
	"deceasedBoolean":false,"multipleBirthInteger":2,"managingOrganization":{"reference":"#org"},
	"generalPractitioner":[{"reference":"Practitioner/pr1/_history/2"},{"identifier":{"value":"x"}}],
	"photo":[{"contentType":"image/png","data":"aGVsbG8=","size":5,"creation":"2020-01-01"}],
	"communication":[{"language":{"coding":[{"system":"urn:ietf:bcp:47","code":"fr-FR"}]},"preferred":true}]}`),
	[]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0","resource":{"resourceType":"Patient","active":true},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=a|b"}}]}`),
	[]byte(`{"resourceType":"Questionnaire","status":"active","item":[{"linkId":"1","type":"group","item":[{"linkId":"1.1","type":"decimal","maxLength":4,"initial":[{"valueDecimal":0.10}]},{"linkId":"1.2","type":"choice","answerOption":[{"valueCoding":{"code":"a"}}]}]}]}`),
	[]byte(`{"resourceType":"MedicationRequest","status":"active","intent":"order","medicationReference":{"reference":"Medication/m1"},"subject":{"reference":"Patient/p1"},"dosageInstruction":[{"timing":{"repeat":{"frequency":2,"period":1,"periodUnit":"d","timeOfDay":["08:00:00"]}},"doseAndRate":[{"doseQuantity":{"value":1.5,"unit":"mg"}}]}],"dispenseRequest":{"numberOfRepeatsAllowed":0}}`),
}

// TestProofRefuses lists resources google/fhir/go refuses, each by one
// rule the proof applies itself; none may be proven.
func TestProofRefuses(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"resourceType":"Observation","code":{"text":"a"}}`,                                                                 // status required
		`{"resourceType":"Observation","status":"done","code":{"text":"a"}}`,                                                 // not a code of the binding
		`{"resourceType":"Patient","managingOrganization":{"reference":"Patient/1"}}`,                                        // reference type
		`{"resourceType":"Patient","generalPractitioner":[{"reference":"Practitioner/1/_history/a b"}]}`,                     // version id
		`{"resourceType":"Patient","birthDate":"2021-02-29"}`,                                                                // no such day
		`{"resourceType":"Patient","birthDate":"2021-02-01T10:00:00Z"}`,                                                      // a dateTime
		`{"resourceType":"Patient","multipleBirthInteger":2147483648}`,                                                       // out of range
		`{"resourceType":"Patient","photo":[{"size":-1}]}`,                                                                   // unsignedInt
		`{"resourceType":"Patient","photo":[{"data":"\u0061GVsbG8="}]}`,                                                      // base64 read as it is
		`{"resourceType":"Patient","id":"a_b"}`,                                                                              // id format
		`{"resourceType":"Patient","name":[{"family":"a\u0001"}]}`,                                                           // control character
		`{"resourceType":"Patient","name":[{"family":"a"}],"nickname":"b"}`,                                                  // unknown element
		`{"resourceType":"Patient","deceasedBoolean":true,"deceasedDateTime":"2020"}`,                                        // two choices
		`{"resourceType":"Patient","extension":[{"valueString":"a"}]}`,                                                       // extension url
		`{"resourceType":"Patient","contained":[{"resourceType":"Observation","status":"final","code":{"text":"a"},"x":1}]}`, // in a contained resource
		`{"resourceType":"Patient","contained":[{"resourceType":"Observation","code":{"text":"a"}}]}`,                        // contained, status required
		`{"resourceType":"Observation","status":"final","code":{"text":"a"},"valueQuantity":{"value":"1.0"}}`,                // decimal as a string
		`{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"length":{"value":1e400}}`,                   // decimal format
		`{"resourceType":"Observation","status":"final","code":{"text":"a"},"effectiveTiming":{"code":{"text":1}}}`,          // a number for a string
		`{"resourceType":"Patient","active":"true"}`,                                                                         // a string for a boolean
		`{"resourceType":"Nobody"}`, // no such type
	} {
		if v.unmarshal([]byte(body)) == nil {
			t.Errorf("google/fhir/go accepts %s", body)
		}
		if v.proof.proven([]byte(body)) {
			t.Errorf("proven: %s", body)
		}
	}
}

// TestProofConcurrent proves resources from several goroutines on a new
// Validator, whose schemas are built as the first of them meets each type
// (run under the race detector in CI).
func TestProofConcurrent(t *testing.T) {
	v, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, b := range proofFixtures {
				if err := v.Validate(b); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
