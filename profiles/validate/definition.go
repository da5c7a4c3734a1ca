package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// structureDefinition is the part of a StructureDefinition the validator
// reads.
type structureDefinition struct {
	ResourceType   string `json:"resourceType"`
	URL            string `json:"url"`
	Version        string `json:"version"`
	Name           string `json:"name"`
	Kind           string `json:"kind"`
	Abstract       bool   `json:"abstract"`
	Type           string `json:"type"`
	BaseDefinition string `json:"baseDefinition"`
	Derivation     string `json:"derivation"`
	Snapshot       *struct {
		Element []elementDefinition `json:"element"`
	} `json:"snapshot"`
}

// elementDefinition is the part of an ElementDefinition the validator
// reads. fixed[x] and pattern[x] are collected by UnmarshalJSON.
type elementDefinition struct {
	ID               string       `json:"id"`
	Path             string       `json:"path"`
	SliceName        string       `json:"sliceName"`
	Min              *int         `json:"min"`
	Max              string       `json:"max"`
	Slicing          *slicingDef  `json:"slicing"`
	Type             []typeRef    `json:"type"`
	ContentReference string       `json:"contentReference"`
	MaxLength        *int         `json:"maxLength"`
	Binding          *bindingDef  `json:"binding"`
	Constraint       []constraint `json:"constraint"`

	// Fixed and Pattern are the decoded fixed[x] and pattern[x] values
	// (json.Number for numbers), with the type suffix of their JSON name.
	Fixed, Pattern         any
	FixedType, PatternType string
}

type slicingDef struct {
	Discriminator []discriminatorDef `json:"discriminator"`
	Ordered       bool               `json:"ordered"`
	Rules         string             `json:"rules"`
}

type discriminatorDef struct {
	Type string `json:"type"`
	Path string `json:"path"`
}

type typeRef struct {
	Code          string   `json:"code"`
	Profile       []string `json:"profile"`
	TargetProfile []string `json:"targetProfile"`
}

type bindingDef struct {
	Strength string `json:"strength"`
	ValueSet string `json:"valueSet"`
}

type constraint struct {
	Key        string `json:"key"`
	Severity   string `json:"severity"`
	Human      string `json:"human"`
	Expression string `json:"expression"`
	Source     string `json:"source"`
}

// UnmarshalJSON decodes an element definition and its fixed[x] and
// pattern[x] values, whose JSON names carry their type (fixedUri,
// patternCodeableConcept).
func (e *elementDefinition) UnmarshalJSON(b []byte) error {
	type plain elementDefinition
	if err := json.Unmarshal(b, (*plain)(e)); err != nil {
		return err
	}
	if !bytes.Contains(b, []byte(`"fixed`)) && !bytes.Contains(b, []byte(`"pattern`)) {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	for k, v := range raw {
		var dst *any
		var typ *string
		var suffix string
		if s, ok := strings.CutPrefix(k, "fixed"); ok && isTypeSuffix(s) {
			dst, typ, suffix = &e.Fixed, &e.FixedType, s
		} else if s, ok := strings.CutPrefix(k, "pattern"); ok && isTypeSuffix(s) {
			dst, typ, suffix = &e.Pattern, &e.PatternType, s
		} else {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(v))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			return fmt.Errorf("%s of %s: %w", k, e.Path, err)
		}
		*typ = typeName(suffix)
	}
	return nil
}

// isTypeSuffix reports whether s is the type part of a choice JSON name:
// a capitalised type name.
func isTypeSuffix(s string) bool {
	return s != "" && unicode.IsUpper(rune(s[0]))
}

// typeName turns the type suffix of a choice JSON name into the type name:
// "Uri" is uri, "CodeableConcept" stays, "DateTime" is dateTime.
func typeName(suffix string) string {
	if isPrimitiveSuffix(suffix) {
		return strings.ToLower(suffix[:1]) + suffix[1:]
	}
	return suffix
}

var primitiveSuffixes = map[string]bool{
	"Base64Binary": true, "Boolean": true, "Canonical": true, "Code": true, "Date": true, "DateTime": true,
	"Decimal": true, "Id": true, "Instant": true, "Integer": true, "Markdown": true, "Oid": true,
	"PositiveInt": true, "String": true, "Time": true, "UnsignedInt": true, "Uri": true, "Url": true,
	"Uuid": true,
}

func isPrimitiveSuffix(s string) bool { return primitiveSuffixes[s] }
