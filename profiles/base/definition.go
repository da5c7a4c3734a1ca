package base

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// StructureDefinition is the part of a FHIR R4 StructureDefinition that
// validation and snapshot generation use. Other members of a definition
// (title, description, publisher...) are not kept: package snapshot works on
// the JSON of a definition to write it back whole.
type StructureDefinition struct {
	ResourceType     string       `json:"resourceType,omitempty"`
	ID               string       `json:"id,omitempty"`
	URL              string       `json:"url"`
	Version          string       `json:"version,omitempty"`
	Name             string       `json:"name,omitempty"`
	Status           string       `json:"status,omitempty"`
	Kind             string       `json:"kind,omitempty"`
	Abstract         bool         `json:"abstract,omitempty"`
	Context          []Context    `json:"context,omitempty"`
	ContextInvariant []string     `json:"contextInvariant,omitempty"`
	Type             string       `json:"type"`
	BaseDefinition   string       `json:"baseDefinition,omitempty"`
	Derivation       string       `json:"derivation,omitempty"`
	Snapshot         *ElementList `json:"snapshot,omitempty"`
	Differential     *ElementList `json:"differential,omitempty"`
}

// Context is a StructureDefinition.context: where an extension may be used.
type Context struct {
	Type       string `json:"type"`
	Expression string `json:"expression"`
}

// ElementList is the snapshot or the differential of a StructureDefinition.
type ElementList struct {
	Element []ElementDefinition `json:"element"`
}

// ElementDefinition is a FHIR R4 ElementDefinition. The members validation
// and snapshot generation use have fields; the others (definition, comment,
// extension, mapping, minValue[x]...) are kept as written in Extra, so that
// an element decoded and encoded again is the same FHIR JSON (members in
// the order of the specification).
//
// Optional members whose absence matters in a differential (min,
// mustSupport...) are pointers; Max is "" when absent.
type ElementDefinition struct {
	ID               string
	Path             string
	SliceName        string
	Slicing          *Slicing
	Short            string
	Min              *int
	Max              string // "*" or a non-negative integer
	Base             *ElementBase
	ContentReference string
	Type             []Type
	Fixed            *Value // fixed[x]
	Pattern          *Value // pattern[x]
	MaxLength        *int
	Condition        []string
	Constraint       []Constraint
	MustSupport      *bool
	IsModifier       *bool
	IsSummary        *bool
	Binding          *Binding
	// Extra holds the other members by JSON name (including the primitive
	// extension siblings such as "_short").
	Extra map[string]json.RawMessage
}

// ElementBase is ElementDefinition.base: where an element is first defined.
type ElementBase struct {
	Path string `json:"path"`
	Min  int    `json:"min"`
	Max  string `json:"max"`
}

// Type is an ElementDefinition.type.
type Type struct {
	Extension     []Extension `json:"extension,omitempty"`
	Code          string      `json:"code"`
	Profile       []string    `json:"profile,omitempty"`
	TargetProfile []string    `json:"targetProfile,omitempty"`
	Aggregation   []string    `json:"aggregation,omitempty"`
	Versioning    string      `json:"versioning,omitempty"`
}

// The type extensions of the R4 definitions.
const (
	ExtFHIRType = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
	ExtRegex    = "http://hl7.org/fhir/StructureDefinition/regex"
)

// FHIRType returns the FHIR type of t: its code, or, for the System types
// of the primitive value elements (http://hl7.org/fhirpath/System.String),
// the type its structuredefinition-fhir-type extension names ("uri" for
// Extension.url), when it has one.
func (t *Type) FHIRType() string {
	if strings.HasPrefix(t.Code, "http://hl7.org/fhirpath/System.") {
		for i := range t.Extension {
			if t.Extension[i].URL == ExtFHIRType {
				if s, ok := t.Extension[i].Value.String(); ok {
					return s
				}
			}
		}
	}
	return t.Code
}

// Constraint is an ElementDefinition.constraint (an invariant).
type Constraint struct {
	Extension    []Extension `json:"extension,omitempty"`
	Key          string      `json:"key"`
	Requirements string      `json:"requirements,omitempty"`
	Severity     string      `json:"severity"`
	Human        string      `json:"human"`
	Expression   string      `json:"expression,omitempty"`
	XPath        string      `json:"xpath,omitempty"`
	Source       string      `json:"source,omitempty"`
}

// Binding is an ElementDefinition.binding.
type Binding struct {
	Extension   []Extension `json:"extension,omitempty"`
	Strength    string      `json:"strength"`
	Description string      `json:"description,omitempty"`
	ValueSet    string      `json:"valueSet,omitempty"`
}

// Slicing is an ElementDefinition.slicing.
type Slicing struct {
	Extension     []Extension     `json:"extension,omitempty"`
	Discriminator []Discriminator `json:"discriminator,omitempty"`
	Description   string          `json:"description,omitempty"`
	Ordered       *bool           `json:"ordered,omitempty"`
	Rules         string          `json:"rules,omitempty"`
}

// Discriminator is an ElementDefinition.slicing.discriminator.
type Discriminator struct {
	Type string `json:"type"`
	Path string `json:"path"`
}

// Extension is a FHIR extension on a part of an element definition. Extra
// holds its other members (id, nested extension).
type Extension struct {
	URL   string
	Value *Value // value[x]
	Extra map[string]json.RawMessage
}

// Value is the value of a choice member such as fixed[x]: the type suffix
// of the member name ("Uri" for fixedUri, "CodeableConcept" for
// patternCodeableConcept) and the JSON value.
type Value struct {
	Type string
	JSON json.RawMessage
}

// String returns the value of a primitive of JSON type string.
func (v *Value) String() (string, bool) {
	if v == nil {
		return "", false
	}
	var s string
	if json.Unmarshal(v.JSON, &s) != nil {
		return "", false
	}
	return s, true
}

// MinCount returns the minimum cardinality, 0 when absent.
func (e *ElementDefinition) MinCount() int {
	if e.Min == nil {
		return 0
	}
	return *e.Min
}

// MaxCount returns the maximum cardinality: n, or unbounded for "*" (and
// for an absent or malformed max).
func (e *ElementDefinition) MaxCount() (n int, unbounded bool) {
	return ParseMax(e.Max)
}

// ParseMax parses a max cardinality: n, or unbounded for "*" (and for an
// empty or malformed value).
func ParseMax(max string) (n int, unbounded bool) {
	n, err := strconv.Atoi(max)
	if err != nil || n < 0 {
		return 0, true
	}
	return n, false
}

// Clone returns a deep copy of e.
func (e *ElementDefinition) Clone() *ElementDefinition {
	c := *e
	if e.Slicing != nil {
		s := *e.Slicing
		s.Extension = cloneExtensions(s.Extension)
		s.Discriminator = append([]Discriminator(nil), s.Discriminator...)
		if s.Ordered != nil {
			s.Ordered = ptr(*s.Ordered)
		}
		c.Slicing = &s
	}
	if e.Min != nil {
		c.Min = ptr(*e.Min)
	}
	if e.Base != nil {
		b := *e.Base
		c.Base = &b
	}
	if e.Type != nil {
		c.Type = make([]Type, len(e.Type))
		for i, t := range e.Type {
			t.Extension = cloneExtensions(t.Extension)
			t.Profile = append([]string(nil), t.Profile...)
			t.TargetProfile = append([]string(nil), t.TargetProfile...)
			t.Aggregation = append([]string(nil), t.Aggregation...)
			c.Type[i] = t
		}
	}
	c.Fixed = e.Fixed.clone()
	c.Pattern = e.Pattern.clone()
	if e.MaxLength != nil {
		c.MaxLength = ptr(*e.MaxLength)
	}
	c.Condition = append([]string(nil), e.Condition...)
	if e.Constraint != nil {
		c.Constraint = make([]Constraint, len(e.Constraint))
		for i, k := range e.Constraint {
			k.Extension = cloneExtensions(k.Extension)
			c.Constraint[i] = k
		}
	}
	if e.MustSupport != nil {
		c.MustSupport = ptr(*e.MustSupport)
	}
	if e.IsModifier != nil {
		c.IsModifier = ptr(*e.IsModifier)
	}
	if e.IsSummary != nil {
		c.IsSummary = ptr(*e.IsSummary)
	}
	if e.Binding != nil {
		b := *e.Binding
		b.Extension = cloneExtensions(b.Extension)
		c.Binding = &b
	}
	c.Extra = cloneRaw(e.Extra)
	return &c
}

func (v *Value) clone() *Value {
	if v == nil {
		return nil
	}
	return &Value{Type: v.Type, JSON: append(json.RawMessage(nil), v.JSON...)}
}

func cloneExtensions(xs []Extension) []Extension {
	if xs == nil {
		return nil
	}
	out := make([]Extension, len(xs))
	for i, x := range xs {
		out[i] = Extension{URL: x.URL, Value: x.Value.clone(), Extra: cloneRaw(x.Extra)}
	}
	return out
}

func cloneRaw(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = append(json.RawMessage(nil), v...)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// ChoiceType returns the type suffix of key if it is a member of the choice
// element prefix ("Uri" for fixed and fixedUri), and "" otherwise.
func ChoiceType(key, prefix string) string {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok || rest == "" || rest[0] < 'A' || rest[0] > 'Z' {
		return ""
	}
	return rest
}

func (e *ElementDefinition) String() string {
	if e.ID != "" {
		return e.ID
	}
	if e.SliceName != "" {
		return fmt.Sprintf("%s:%s", e.Path, e.SliceName)
	}
	return e.Path
}
