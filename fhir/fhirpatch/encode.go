package fhirpatch

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir/model"
)

// encode writes a resource decoded with UseNumber as FHIR JSON, the
// properties of each object in the order of their type's definition
// (resourceType first, a primitive's "_name" after its value), as FHIR
// servers write them, rather than in the alphabetical order of Go's maps.
func encode(m map[string]any, t *model.Type) []byte {
	var b bytes.Buffer
	writeValue(&b, m, t)
	return b.Bytes()
}

func writeValue(b *bytes.Buffer, x any, t *model.Type) {
	switch v := x.(type) {
	case map[string]any:
		if rt, ok := v["resourceType"].(string); ok {
			if rtt := model.Lookup(rt); rtt != nil {
				t = rtt
			}
		}
		writeObject(b, v, t)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, e, t)
		}
		b.WriteByte(']')
	case json.Number:
		b.WriteString(v.String())
	default:
		// strings, booleans, null: as JSON, the narrative's markup not
		// escaped.
		enc := json.NewEncoder(b)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		b.Truncate(b.Len() - 1) // the encoder's newline
	}
}

// property is a key of an object with its rank in the type's definition.
type property struct {
	key  string
	rank int
	t    *model.Type
}

func writeObject(b *bytes.Buffer, m map[string]any, t *model.Type) {
	props := make([]property, 0, len(m))
	for k := range m {
		props = append(props, rankOf(k, t))
	}
	slices.SortFunc(props, func(x, y property) int {
		if c := cmp.Compare(x.rank, y.rank); c != 0 {
			return c
		}
		// By name, a value before its "_name".
		xn, yn := strings.TrimPrefix(x.key, "_"), strings.TrimPrefix(y.key, "_")
		if c := cmp.Compare(xn, yn); c != 0 {
			return c
		}
		return cmp.Compare(len(x.key), len(y.key))
	})
	b.WriteByte('{')
	for i, p := range props {
		if i > 0 {
			b.WriteByte(',')
		}
		writeValue(b, p.key, nil)
		b.WriteByte(':')
		writeValue(b, m[p.key], p.t)
	}
	b.WriteByte('}')
}

// rankOf places the property k of an object of type t: resourceType
// first, then the elements in definition order, then names t does not
// define, which validation will refuse.
func rankOf(k string, t *model.Type) property {
	if k == "resourceType" {
		return property{key: k, rank: -1}
	}
	el := t.ElementByJSONName(k)
	if el == nil {
		return property{key: k, rank: 1 << 30}
	}
	p := property{key: k, rank: slices.Index(t.Elements, el)}
	for _, et := range el.Types {
		if et.JSONName == k || et.ExtName == k {
			p.t = et.Type
		}
	}
	return p
}
