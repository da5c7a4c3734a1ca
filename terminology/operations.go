package terminology

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
)

// Operations lists the operations Invoke answers, by resource type, for
// the CapabilityStatement and the router.
var Operations = map[fhir.ResourceType][]string{
	"CodeSystem": {"lookup", "validate-code", "subsumes"},
	"ValueSet":   {"expand", "validate-code"},
	"ConceptMap": {"translate"},
}

// ResourceTypes are the resource types the service follows in the store.
var ResourceTypes = []fhir.ResourceType{"CodeSystem", "ValueSet", "ConceptMap"}

// IsOperation reports whether $op on type t is a terminology operation.
func IsOperation(t fhir.ResourceType, op string) bool {
	for _, o := range Operations[t] {
		if o == op {
			return true
		}
	}
	return false
}

// Invoke runs $op on type t with input in. instance is the stored
// resource for an instance-level call (CodeSystem/x/$lookup), nil at
// type level. The result is a *ValueSet for $expand and *Parameters
// otherwise.
func (s *Service) Invoke(t fhir.ResourceType, op string, instance []byte, in *Input) (any, error) {
	if dl := in.String("displayLanguage"); dl != "" && !validLanguages(dl) {
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueProcessing,
			Expression: []string{"displayLanguage"}, Diagnostics: "Invalid displayLanguage: '" + dl + "'"}}}
	}
	switch {
	case t == "CodeSystem" && op == "lookup":
		return s.invokeLookup(instance, in)
	case t == "CodeSystem" && op == "validate-code":
		return s.invokeValidateCS(instance, in)
	case t == "CodeSystem" && op == "subsumes":
		return s.invokeSubsumes(instance, in)
	case t == "ValueSet" && op == "expand":
		return s.invokeExpand(instance, in)
	case t == "ValueSet" && op == "validate-code":
		return s.invokeValidateVS(instance, in)
	case t == "ConceptMap" && op == "translate":
		return s.invokeTranslate(instance, in)
	}
	return nil, &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueNotSupported, Diagnostics: "the operation $" + op + " is not defined on " + string(t)}}}
}

// languageTag is a BCP 47 language tag as displayLanguage carries one.
var languageTag = regexp.MustCompile(`^(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$`)

// validLanguages checks a displayLanguage: a tag, or a list of tags with
// weights as in Accept-Language ("fr-FR,en;q=0.5").
func validLanguages(s string) bool {
	for _, part := range strings.Split(s, ",") {
		tag, weight, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !languageTag.MatchString(strings.TrimSpace(tag)) {
			return false
		}
		if weight != "" && !strings.HasPrefix(strings.TrimSpace(weight), "q=") {
			return false
		}
	}
	return true
}

// canonicalOf reads url and version of a stored canonical resource.
func canonicalOf(body []byte) (url, version string) {
	var r struct{ URL, Version string }
	json.Unmarshal(body, &r)
	return r.URL, r.Version
}

// systemAndCode reads the coding an operation is about: system, code and
// version parameters, or a coding parameter.
func systemAndCode(in *Input, instance []byte, systemParam string) (system, version, code, display string, where string) {
	system, version, code, display = in.String(systemParam), in.String("version"), in.String("code"), in.String("display")
	where = "code"
	if c := in.Coding("coding"); c != nil && in.Resource("coding") == nil && code == "" {
		system, code, display, where = c.System, c.Code, c.Display, "coding"
		if c.Version != "" {
			version = c.Version
		}
	}
	if instance != nil {
		system, version = canonicalOf(instance)
	}
	return
}

func (s *Service) invokeLookup(instance []byte, in *Input) (any, error) {
	system, version, code, _, where := systemAndCode(in, instance, "system")
	if code == "" {
		return nil, invalid(where, "the code to look up is missing: give system and code, or coding")
	}
	r, err := s.Lookup(system, version, code, in.String("displayLanguage"), in.Strings("property"))
	if err != nil {
		return nil, err
	}
	out := NewOutput().Str("name", r.Name)
	if r.Version != "" {
		out.Str("version", r.Version)
	}
	out.Str("display", r.Display)
	if r.Definition != "" {
		out.Str("definition", r.Definition)
	}
	if r.Abstract {
		out.Bool("abstract", true)
	}
	for _, d := range r.Designations {
		var parts []Param
		if d.Language != "" {
			l := d.Language
			parts = append(parts, Param{Name: "language", ValueCode: &l})
		}
		if d.Use != nil {
			parts = append(parts, Param{Name: "use", ValueCoding: d.Use})
		}
		v := d.Value
		parts = append(parts, Param{Name: "value", ValueString: &v})
		out.Parts("designation", parts...)
	}
	for _, p := range r.Properties {
		code := p.Code
		value := Param{Name: "value", ValueCode: nilIfEmpty(p.ValueCode), ValueCoding: p.ValueCoding,
			ValueString: nilIfEmpty(p.ValueString), ValueInteger: p.ValueInteger, ValueBoolean: p.ValueBoolean,
			ValueDateTime: nilIfEmpty(p.ValueDateTime), ValueDecimal: p.ValueDecimal}
		out.Parts("property", Param{Name: "code", ValueCode: &code}, value)
	}
	return out.Parameters(), nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// refuseAbstract makes a valid result false when the code is abstract
// (not selectable) and the request says abstract codes are not allowed
// (abstract=false).
func refuseAbstract(v *Validation, in *Input) (*Validation, error) {
	if !in.Has("abstract") || !v.Result || !v.Abstract {
		return v, nil
	}
	allowed, err := in.Bool("abstract")
	if err != nil || allowed {
		return v, err
	}
	out := *v
	msg := "The code '" + v.Code + "' is abstract (not selectable), and abstract codes are not allowed here"
	out.Result, out.Message = false, msg
	out.Issues = append(slices.Clone(v.Issues), issueAt(fhir.SeverityError, fhir.IssueBusinessRule, "code", msg))
	return &out, nil
}

// validationOutput renders a $validate-code result.
func validationOutput(v *Validation) *Parameters {
	out := NewOutput().Bool("result", v.Result)
	if v.Message != "" {
		out.Str("message", v.Message)
	}
	if v.Display != "" {
		out.Str("display", v.Display)
	}
	if v.Code != "" {
		out.Code("code", v.Code)
	}
	if v.System != "" {
		out.URI("system", v.System)
	}
	if v.Version != "" {
		out.Str("version", v.Version)
	}
	if v.Inactive {
		out.Bool("inactive", true)
	}
	if len(v.Issues) > 0 {
		out.Resource("issues", outcomeJSON(v.Issues))
	}
	return out.Parameters()
}

// codingsToCheck reads the codings of a $validate-code request: code
// with system (or url for CodeSystem), a coding, or a codeableConcept.
func codingsToCheck(in *Input, instance []byte, systemParam string) ([]CodingToCheck, error) {
	if cc := in.CodeableConcept("codeableConcept"); cc != nil {
		var out []CodingToCheck
		for i, c := range cc.Coding {
			out = append(out, CodingToCheck{System: c.System, Version: c.Version, Code: c.Code, Display: c.Display,
				Where: "CodeableConcept.coding[" + itoa(int64(i)) + "]"})
		}
		if len(out) == 0 {
			return nil, invalid("codeableConcept", "the codeableConcept has no coding to validate")
		}
		return out, nil
	}
	system, version, code, display, where := systemAndCode(in, instance, systemParam)
	if systemParam == "url" && in.String("system") != "" && instance == nil && in.String("url") == "" {
		system = in.String("system")
	}
	if systemParam == "system" && in.String("systemVersion") != "" {
		version = in.String("systemVersion")
	}
	if code == "" {
		return nil, invalid(where, "the code to validate is missing: give code, coding or codeableConcept")
	}
	loc := "Coding"
	if where == "code" {
		loc = ""
	}
	return []CodingToCheck{{System: system, Version: version, Code: code, Display: display, Where: loc}}, nil
}

func (s *Service) invokeValidateCS(instance []byte, in *Input) (any, error) {
	codings, err := codingsToCheck(in, instance, "url")
	if err != nil {
		return nil, err
	}
	var first *Validation
	for _, c := range codings {
		v, err := s.ValidateCodeInSystem(c, in.String("displayLanguage"))
		if err != nil {
			if fhir.IsKind(err, fhir.KindNotFound) && len(codings) > 1 {
				continue
			}
			return nil, err
		}
		if v.Result {
			v, err := refuseAbstract(v, in)
			if err != nil {
				return nil, err
			}
			return validationOutput(v), nil
		}
		if first == nil {
			first = v
		}
	}
	if first == nil {
		return nil, notFound("codeableConcept", "none of the codings is in a code system known to this server")
	}
	return validationOutput(first), nil
}

func (s *Service) invokeValidateVS(instance []byte, in *Input) (any, error) {
	vs, err := givenValueSet(in, instance)
	if err != nil {
		return nil, err
	}
	codings, err := codingsToCheck(in, nil, "system")
	if err != nil {
		return nil, err
	}
	activeOnly, err := in.Bool("activeOnly")
	if err != nil {
		return nil, err
	}
	// The version parameters of $expand apply to the value set here too
	// (as the FHIR terminology ecosystem has them).
	opts := &resolveOptions{systemVersion: in.VersionMap("system-version"), force: in.VersionMap("force-system-version"),
		check: in.VersionMap("check-system-version"), activeOnly: activeOnly}
	v, err := s.validateInValueSet(vs, in.String("url"), in.String("valueSetVersion"), codings, in.String("displayLanguage"), opts)
	if err != nil {
		return nil, err
	}
	if v, err = refuseAbstract(v, in); err != nil {
		return nil, err
	}
	return validationOutput(v), nil
}

// givenValueSet reads the value set of an instance call, or given whole
// as the valueSet parameter.
func givenValueSet(in *Input, instance []byte) (*ValueSet, error) {
	body := instance
	if body == nil {
		body = in.Resource("valueSet")
	}
	if body == nil {
		return nil, nil
	}
	var vs ValueSet
	if err := json.Unmarshal(body, &vs); err != nil || vs.ResourceType != "ValueSet" {
		return nil, invalid("valueSet", "the valueSet parameter is not a ValueSet")
	}
	return &vs, nil
}

func (s *Service) invokeSubsumes(instance []byte, in *Input) (any, error) {
	system, version := in.String("system"), in.String("version")
	a, b := in.String("codeA"), in.String("codeB")
	if c := in.Coding("codingA"); c != nil && a == "" {
		a, system = c.Code, cmpOr(system, c.System)
	}
	if c := in.Coding("codingB"); c != nil && b == "" {
		b, system = c.Code, cmpOr(system, c.System)
	}
	if instance != nil {
		system, version = canonicalOf(instance)
	}
	if a == "" || b == "" {
		return nil, invalid("codeA", "give codeA and codeB (or codingA and codingB) to compare")
	}
	outcome, err := s.Subsumes(system, version, a, b)
	if err != nil {
		return nil, err
	}
	return NewOutput().Code("outcome", outcome).Parameters(), nil
}

func (s *Service) invokeExpand(instance []byte, in *Input) (any, error) {
	vs, err := givenValueSet(in, instance)
	if err != nil {
		return nil, err
	}
	req := ExpandRequest{URL: in.String("url"), ValueSetVersion: in.String("valueSetVersion"), ValueSet: vs,
		Filter: in.String("filter"), DisplayLanguage: in.String("displayLanguage"),
		SystemVersion: in.VersionMap("system-version"), ForceSystemVersion: in.VersionMap("force-system-version"),
		CheckSystemVersion: in.VersionMap("check-system-version")}
	if req.Offset, _, err = in.Int("offset"); err != nil {
		return nil, err
	}
	if req.Count, req.CountSet, err = in.Int("count"); err != nil {
		return nil, err
	}
	if req.IncludeDesignations, err = in.Bool("includeDesignations"); err != nil {
		return nil, err
	}
	if req.ActiveOnly, err = in.Bool("activeOnly"); err != nil {
		return nil, err
	}
	return s.Expand(req)
}

func (s *Service) invokeTranslate(instance []byte, in *Input) (any, error) {
	req := TranslateRequest{URL: in.String("url"), Version: in.String("conceptMapVersion"),
		System: in.String("system"), Code: in.String("code"), TargetSystem: in.String("targetsystem")}
	if c := in.Coding("coding"); c != nil && req.Code == "" {
		req.System, req.Code = c.System, c.Code
	}
	if cc := in.CodeableConcept("codeableConcept"); cc != nil && req.Code == "" && len(cc.Coding) > 0 {
		req.System, req.Code = cc.Coding[0].System, cc.Coding[0].Code
	}
	var err error
	if req.Reverse, err = in.Bool("reverse"); err != nil {
		return nil, err
	}
	if instance != nil {
		req.URL, req.Version = canonicalOf(instance)
	}
	matches, err := s.Translate(req)
	if err != nil {
		return nil, err
	}
	out := NewOutput().Bool("result", len(matches) > 0)
	if len(matches) == 0 {
		out.Str("message", "no mapping found for "+req.System+"#"+req.Code)
	}
	for _, m := range matches {
		eq, src := m.Equivalence, m.Source
		concept := m.Concept
		parts := []Param{{Name: "equivalence", ValueCode: &eq}, {Name: "concept", ValueCoding: &concept}, {Name: "source", ValueURI: &src}}
		if m.Comment != "" {
			cm := m.Comment
			parts = append(parts, Param{Name: "comment", ValueString: &cm})
		}
		out.Parts("match", parts...)
	}
	return out.Parameters(), nil
}
