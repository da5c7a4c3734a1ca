package base

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// elementOrder is the order of the ElementDefinition members in the R4
// specification; a choice member ("fixed[x]") is named by its prefix.
var elementOrder = []string{
	"id", "extension", "modifierExtension", "path", "representation",
	"sliceName", "sliceIsConstraining", "label", "code", "slicing", "short",
	"definition", "comment", "requirements", "alias", "min", "max", "base",
	"contentReference", "type", "defaultValue", "meaningWhenMissing",
	"orderMeaning", "fixed", "pattern", "example", "minValue", "maxValue",
	"maxLength", "condition", "constraint", "mustSupport", "isModifier",
	"isModifierReason", "isSummary", "binding", "mapping",
}

var elementRank = func() map[string]int {
	m := make(map[string]int, len(elementOrder))
	for i, k := range elementOrder {
		m[k] = i
	}
	return m
}()

var elementChoices = []string{"defaultValue", "fixed", "pattern", "minValue", "maxValue"}

// rank orders the members of an element: by the specification, a primitive's
// extension sibling ("_short") right after it, unknown members last by name.
func rank(key string) int {
	name, under := strings.CutPrefix(key, "_")
	r, ok := elementRank[name]
	if !ok {
		r = len(elementOrder)
		for _, p := range elementChoices {
			if ChoiceType(name, p) != "" {
				r = elementRank[p]
				break
			}
		}
	}
	r *= 2
	if under {
		r++
	}
	return r
}

// UnmarshalJSON decodes an ElementDefinition from FHIR JSON.
func (e *ElementDefinition) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*e = ElementDefinition{}
	for k, v := range m {
		var err error
		switch k {
		case "id":
			err = json.Unmarshal(v, &e.ID)
		case "path":
			err = json.Unmarshal(v, &e.Path)
		case "sliceName":
			err = json.Unmarshal(v, &e.SliceName)
		case "slicing":
			err = json.Unmarshal(v, &e.Slicing)
		case "short":
			err = json.Unmarshal(v, &e.Short)
		case "min":
			err = json.Unmarshal(v, &e.Min)
		case "max":
			err = json.Unmarshal(v, &e.Max)
		case "base":
			err = json.Unmarshal(v, &e.Base)
		case "contentReference":
			err = json.Unmarshal(v, &e.ContentReference)
		case "type":
			err = json.Unmarshal(v, &e.Type)
		case "maxLength":
			err = json.Unmarshal(v, &e.MaxLength)
		case "condition":
			err = json.Unmarshal(v, &e.Condition)
		case "constraint":
			err = json.Unmarshal(v, &e.Constraint)
		case "mustSupport":
			err = json.Unmarshal(v, &e.MustSupport)
		case "isModifier":
			err = json.Unmarshal(v, &e.IsModifier)
		case "isSummary":
			err = json.Unmarshal(v, &e.IsSummary)
		case "binding":
			err = json.Unmarshal(v, &e.Binding)
		default:
			if t := ChoiceType(k, "fixed"); t != "" {
				if e.Fixed != nil {
					return fmt.Errorf("element %s: more than one fixed[x]", e)
				}
				e.Fixed = &Value{Type: t, JSON: v}
			} else if t := ChoiceType(k, "pattern"); t != "" {
				if e.Pattern != nil {
					return fmt.Errorf("element %s: more than one pattern[x]", e)
				}
				e.Pattern = &Value{Type: t, JSON: v}
			} else {
				if e.Extra == nil {
					e.Extra = map[string]json.RawMessage{}
				}
				e.Extra[k] = v
			}
		}
		if err != nil {
			return fmt.Errorf("element %s: %s: %w", e, k, err)
		}
	}
	return nil
}

type member struct {
	key   string
	value any
}

// MarshalJSON encodes e as FHIR JSON, members in the order of the
// specification.
func (e ElementDefinition) MarshalJSON() ([]byte, error) {
	ms := make([]member, 0, 16+len(e.Extra))
	add := func(k string, v any) { ms = append(ms, member{k, v}) }
	if e.ID != "" {
		add("id", e.ID)
	}
	if e.Path != "" {
		add("path", e.Path)
	}
	if e.SliceName != "" {
		add("sliceName", e.SliceName)
	}
	if e.Slicing != nil {
		add("slicing", e.Slicing)
	}
	if e.Short != "" {
		add("short", e.Short)
	}
	if e.Min != nil {
		add("min", *e.Min)
	}
	if e.Max != "" {
		add("max", e.Max)
	}
	if e.Base != nil {
		add("base", e.Base)
	}
	if e.ContentReference != "" {
		add("contentReference", e.ContentReference)
	}
	if len(e.Type) > 0 {
		add("type", e.Type)
	}
	if e.Fixed != nil {
		add("fixed"+e.Fixed.Type, e.Fixed.JSON)
	}
	if e.Pattern != nil {
		add("pattern"+e.Pattern.Type, e.Pattern.JSON)
	}
	if e.MaxLength != nil {
		add("maxLength", *e.MaxLength)
	}
	if len(e.Condition) > 0 {
		add("condition", e.Condition)
	}
	if len(e.Constraint) > 0 {
		add("constraint", e.Constraint)
	}
	if e.MustSupport != nil {
		add("mustSupport", *e.MustSupport)
	}
	if e.IsModifier != nil {
		add("isModifier", *e.IsModifier)
	}
	if e.IsSummary != nil {
		add("isSummary", *e.IsSummary)
	}
	if e.Binding != nil {
		add("binding", e.Binding)
	}
	for k, v := range e.Extra {
		add(k, v)
	}
	slices.SortStableFunc(ms, func(a, b member) int {
		if ra, rb := rank(a.key), rank(b.key); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.key, b.key)
	})
	return writeObject(ms)
}

// UnmarshalJSON decodes an extension.
func (x *Extension) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*x = Extension{}
	for k, v := range m {
		switch {
		case k == "url":
			if err := json.Unmarshal(v, &x.URL); err != nil {
				return fmt.Errorf("extension url: %w", err)
			}
		case ChoiceType(k, "value") != "":
			x.Value = &Value{Type: ChoiceType(k, "value"), JSON: v}
		default:
			if x.Extra == nil {
				x.Extra = map[string]json.RawMessage{}
			}
			x.Extra[k] = v
		}
	}
	return nil
}

// MarshalJSON encodes an extension: its other members (id, extension)
// first, then url and value[x].
func (x Extension) MarshalJSON() ([]byte, error) {
	ms := make([]member, 0, 2+len(x.Extra))
	for k, v := range x.Extra {
		ms = append(ms, member{k, v})
	}
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	ms = append(ms, member{"url", x.URL})
	if x.Value != nil {
		ms = append(ms, member{"value" + x.Value.Type, x.Value.JSON})
	}
	return writeObject(ms)
}

func writeObject(ms []member) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		buf.Write(k)
		buf.WriteByte(':')
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
