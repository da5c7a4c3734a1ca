package terminology_test

// This file runs the FHIR terminology ecosystem test suite (the
// tx-tests of HL7's fhir-tx-ecosystem-ig, kept in
// ../shared/data/terminology/tx-tests) against the service, in process:
// each test's request Parameters goes to Service.Invoke and the answer is
// compared with the test's expected response.
//
// The tests that pass are listed in testdata/tx-tests-passing.txt; one of
// them failing is a regression and fails TestTxTests. After a change that
// makes more tests pass, rewrite the list (and the summary in
// testdata/tx-tests-report.md) with
//
//	go test ./terminology -run TxTests -args -update-tx
//
// How a test is run (see the suite's readme.md):
//
//   - Each suite gets a fresh Service holding the suite's setup
//     resources, plus the FHIR R4 base terminologies of the seed for the
//     suites that use them (txSeedSuites, loadFHIRSeed). The files are R5; the service reads R4,
//     which differs for these files only in ConceptMap (r5to4ConceptMap).
//   - The request is the test's Parameters, plus the parameters of the
//     test's "profile" (the Java test runner adds them the same way).
//     Resources a request passes as tx-resource are loaded like setup,
//     into a Service of their own.
//   - Operations: expand and validate-code on ValueSet, cs-validate-code
//     and lookup on CodeSystem, translate on ConceptMap.
//   - Tests outside the service's scope are counted as not applicable,
//     with the reason (txSuiteNA, txTestNA, txParamNA and
//     txNotApplicable).
//
// What decides pass or fail is in the compare* functions below.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/internal/gendata"
	"github.com/cpms-fhir/cpms/terminology"
)

var (
	updateTx = flag.Bool("update-tx", false, "rewrite testdata/tx-tests-passing.txt and testdata/tx-tests-report.md from this run of the terminology test suite")
	txFilter = flag.String("tx-filter", "", "run only the tx-tests whose suite/test name contains this text (no regression check)")
	txShow   = flag.Bool("tx-show", false, "with -tx-filter: log the request and the actual response of failing tests")
)

const (
	txPassingFile = "testdata/tx-tests-passing.txt"
	txReportFile  = "testdata/tx-tests-report.md"
)

// txSuiteNA are the suites outside the service's scope, with the reason.
// Suites in tx.fhir.org mode are not applicable too (txNotApplicable).
var txSuiteNA = map[string]string{
	"metadata":                 "CapabilityStatement and TerminologyCapabilities belong to the HTTP server, not the service",
	"extensions":               "R5 extensions (itemWeight, label, conceptOrder) and CodeSystem supplements",
	"snomed":                   "SNOMED CT",
	"sct-ecl":                  "SNOMED CT (ECL)",
	"omop":                     "OMOP",
	"icd-11":                   "ICD-11",
	"UCUM":                     "UCUM",
	"batch":                    "batch validation",
	"compare":                  "$compare / related (candidate operation, not R4)",
	"related2":                 "$compare / related (candidate operation, not R4)",
	"default-valueset-version": "the default-valueset-version parameter (tx ecosystem, not R4)",
}

// txParamNA are request parameters whose tests are not applicable: R5 or
// tx-ecosystem parameters that R4's operations do not define. (The
// version parameters system-version, check-system-version and
// force-system-version are R4 $expand parameters; the suite uses them on
// $validate-code too, and so does the harness.)
var txParamNA = map[string]string{
	"useSupplement":              "R5 parameter useSupplement (CodeSystem supplements)",
	"inferSystem":                "R5 parameter inferSystem",
	"default-valueset-version":   "tx-ecosystem parameter default-valueset-version",
	"default-to-latest-version":  "R5 parameter default-to-latest-version",
	"lenient-display-validation": "tx-ecosystem parameter lenient-display-validation",
	"valueset-membership-only":   "tx-ecosystem parameter valueset-membership-only",
	"profile-url":                "tx-ecosystem parameter profile-url",
	"limit":                      "tx.fhir.org parameter limit",
	"_limit":                     "tx.fhir.org parameter _limit",
	"allowMaximumSizeExpansion":  "tx.fhir.org parameter allowMaximumSizeExpansion",
}

// txTestNA are single tests outside the service's scope, by suite/test.
var txTestNA = map[string]string{
	"simple-cases/simple-expand-child-of": "R5 filter operator child-of",
}

// txSeedSuites are the suites whose value sets use the FHIR R4 base code
// systems (administrative-gender...), which terminology.LoadSeed adds.
var txSeedSuites = map[string]bool{"exclude": true}

// txOperations maps the suite's operation names to Invoke's type and
// operation.
var txOperations = map[string]struct {
	typ fhir.ResourceType
	op  string
}{
	"expand":           {"ValueSet", "expand"},
	"validate-code":    {"ValueSet", "validate-code"},
	"cs-validate-code": {"CodeSystem", "validate-code"},
	"lookup":           {"CodeSystem", "lookup"},
	"subsumes":         {"CodeSystem", "subsumes"},
	"translate":        {"ConceptMap", "translate"},
}

// test-cases.json
type txCases struct {
	Suites []txSuite `json:"suites"`
}

type txSuite struct {
	Name  string   `json:"name"`
	Mode  string   `json:"mode"`
	Setup []string `json:"setup"`
	Tests []txTest `json:"tests"`
}

type txTest struct {
	Name           string          `json:"name"`
	Operation      string          `json:"operation"`
	Request        string          `json:"request"`
	Response       string          `json:"response"`
	ResponseFlat   string          `json:"response:flat"`
	Response2      string          `json:"response2"`
	HTTPCode       string          `json:"http-code"`
	Profile        string          `json:"profile"`
	Mode           string          `json:"mode"`
	AcceptLanguage string          `json:"Accept-Language"`
	Header         json.RawMessage `json:"header"`
}

type txStatus int

const (
	txPass txStatus = iota
	txFail
	txNA
)

type txResult struct {
	suite, name string // name is unique in the suite (a repeated name gets #2)
	status      txStatus
	reason      string // why it failed, or why it is not applicable
}

func (r txResult) key() string { return r.suite + "/" + r.name }

func TestTxTests(t *testing.T) {
	shared, err := gendata.SharedDir(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(shared, "terminology", "tx-tests")
	data, err := os.ReadFile(filepath.Join(dir, "test-cases.json"))
	if err != nil {
		t.Skipf("the FHIR terminology test suite is not available (%v): put fhir-tx-ecosystem-ig's tx-tests in %s", err, dir)
	}
	var cases txCases
	if err := json.Unmarshal(stripBOM(data), &cases); err != nil {
		t.Fatalf("test-cases.json: %v", err)
	}
	r := &txRunner{dir: dir}
	var results []txResult
	for _, s := range cases.Suites {
		results = append(results, r.runSuite(s)...)
	}
	// Totals per suite and overall, and the failures.
	for _, x := range results {
		if x.status == txFail {
			t.Logf("FAIL %s: %s", x.key(), x.reason)
		}
	}
	rows, total := txTotals(results)
	for _, row := range rows {
		t.Logf("%-26s %4d passed %4d failed %4d n.a.", row.suite, row.n[txPass], row.n[txFail], row.n[txNA])
	}
	t.Logf("%-26s %4d passed %4d failed %4d n.a.", "TOTAL", total[txPass], total[txFail], total[txNA])

	if *txFilter != "" {
		if *updateTx {
			t.Error("-update-tx needs the whole suite: drop -tx-filter")
		}
		return
	}
	if *updateTx {
		var passing []string
		for _, x := range results {
			if x.status == txPass {
				passing = append(passing, x.key())
			}
		}
		sort.Strings(passing)
		if err := os.MkdirAll(filepath.Dir(txPassingFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(txPassingFile, []byte(strings.Join(passing, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(txReportFile, txReport(results), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d tests) and %s", txPassingFile, len(passing), txReportFile)
		return
	}

	// No regression: every test listed as passing must still pass.
	listed, err := os.ReadFile(txPassingFile)
	if err != nil {
		t.Fatalf("%v: run go test ./terminology -run TxTests -args -update-tx", err)
	}
	byKey := map[string]txResult{}
	for _, x := range results {
		byKey[x.key()] = x
	}
	for _, name := range strings.Fields(string(listed)) {
		x, ok := byKey[name]
		switch {
		case !ok:
			t.Errorf("%s is listed in %s but is not in the suite any more (rerun with -update-tx)", name, txPassingFile)
		case x.status == txNA:
			t.Errorf("%s is listed in %s but is now not applicable: %s", name, txPassingFile, x.reason)
		case x.status == txFail:
			t.Errorf("regression: %s passed before and fails now: %s", name, x.reason)
		}
	}
}

// txRunner runs the tests of the folder dir.
type txRunner struct {
	dir string
}

func (r *txRunner) read(name string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(name)))
	return stripBOM(data), err
}

// readObject reads a JSON file as a generic object.
func (r *txRunner) readObject(name string) (jobj, error) {
	data, err := r.read(name)
	if err != nil {
		return nil, err
	}
	var o jobj
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return o, nil
}

// service returns a Service holding the suite's setup and extra, the
// resources of a request's tx-resource parameters.
func (r *txRunner) service(s txSuite, extra []jobj) (*terminology.Service, error) {
	svc := terminology.New()
	if txSeedSuites[s.Name] {
		if err := loadFHIRSeed(svc); err != nil {
			return nil, err
		}
	}
	var resources []jobj
	for _, name := range s.Setup {
		o, err := r.readObject(name)
		if err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
		resources = append(resources, o)
	}
	// The service, as FHIR, identifies a resource by its url and version:
	// where the setup repeats one (the translate suite has two
	// ConceptMaps .../full|0.1.0), the first is kept, not the last; the
	// request's own resources come first.
	seen := map[string]bool{}
	for _, o := range append(extra, resources...) {
		canon := fmt.Sprint(o["resourceType"], o["url"], "|", o["version"])
		if seen[canon] {
			continue
		}
		seen[canon] = true
		if o["resourceType"] == "ConceptMap" {
			o = r5to4ConceptMap(o)
		}
		data, _ := json.Marshal(o)
		if err := svc.LoadJSON(bytes.NewReader(data), false); err != nil {
			return nil, fmt.Errorf("setup %v/%v: %w", o["resourceType"], o["id"], err)
		}
	}
	return svc, nil
}

// loadFHIRSeed adds the FHIR R4 part of the seed (seed/fhir-*.json.gz,
// what the suites use) to svc; the whole seed, with the CPMS
// terminologies, takes seconds to load.
func loadFHIRSeed(svc *terminology.Service) error {
	names, _ := filepath.Glob(filepath.Join("seed", "fhir-*.json.gz"))
	if len(names) == 0 {
		return terminology.LoadSeed(svc)
	}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err == nil {
			err = svc.LoadJSON(bytes.NewReader(data), true)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// addForTest adds resources to svc and returns the function that
// removes them, unless one has the canonical url (and version) of a
// resource svc holds.
func addForTest(svc *terminology.Service, resources []jobj) (undo func(), ok bool) {
	for _, o := range resources {
		url, _ := o["url"].(string)
		version, _ := o["version"].(string)
		switch o["resourceType"] {
		case "CodeSystem":
			if _, found := svc.System(url, version); found {
				return nil, false
			}
		case "ValueSet":
			if _, found := svc.ValueSet(url, version); found {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	var added []func()
	undo = func() {
		for _, f := range added {
			f()
		}
	}
	for i, o := range resources {
		typ, id := fhir.ResourceType(fmt.Sprint(o["resourceType"])), fhir.ID("tx-resource-"+strconv.Itoa(i))
		data, _ := json.Marshal(o)
		if err := svc.Stored(typ, id, data); err != nil {
			undo()
			return nil, false
		}
		added = append(added, func() { svc.Deleted(typ, id) })
	}
	return undo, true
}

func (r *txRunner) runSuite(s txSuite) []txResult {
	var out []txResult
	seen := map[string]int{}
	var svc *terminology.Service
	var setupErr error
	for _, t := range s.Tests {
		seen[t.Name]++
		name := t.Name
		if n := seen[t.Name]; n > 1 {
			name += "#" + strconv.Itoa(n)
		}
		res := txResult{suite: s.Name, name: name}
		if !strings.Contains(res.key(), *txFilter) {
			continue
		}
		req, na, err := r.request(s, t)
		switch {
		case err != nil:
			res.status, res.reason = txFail, err.Error()
		case na != "":
			res.status, res.reason = txNA, na
		default:
			if svc == nil && setupErr == nil {
				svc, setupErr = r.service(s, nil)
			}
			use, err := svc, setupErr
			if extra := takeParams(req, "tx-resource"); len(extra) > 0 && err == nil {
				var resources []jobj
				for _, p := range extra {
					if o, ok := p["resource"].(jobj); ok {
						resources = append(resources, o)
					}
				}
				// Resources passed with the request are added to the
				// suite's Service for the test, or, where one would replace
				// a setup resource, go in a Service of their own.
				if undo, ok := addForTest(svc, resources); ok {
					res.status, res.reason = r.run(svc, t, req)
					undo()
					break
				}
				use, err = r.service(s, resources)
			}
			if err != nil {
				res.status, res.reason = txFail, err.Error()
				break
			}
			res.status, res.reason = r.run(use, t, req)
		}
		out = append(out, res)
	}
	return out
}

// request reads a test's request (with its profile's parameters), or
// says why the test is not applicable.
func (r *txRunner) request(s txSuite, t txTest) (req jobj, na string, err error) {
	if na := txNotApplicable(s, t); na != "" {
		return nil, na, nil
	}
	req, err = r.readObject(t.Request)
	if err != nil {
		return nil, "", err
	}
	if t.Profile != "" {
		prof, err := r.readObject(t.Profile)
		if err != nil {
			return nil, "", err
		}
		for _, p := range objects(prof["parameter"]) {
			if p["name"] != "uuid" { // the runner's cache key
				req["parameter"] = append(objectsAny(req["parameter"]), p)
			}
		}
	}
	for _, p := range objects(req["parameter"]) {
		name, _ := p["name"].(string)
		if why, ok := txParamNA[name]; ok {
			return nil, why, nil
		}
		if name == "property" && t.Operation == "expand" {
			return nil, "R5 $expand parameter property", nil
		}
	}
	if t.Operation == "translate" {
		r5to4Translate(req)
	}
	return req, "", nil
}

// txNotApplicable says why a test is outside the service's scope, or "".
func txNotApplicable(s txSuite, t txTest) string {
	if why, ok := txSuiteNA[s.Name]; ok {
		return why
	}
	if why, ok := txTestNA[s.Name+"/"+t.Name]; ok {
		return why
	}
	switch {
	case s.Mode != "" && s.Mode != "general":
		return "suite for " + s.Mode + " only"
	case t.Mode != "" && t.Mode != "general" && t.Mode != "flat":
		return "test for " + t.Mode + " only"
	}
	if _, ok := txOperations[t.Operation]; !ok {
		return "operation " + t.Operation + " is not an R4 terminology operation"
	}
	if t.AcceptLanguage != "" {
		return "Accept-Language header (the service is called in process, without HTTP headers)"
	}
	if len(t.Header) > 0 {
		var h struct{ Name string }
		json.Unmarshal(t.Header, &h)
		return "server-specific HTTP header " + h.Name
	}
	return ""
}

// run invokes the operation and compares the answer with the expected
// response (or, for the regex-bad tests, the alternative response2).
func (r *txRunner) run(svc *terminology.Service, t txTest, req jobj) (txStatus, string) {
	body, _ := json.Marshal(req)
	in, err := terminology.ParseInput(nil, body)
	if err != nil {
		return txFail, "request: " + err.Error()
	}
	op := txOperations[t.Operation]
	got, opErr := svc.Invoke(op.typ, op.op, nil, in)
	var actual jobj
	if opErr == nil {
		data, err := json.Marshal(got)
		if err != nil {
			return txFail, "response: " + err.Error()
		}
		json.Unmarshal(data, &actual)
	}
	// A flat server (one that does not nest contains) uses response:flat
	// (when the file exists: a few tests name one that does not).
	responses := []string{t.Response}
	if _, err := os.Stat(filepath.Join(r.dir, filepath.FromSlash(t.ResponseFlat))); t.ResponseFlat != "" && err == nil {
		responses[0] = t.ResponseFlat
	}
	if t.Response2 != "" {
		responses = append(responses, t.Response2)
	}
	var problems []string
	for _, name := range responses {
		expected, err := r.readObject(name)
		if err != nil {
			return txFail, err.Error()
		}
		problems = compareResponse(t, expected, actual, opErr)
		if len(problems) == 0 {
			return txPass, ""
		}
	}
	reason := strings.Join(problems, "; ")
	if *txShow {
		shown, _ := json.MarshalIndent(got, "", "  ")
		if opErr != nil {
			shown = []byte(opErr.Error())
		}
		reason += "\nrequest: " + string(body) + "\nresponse: " + string(shown)
	}
	return txFail, reason
}

// ---------------------------------------------------------------------
// Comparison. The expected responses are complete resources written by
// tx.fhir.org, with control words: "$optional$" marks an element that
// may be absent, "$optional-properties$" lists properties of an object
// that may be absent, "$count-arrays$" lists arrays whose length alone
// counts, and values such as "$uuid$" or "$instant$" stand for any value.
// Messages differ between servers and are never compared. The checks
// below are deliberately narrower than the Java runner's: each is what
// the operation is about.

type jobj = map[string]any

// compareResponse returns what differs between the expected response
// and the actual one (actual, or opErr when the operation failed).
func compareResponse(t txTest, expected, actual jobj, opErr error) []string {
	wantError := strings.HasPrefix(t.HTTPCode, "4") || expected["resourceType"] == "OperationOutcome"
	switch {
	case wantError && opErr == nil:
		return []string{"expected an error (OperationOutcome), got a " + fmt.Sprint(actual["resourceType"])}
	case wantError:
		return compareError(expected, opErr)
	case opErr != nil:
		return []string{"unexpected error: " + opErr.Error()}
	}
	switch t.Operation {
	case "expand":
		return compareExpand(expected, actual)
	case "validate-code", "cs-validate-code":
		return compareValidate(expected, actual)
	case "lookup":
		return compareLookup(expected, actual)
	case "translate":
		return compareTranslate(expected, actual)
	}
	return []string{"no comparison for " + t.Operation}
}

// compareError: an expected error needs an error (a *fhir.Error); when
// the expected OperationOutcome gives an issue code, the first error
// issue of both must have the same code.
func compareError(expected jobj, opErr error) []string {
	var fe *fhir.Error
	if !errors.As(opErr, &fe) {
		return []string{"the error is not a *fhir.Error: " + opErr.Error()}
	}
	if expected["resourceType"] != "OperationOutcome" {
		return nil
	}
	var want string
	for _, is := range objects(expected["issue"]) {
		if is["severity"] == "error" || is["severity"] == "fatal" {
			want, _ = is["code"].(string)
			break
		}
	}
	if want == "" {
		return nil
	}
	var got fhir.IssueType
	for _, is := range fe.Issues {
		if is.Severity == fhir.SeverityError || is.Severity == fhir.SeverityFatal {
			got = is.Code
			break
		}
	}
	if string(got) != want {
		return []string{fmt.Sprintf("error issue code %q, expected %q (%s)", got, want, opErr.Error())}
	}
	return nil
}

// compareExpand compares the codes of the expansion: the set of
// (system, code) in expansion.contains, nested or not, ignoring order
// (contains the expected marks optional may be missing), with the
// display and version of each when the expected gives them; the total
// when the expected gives it; only the number of codes when contains is
// one of the expansion's $count-arrays$ (a page of a big value set,
// which depends on the server's order).
func compareExpand(expected, actual jobj) []string {
	var problems []string
	if actual["resourceType"] != "ValueSet" {
		return []string{fmt.Sprintf("expected a ValueSet, got %v", actual["resourceType"])}
	}
	wantExp, _ := expected["expansion"].(jobj)
	gotExp, _ := actual["expansion"].(jobj)
	if wantExp == nil {
		return nil
	}
	if gotExp == nil {
		return []string{"the ValueSet has no expansion"}
	}
	if want, ok := wantExp["total"]; ok && !optionalProperty(wantExp, "total") {
		if got, ok := gotExp["total"]; !ok || !sameValue(want, got) {
			problems = append(problems, fmt.Sprintf("total %v, expected %v", got, want))
		}
	}
	want, got := flatContains(wantExp["contains"]), flatContains(gotExp["contains"])
	if slices.Contains(strings2(wantExp["$count-arrays$"]), "contains") {
		required := len(slices.DeleteFunc(slices.Clone(want), isOptional))
		if len(got) < required || len(got) > len(want) {
			problems = append(problems, fmt.Sprintf("%d codes, expected %d", len(got), len(want)))
		}
		return problems
	}
	// Match the expected entries that name a version first, so that an
	// entry without one does not take the versioned entry's match.
	slices.SortStableFunc(want, func(a, b jobj) int {
		return boolInt(a["version"] == nil) - boolInt(b["version"] == nil)
	})
	used := make([]bool, len(got))
	var missing []string
	for _, w := range want {
		j := slices.IndexFunc(got, func(g jobj) bool {
			return w["system"] == g["system"] && w["code"] == g["code"] &&
				(w["version"] == nil || optionalProperty(w, "version") || sameValue(w["version"], g["version"]))
		})
		for j >= 0 && used[j] {
			k := slices.IndexFunc(got[j+1:], func(g jobj) bool {
				return w["system"] == g["system"] && w["code"] == g["code"] &&
					(w["version"] == nil || optionalProperty(w, "version") || sameValue(w["version"], g["version"]))
			})
			if k < 0 {
				j = -1
			} else {
				j += 1 + k
			}
		}
		if j < 0 {
			if !isOptional(w) {
				missing = append(missing, codeKey(w))
			}
			continue
		}
		used[j] = true
		if d, ok := w["display"]; ok && !optionalProperty(w, "display") && !sameValue(d, got[j]["display"]) {
			problems = append(problems, fmt.Sprintf("display of %s %q, expected %q", codeKey(w), got[j]["display"], d))
		}
	}
	var extra []string
	for j, g := range got {
		if !used[j] {
			extra = append(extra, codeKey(g))
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "missing "+listSome(missing))
	}
	if len(extra) > 0 {
		problems = append(problems, "unexpected "+listSome(extra))
	}
	return problems
}

// compareValidate compares result, and code, system, version and
// display when the expected response gives them (not the message nor
// the issues, which are server-specific).
func compareValidate(expected, actual jobj) []string {
	return compareParams(expected, actual, "result", "code", "system", "version", "display")
}

// compareLookup compares name, version and display, and requires each
// property (code and value) the expected response gives.
func compareLookup(expected, actual jobj) []string {
	problems := compareParams(expected, actual, "name", "version", "display")
	for _, p := range objects(expected["parameter"]) {
		if p["name"] != "property" || isOptional(p) {
			continue
		}
		code, value := partValue(p, "code"), partValue(p, "value")
		found := slices.ContainsFunc(objects(actual["parameter"]), func(a jobj) bool {
			return a["name"] == "property" && sameValue(partValue(a, "code"), code) &&
				(value == nil || sameValue(partValue(a, "value"), value))
		})
		if !found {
			problems = append(problems, fmt.Sprintf("missing property %v = %v", code, value))
		}
	}
	return problems
}

// compareTranslate compares result and requires, for each match of the
// expected response, a match with the same concept (system and code) and
// the same equivalence when the expected gives it. The requests are R5's;
// a reverse translation (targetCode) answers in R4 with the source
// concept, which the R5 response gives as the match's source part.
func compareTranslate(expected, actual jobj) []string {
	problems := compareParams(expected, actual, "result")
	for _, m := range objects(expected["parameter"]) {
		if m["name"] != "match" || isOptional(m) {
			continue
		}
		want, _ := partValue(m, "concept").(jobj)
		if src, ok := partValue(m, "source").(jobj); ok {
			want = src
		}
		eq := partValue(m, "equivalence")
		found := slices.ContainsFunc(objects(actual["parameter"]), func(a jobj) bool {
			got, _ := partValue(a, "concept").(jobj)
			return a["name"] == "match" && got != nil && want != nil &&
				got["system"] == want["system"] && got["code"] == want["code"] &&
				(eq == nil || sameValue(partValue(a, "equivalence"), eq))
		})
		if !found {
			problems = append(problems, fmt.Sprintf("missing match %v#%v (%v)", want["system"], want["code"], eq))
		}
	}
	return problems
}

// compareParams compares the named parameters the expected Parameters
// gives (and does not mark optional) with the actual ones.
func compareParams(expected, actual jobj, names ...string) []string {
	var problems []string
	for _, name := range names {
		for _, p := range objects(expected["parameter"]) {
			if p["name"] != name || isOptional(p) {
				continue
			}
			want := paramValue(p)
			i := slices.IndexFunc(objects(actual["parameter"]), func(a jobj) bool { return a["name"] == name })
			if i < 0 {
				problems = append(problems, fmt.Sprintf("no %s, expected %v", name, want))
			} else if got := paramValue(objects(actual["parameter"])[i]); !sameValue(want, got) {
				problems = append(problems, fmt.Sprintf("%s %v, expected %v", name, got, want))
			}
			break
		}
	}
	return problems
}

// isOptional reads "$optional$": true, or a condition under which the
// element is optional: "version:4" (an R4 server, as this one),
// "version:5", "tx.fhir.org", "!tx.fhir.org" (any server but
// tx.fhir.org, as this one), "warning:version" (a runner mode, taken as
// optional).
func isOptional(o jobj) bool {
	switch v := o["$optional$"].(type) {
	case bool:
		return v
	case string:
		if strings.HasPrefix(v, "version:") {
			return v == "version:4"
		}
		return v != "tx.fhir.org"
	}
	return false
}

// optionalProperty reads "$optional-properties$".
func optionalProperty(o jobj, name string) bool {
	return slices.Contains(strings2(o["$optional-properties$"]), name)
}

// sameValue compares two JSON values; an expected "$word$" (a uuid, an
// instant, a version...) matches any value.
func sameValue(want, got any) bool {
	if s, ok := want.(string); ok && len(s) > 2 && strings.HasPrefix(s, "$") && strings.HasSuffix(s, "$") {
		return got != nil
	}
	return fmt.Sprint(want) == fmt.Sprint(got)
}

// paramValue returns the value[x] of a parameter (or part).
func paramValue(p jobj) any {
	for k, v := range p {
		if strings.HasPrefix(k, "value") {
			return v
		}
	}
	return nil
}

// partValue returns the value of the part named name of p.
func partValue(p jobj, name string) any {
	for _, part := range objects(p["part"]) {
		if part["name"] == name {
			return paramValue(part)
		}
	}
	return nil
}

// flatContains lists the entries of contains and of their nested
// contains.
func flatContains(v any) []jobj {
	var out []jobj
	for _, c := range objects(v) {
		if c["code"] != nil {
			out = append(out, c)
		}
		out = append(out, flatContains(c["contains"])...)
	}
	return out
}

func codeKey(c jobj) string {
	k := fmt.Sprintf("%v#%v", c["system"], c["code"])
	if v, ok := c["version"]; ok {
		k += fmt.Sprintf("|%v", v)
	}
	return k
}

// listSome lists up to five items.
func listSome(items []string) string {
	if len(items) > 5 {
		return strings.Join(items[:5], ", ") + fmt.Sprintf(" and %d more", len(items)-5)
	}
	return strings.Join(items, ", ")
}

func objects(v any) []jobj {
	var out []jobj
	for _, x := range objectsAny(v) {
		if o, ok := x.(jobj); ok {
			out = append(out, o)
		}
	}
	return out
}

func objectsAny(v any) []any {
	a, _ := v.([]any)
	return a
}

func strings2(v any) []string {
	var out []string
	for _, x := range objectsAny(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// takeParams removes the parameters named name from req and returns
// them.
func takeParams(req jobj, name string) []jobj {
	var taken []jobj
	var kept []any
	for _, p := range objectsAny(req["parameter"]) {
		if o, ok := p.(jobj); ok && o["name"] == name {
			taken = append(taken, o)
			continue
		}
		kept = append(kept, p)
	}
	req["parameter"] = kept
	return taken
}

func stripBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }

// ---------------------------------------------------------------------
// R5 to R4.

// r5to4ConceptMap rewrites the R5 elements of a ConceptMap the service
// reads: relationship becomes equivalence, the scopes source and target.
func r5to4ConceptMap(cm jobj) jobj {
	for r5, r4 := range map[string]string{"sourceScopeUri": "sourceUri", "sourceScopeCanonical": "sourceCanonical",
		"targetScopeUri": "targetUri", "targetScopeCanonical": "targetCanonical"} {
		if v, ok := cm[r5]; ok {
			cm[r4] = v
			delete(cm, r5)
		}
	}
	equivalence := map[string]string{"related-to": "relatedto", "equivalent": "equivalent",
		"source-is-narrower-than-target": "wider", "source-is-broader-than-target": "narrower", "not-related-to": "disjoint"}
	for _, g := range objects(cm["group"]) {
		for _, e := range objects(g["element"]) {
			for _, tg := range objects(e["target"]) {
				if rel, ok := tg["relationship"].(string); ok {
					tg["equivalence"] = equivalence[rel]
					delete(tg, "relationship")
				}
			}
		}
	}
	return cm
}

// r5to4Translate renames the R5 $translate parameters to R4's. An R5
// targetCode asks for the source codes mapped to it: R4's reverse.
func r5to4Translate(req jobj) {
	params := objects(req["parameter"])
	get := func(name string) jobj {
		for _, p := range params {
			if p["name"] == name {
				return p
			}
		}
		return nil
	}
	if tc := get("targetCode"); tc != nil {
		tc["name"] = "code"
		if ts := get("targetSystem"); ts != nil {
			ts["name"] = "system"
		}
		if ss := get("sourceSystem"); ss != nil {
			ss["name"] = "targetsystem"
		}
		req["parameter"] = append(objectsAny(req["parameter"]), jobj{"name": "reverse", "valueBoolean": true})
		return
	}
	for _, p := range params {
		switch p["name"] {
		case "sourceSystem":
			p["name"] = "system"
		case "sourceCode":
			p["name"] = "code"
		case "sourceCoding":
			p["name"] = "coding"
		case "targetSystem":
			p["name"] = "targetsystem"
		}
	}
}

// ---------------------------------------------------------------------
// Report.

type txRow struct {
	suite string
	n     [3]int
}

func txTotals(results []txResult) ([]txRow, [3]int) {
	var rows []txRow
	var total [3]int
	for _, x := range results {
		if len(rows) == 0 || rows[len(rows)-1].suite != x.suite {
			rows = append(rows, txRow{suite: x.suite})
		}
		rows[len(rows)-1].n[x.status]++
		total[x.status]++
	}
	return rows, total
}

// txReport renders the summary: a table per suite, the reasons tests are
// not applicable, and the failures.
func txReport(results []txResult) []byte {
	var b strings.Builder
	rows, total := txTotals(results)
	b.WriteString("# FHIR terminology test suite (tx-tests)\n\n")
	b.WriteString("Written by `go test ./terminology -run TxTests -args -update-tx` (see txtests_test.go).\n\n")
	b.WriteString("| suite | passed | failed | n.a. |\n|---|---:|---:|---:|\n")
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", row.suite, row.n[txPass], row.n[txFail], row.n[txNA])
	}
	fmt.Fprintf(&b, "| **total** | **%d** | **%d** | **%d** |\n\n", total[txPass], total[txFail], total[txNA])

	b.WriteString("## Not applicable\n\n| reason | tests |\n|---|---:|\n")
	reasons := map[string]int{}
	for _, x := range results {
		if x.status == txNA {
			reasons[x.reason]++
		}
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if reasons[keys[i]] != reasons[keys[j]] {
			return reasons[keys[i]] > reasons[keys[j]]
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %d |\n", strings.ReplaceAll(k, "|", "\\|"), reasons[k])
	}

	b.WriteString("\n## Failures\n\n")
	for _, x := range results {
		if x.status == txFail {
			fmt.Fprintf(&b, "- `%s`: %s\n", x.key(), strings.ReplaceAll(x.reason, "\n", " "))
		}
	}
	return []byte(b.String())
}
