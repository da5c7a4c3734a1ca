package validate

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	rpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"

	"github.com/cpms-fhir/cpms/fhir"
)

// maxNesting bounds the depth of elements in a resource; Questionnaire
// items nest deeply, hostile input deeper.
const maxNesting = 128

// Validator validates resource JSON. It is safe for concurrent use.
type Validator struct {
	u     *jsonformat.Unmarshaller
	proof *prover
}

// New returns a Validator for FHIR R4.
func New() (*Validator, error) {
	u, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	u.MaxNestingDepth = maxNesting
	v := &Validator{u: u, proof: newProver()}
	// The parser builds its descriptor tables on first use; do it now
	// rather than in the first request.
	v.unmarshal([]byte(`{"resourceType":"Patient"}`))
	return v, nil
}

// Validate checks body, the JSON of one resource. It returns nil if the
// resource is valid, or a *fhir.Error listing every issue found, sorted by
// location. A resource the proof (proof.go) shows valid is not parsed
// again; any other is validated by google/fhir/go's unmarshaller.
func (v *Validator) Validate(body []byte) error {
	if v.proof.proven(body) {
		return nil
	}
	return v.unmarshal(body)
}

// unmarshal validates body with google/fhir/go's unmarshaller.
func (v *Validator) unmarshal(body []byte) error {
	if bytes.Contains(body, []byte("null")) {
		body = alignNulls(body)
	}
	var rep reporter
	_, err := v.u.UnmarshalWithErrorReporter(body, &rep)
	if err != nil {
		issues, ok := parseIssues(err)
		if !ok {
			return fhir.Internal("the resource could not be validated", err)
		}
		issues = append(issues, v.afterParse(body, issues)...)
		sortIssues(issues)
		return &fhir.Error{Kind: fhir.KindInvalid, Issues: issues}
	}
	rep.issues = append(rep.issues, v.containedIssues(body)...)
	if !fhir.HasErrors(rep.issues) {
		return nil
	}
	sortIssues(rep.issues)
	return &fhir.Error{Kind: fhir.KindUnprocessable, Issues: rep.issues}
}

// containedIssues returns the rule issues of the contained resources of
// body, which parsed. google/fhir/go parses them into a protocol buffer
// Any, which its validation phase does not enter: their required
// elements, reference types and formats of ids and codes went unchecked.
// Each is validated as a resource of its own, its issues located in the
// container ("Patient.contained[0].status").
func (v *Validator) containedIssues(body []byte) []fhir.Issue {
	if !bytes.Contains(body, []byte(`"contained"`)) {
		return nil
	}
	var head struct {
		ResourceType string            `json:"resourceType"`
		Contained    []json.RawMessage `json:"contained"`
	}
	if json.Unmarshal(body, &head) != nil {
		return nil
	}
	var out []fhir.Issue
	for i, c := range head.Contained {
		var rep reporter
		if _, err := v.u.UnmarshalWithErrorReporter(c, &rep); err != nil {
			continue // parsed as part of body, it cannot fail alone
		}
		at := head.ResourceType + ".contained[" + strconv.Itoa(i) + "]"
		for _, is := range rep.issues {
			for j, x := range is.Expression {
				if _, rest, ok := strings.Cut(x, "."); ok {
					is.Expression[j] = at + "." + rest
				} else {
					is.Expression[j] = at
				}
			}
			out = append(out, is)
		}
	}
	return out
}

// afterParse returns the issues the validation phase finds in a resource
// whose parse failed with issues, which google/fhir/go reports without
// going on to that phase (required elements, reference types): those of
// the resource without the elements the parse refused, save those the
// removal causes (a required element removed is not missing). The list
// of a refused write so names every problem at once.
func (v *Validator) afterParse(body []byte, issues []fhir.Issue) []fhir.Issue {
	var paths []string
	for _, is := range issues {
		paths = append(paths, is.Expression...)
	}
	repaired, ok := removePaths(body, paths)
	if !ok {
		return nil
	}
	var rep reporter
	if _, err := v.u.UnmarshalWithErrorReporter(repaired, &rep); err != nil {
		return nil // more than the elements' own values is wrong
	}
	rep.issues = append(rep.issues, v.containedIssues(repaired)...)
	var out []fhir.Issue
	for _, is := range rep.issues {
		caused := slices.ContainsFunc(is.Expression, func(x string) bool {
			return slices.ContainsFunc(paths, func(p string) bool {
				return x == p || strings.HasPrefix(x, p+".") || strings.HasPrefix(x, p+"[")
			})
		})
		if !caused {
			out = append(out, is)
		}
	}
	return out
}

// pathStep matches a step of a parse issue's location: an element's JSON
// name, with an index into its array.
var pathStep = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$`)

// removePaths returns body without the elements at paths, locations of
// parse issues ("Patient.name[0].family", "Observation.value" for every
// value[x], "Patient.contained[0].Observation.status" through a contained
// resource's type); an element in an array takes its whole array. ok is
// false when body cannot be read or no path was found.
func removePaths(body []byte, paths []string) ([]byte, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var root map[string]any
	if d.Decode(&root) != nil {
		return nil, false
	}
	removed := false
	for _, p := range paths {
		steps := strings.Split(p, ".")
		if len(steps) < 2 {
			continue
		}
		at := root
		for i, step := range steps[1:] {
			m := pathStep.FindStringSubmatch(step)
			if m == nil {
				break
			}
			if i == len(steps)-2 {
				removed = removeMember(at, m[1]) || removed
				break
			}
			next, ok := at[m[1]]
			if !ok && step[0] >= 'A' && step[0] <= 'Z' {
				continue // a contained resource's type
			}
			if m[2] != "" {
				list, _ := next.([]any)
				n, _ := strconv.Atoi(m[2])
				if n >= len(list) {
					break
				}
				next = list[n]
			}
			obj, ok := next.(map[string]any)
			if !ok {
				break
			}
			at = obj
		}
	}
	if !removed {
		return nil, false
	}
	out, err := json.Marshal(root)
	return out, err == nil
}

// removeMember removes element name from obj with its primitive
// extension (_name); a choice element's name removes each of its types
// (value: valueQuantity, valueString...).
func removeMember(obj map[string]any, name string) bool {
	found := false
	for k := range obj {
		base := strings.TrimPrefix(k, "_")
		if base == name || strings.HasPrefix(base, name) && len(base) > len(name) && base[len(name)] >= 'A' && base[len(name)] <= 'Z' {
			delete(obj, k)
			found = true
		}
	}
	return found
}

// alignNulls rewrites null items of arrays as empty objects. FHIR JSON
// pads an array of primitive values and the array of their extensions with
// null where one side has nothing ("given":["a","b"],"_given":[null,{...}]);
// the google/fhir/go parser refuses null there but reads {} as "no value,
// no extension", which is the same thing. Null elsewhere is refused before
// validation (fhir.Prepare).
func alignNulls(b []byte) []byte {
	out := make([]byte, 0, len(b)+16)
	var prev byte // last byte outside strings and whitespace
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			j := i + 1
			for ; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			out = append(out, b[i:min(j+1, len(b))]...)
			i = j
			prev = '"'
			continue
		case c == 'n' && (prev == '[' || prev == ',') && bytes.HasPrefix(b[i:], []byte("null")):
			out = append(out, '{', '}')
			i += 3
			prev = '}'
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			prev = c
		}
		out = append(out, c)
	}
	return out
}

// reporter collects the issues of the validation phase, which runs after
// the resource parsed.
type reporter struct{ issues []fhir.Issue }

func (r *reporter) ReportValidationError(path string, err error) error {
	r.issues = append(r.issues, ruleIssue(fhir.SeverityError, path, err.Error()))
	return nil
}

func (r *reporter) ReportValidationWarning(path string, err error) error {
	r.issues = append(r.issues, ruleIssue(fhir.SeverityWarning, path, err.Error()))
	return nil
}

var (
	errorAtPrefix  = regexp.MustCompile(`^error at "[^"]*": `)
	missingField   = regexp.MustCompile(`^missing required field "([^"]+)"`)
	multipleValues = regexp.MustCompile(`multiple values for (\w+) field`)
)

// ruleIssue turns a message of the validation phase ("error at "Observation":
// missing required field "status"") into an issue located at the element.
func ruleIssue(sev fhir.Severity, path, msg string) fhir.Issue {
	msg = errorAtPrefix.ReplaceAllString(msg, "")
	is := fhir.Issue{Severity: sev, Code: fhir.IssueValue, Diagnostics: msg, Expression: []string{path}}
	if m := missingField.FindStringSubmatch(msg); m != nil {
		is.Code = fhir.IssueRequired
		is.Expression = []string{joinPath(path, m[1])}
		is.Diagnostics = "the required element " + strconv.Quote(m[1]) + " is missing"
	} else if strings.Contains(msg, "reference") {
		is.Code = fhir.IssueInvalid
	}
	return is
}

// parseIssues reads the parse errors of github.com/google/fhir/go. They are
// values of an internal package (jsonpbhelper.UnmarshalError and
// UnmarshalErrorList), so their exported fields are read by reflection; the
// library version is pinned and a test checks the shape.
func parseIssues(err error) ([]fhir.Issue, bool) {
	v := reflect.ValueOf(err)
	var elems []reflect.Value
	switch {
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			elems = append(elems, v.Index(i))
		}
	case v.Kind() == reflect.Pointer:
		elems = append(elems, v)
	default:
		return nil, false
	}
	var issues []fhir.Issue
	for _, e := range elems {
		if e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		if e.Kind() != reflect.Struct {
			return nil, false
		}
		path, ok1 := stringField(e, "Path")
		details, ok2 := stringField(e, "Details")
		diag, _ := stringField(e, "Diagnostics")
		if !ok1 || !ok2 {
			return nil, false
		}
		issues = append(issues, parseIssue(path, details, diag))
	}
	return issues, len(issues) > 0
}

func stringField(v reflect.Value, name string) (string, bool) {
	f := v.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.String {
		return "", false
	}
	return f.String(), true
}

func parseIssue(path, details, diag string) fhir.Issue {
	is := fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueStructure, Expression: []string{path}}
	switch {
	case details == "unknown field":
		name, err := strconv.Unquote(diag)
		if err != nil {
			name = diag
		}
		is.Expression = []string{joinPath(path, name)}
		is.Diagnostics = "unknown element " + strconv.Quote(name)
	case details == "invalid JSON":
		// The body is JSON (fhir.Prepare read it first): the parser says
		// so of a value of the wrong JSON type, such as an array where a
		// single string goes.
		is.Diagnostics = "the value does not have the JSON type of the element (an array, object, string, number or boolean where another is expected)"
	case strings.Contains(details, "code type mismatch"):
		is.Code = fhir.IssueCodeInvalid
		is.Diagnostics = "the code is not in the required value set"
		if diag != "" {
			is.Diagnostics += ": " + diag
		}
	case strings.HasPrefix(details, "cannot accept multiple values"):
		// "cannot accept multiple values for deceased field": located at
		// the choice element, whichever of its values the parser met
		// second.
		is.Diagnostics = details
		if m := multipleValues.FindStringSubmatch(details); m != nil {
			is.Expression = []string{joinPath(path, m[1])}
			is.Diagnostics = "the choice element " + m[1] + "[x] has more than one value"
		}
	default:
		is.Code = fhir.IssueValue
		is.Diagnostics = details
		if diag != "" {
			is.Diagnostics += " (" + diag + ")"
		}
	}
	if details == "unknown resource type" {
		is.Code = fhir.IssueNotSupported
		is.Expression = []string{"resourceType"}
		is.Diagnostics = "unknown resource type " + diag
	}
	return is
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func sortIssues(issues []fhir.Issue) {
	slices.SortStableFunc(issues, func(a, b fhir.Issue) int {
		return cmp.Compare(strings.Join(a.Expression, ","), strings.Join(b.Expression, ","))
	})
}

var resourceTypes = sync.OnceValue(func() map[fhir.ResourceType]bool {
	types := map[fhir.ResourceType]bool{}
	oneof := (&rpb.ContainedResource{}).ProtoReflect().Descriptor().Oneofs().ByName("oneof_resource")
	for i := range oneof.Fields().Len() {
		if m := oneof.Fields().Get(i).Message(); m != nil {
			types[fhir.ResourceType(m.Name())] = true
		}
	}
	return types
})

// IsResourceType reports whether t names a resource type of FHIR R4.
func IsResourceType(t fhir.ResourceType) bool { return resourceTypes()[t] }

// ResourceTypes returns the resource types of FHIR R4, sorted.
func ResourceTypes() []fhir.ResourceType {
	var out []fhir.ResourceType
	for t := range resourceTypes() {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
