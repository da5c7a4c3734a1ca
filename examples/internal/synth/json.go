package synth

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"fmt"
)

// O is a JSON object whose members keep the order they are written in, so
// that the generated files read like FHIR's own examples (resourceType
// and id first).
type O []M

// M is one member of an object.
type M struct {
	K string
	V any
}

// A is a JSON array.
type A []any

// MarshalJSON writes the members in order.
func (o O) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.K)
		if err != nil {
			return nil, err
		}
		v, err := marshal(m.V)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.K, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal writes v without escaping <, > and & (the narrative's XHTML
// stays readable).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// encode returns v as indented JSON with a final newline.
func encode(v any) ([]byte, error) {
	raw, err := marshal(v)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// uuidFor returns a name-based (version 5 layout) UUID URN for a
// resource, the same on every run: the entries' fullUrls are stable.
func uuidFor(ref string) string {
	h := sha1.Sum([]byte("cpms-examples:" + ref))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
