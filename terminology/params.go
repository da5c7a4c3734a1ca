package terminology

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
)

// Parameters is the R4 Parameters resource that carries the input and
// output of the terminology operations.
type Parameters struct {
	ResourceType string  `json:"resourceType"`
	ID           string  `json:"id,omitempty"`
	Parameter    []Param `json:"parameter,omitempty"`
}

// Param is Parameters.parameter: a name with one value[x], a resource or
// parts.
type Param struct {
	Name                 string           `json:"name"`
	ValueString          *string          `json:"valueString,omitempty"`
	ValueCode            *string          `json:"valueCode,omitempty"`
	ValueURI             *string          `json:"valueUri,omitempty"`
	ValueURL             *string          `json:"valueUrl,omitempty"`
	ValueCanonical       *string          `json:"valueCanonical,omitempty"`
	ValueBoolean         *bool            `json:"valueBoolean,omitempty"`
	ValueInteger         *int64           `json:"valueInteger,omitempty"`
	ValueDecimal         *float64         `json:"valueDecimal,omitempty"`
	ValueDateTime        *string          `json:"valueDateTime,omitempty"`
	ValueCoding          *Coding          `json:"valueCoding,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	Resource             json.RawMessage  `json:"resource,omitempty"`
	Part                 []Param          `json:"part,omitempty"`
}

// CodeableConcept is an R4 CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Input is an operation's input: named values from a Parameters body or
// a query string, read by name.
type Input struct {
	params []Param
}

// ParseInput reads an operation's input from the query and, for POST,
// the body (a Parameters resource; query parameters are read too).
func ParseInput(query url.Values, body []byte) (*Input, error) {
	in := &Input{}
	if len(body) > 0 {
		var p Parameters
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, invalid("", "the request body is not a Parameters resource: "+err.Error())
		}
		if p.ResourceType != "Parameters" {
			return nil, invalid("resourceType", "the request body must be a Parameters resource, not "+strconv.Quote(p.ResourceType))
		}
		in.params = p.Parameter
	}
	for name, vals := range query {
		if strings.HasPrefix(name, "_") {
			continue // _format, _pretty
		}
		for _, v := range vals {
			v := v
			in.params = append(in.params, Param{Name: name, ValueString: &v})
		}
	}
	return in, nil
}

// String returns the first value of name as a string (any primitive).
func (in *Input) String(name string) string {
	for _, p := range in.params {
		if p.Name == name {
			if s, ok := primitive(p); ok {
				return s
			}
		}
	}
	return ""
}

// Strings returns every value of name.
func (in *Input) Strings(name string) []string {
	var out []string
	for _, p := range in.params {
		if p.Name == name {
			if s, ok := primitive(p); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// Has reports whether name was given.
func (in *Input) Has(name string) bool {
	for _, p := range in.params {
		if p.Name == name {
			return true
		}
	}
	return false
}

// Bool returns name as a boolean; an unreadable value is an error.
func (in *Input) Bool(name string) (bool, error) {
	for _, p := range in.params {
		if p.Name != name {
			continue
		}
		if p.ValueBoolean != nil {
			return *p.ValueBoolean, nil
		}
		s, _ := primitive(p)
		b, err := strconv.ParseBool(s)
		if err != nil {
			return false, invalid(name, "the parameter "+name+" must be true or false, not "+strconv.Quote(s))
		}
		return b, nil
	}
	return false, nil
}

// Int returns name as a non-negative integer; an unreadable value is an
// error.
func (in *Input) Int(name string) (int, bool, error) {
	for _, p := range in.params {
		if p.Name != name {
			continue
		}
		if p.ValueInteger != nil {
			if *p.ValueInteger < 0 {
				return 0, true, invalid(name, "the parameter "+name+" must not be negative")
			}
			return int(*p.ValueInteger), true, nil
		}
		s, _ := primitive(p)
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, true, invalid(name, "the parameter "+name+" must be a non-negative integer, not "+strconv.Quote(s))
		}
		return n, true, nil
	}
	return 0, false, nil
}

// Coding returns name as a Coding: a valueCoding, or a query value
// written system|code.
func (in *Input) Coding(name string) *Coding {
	for _, p := range in.params {
		if p.Name != name {
			continue
		}
		if p.ValueCoding != nil {
			return p.ValueCoding
		}
		if s, ok := primitive(p); ok {
			sys, code, found := strings.Cut(s, "|")
			if !found {
				return &Coding{Code: s}
			}
			return &Coding{System: sys, Code: code}
		}
	}
	return nil
}

// CodeableConcept returns name as a CodeableConcept.
func (in *Input) CodeableConcept(name string) *CodeableConcept {
	for _, p := range in.params {
		if p.Name == name && p.ValueCodeableConcept != nil {
			return p.ValueCodeableConcept
		}
	}
	return nil
}

// Resource returns the resource given as name, if any.
func (in *Input) Resource(name string) json.RawMessage {
	for _, p := range in.params {
		if p.Name == name && len(p.Resource) > 0 {
			return p.Resource
		}
	}
	return nil
}

// VersionMap reads parameters such as system-version whose values are
// canonical|version, into a map from canonical to version.
func (in *Input) VersionMap(name string) map[string]string {
	var m map[string]string
	for _, v := range in.Strings(name) {
		url, ver, ok := strings.Cut(v, "|")
		if !ok {
			continue
		}
		if m == nil {
			m = map[string]string{}
		}
		m[url] = ver
	}
	return m
}

func primitive(p Param) (string, bool) {
	for _, s := range []*string{p.ValueString, p.ValueCode, p.ValueURI, p.ValueURL, p.ValueCanonical, p.ValueDateTime} {
		if s != nil {
			return *s, true
		}
	}
	switch {
	case p.ValueBoolean != nil:
		return strconv.FormatBool(*p.ValueBoolean), true
	case p.ValueInteger != nil:
		return strconv.FormatInt(*p.ValueInteger, 10), true
	}
	return "", false
}

// Output builds a Parameters resource.
type Output struct{ p Parameters }

// NewOutput returns an empty Parameters resource.
func NewOutput() *Output { return &Output{p: Parameters{ResourceType: "Parameters"}} }

func (o *Output) add(p Param) *Output { o.p.Parameter = append(o.p.Parameter, p); return o }

// Str adds a valueString parameter.
func (o *Output) Str(name, v string) *Output {
	return o.add(Param{Name: name, ValueString: &v})
}

// Code adds a valueCode parameter.
func (o *Output) Code(name, v string) *Output {
	return o.add(Param{Name: name, ValueCode: &v})
}

// URI adds a valueUri parameter.
func (o *Output) URI(name, v string) *Output {
	return o.add(Param{Name: name, ValueURI: &v})
}

// Bool adds a valueBoolean parameter.
func (o *Output) Bool(name string, v bool) *Output {
	return o.add(Param{Name: name, ValueBoolean: &v})
}

// Parts adds a parameter made of parts.
func (o *Output) Parts(name string, parts ...Param) *Output {
	return o.add(Param{Name: name, Part: parts})
}

// Resource adds a resource parameter.
func (o *Output) Resource(name string, r json.RawMessage) *Output {
	return o.add(Param{Name: name, Resource: r})
}

// Parameters returns the built resource.
func (o *Output) Parameters() *Parameters { return &o.p }

// outcomeJSON renders issues as an OperationOutcome for a Parameters
// "issues" part.
func outcomeJSON(issues []fhir.Issue) json.RawMessage {
	return fhir.Outcome(issues)
}
