// Package gen derives the table of FHIR R4 base StructureDefinitions of
// package base from the official definitions: the resources
// (profiles-resources.json), the data types (profiles-types.json) and the
// core extensions (extension-definitions.json) of the R4 definitions.
//
// Each definition keeps its snapshot only, and of each element what
// validation and snapshot generation need; documentation (definition,
// comment, requirements, alias, mapping, example...) is dropped.
//
// It is used by the genbase command (go generate) and by the test of
// package base that checks that the committed table is up to date.
package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/cpms-fhir/cpms/internal/gendata"
	"path/filepath"
	"strings"
)

// Files are the definition bundles read from the definitions directory, in
// the order their definitions appear in the table.
var Files = []string{
	"profiles-types.json.gz",
	"profiles-resources.json.gz",
	"extension-definitions.json.gz",
}

// Header is the first line of the table: one entry per definition, in the
// order of the lines that follow it. Package base reads the same shape.
type Header struct {
	FHIRVersion string  `json:"fhirVersion"`
	Index       []Entry `json:"index"`
}

// Entry identifies one definition of the table.
type Entry struct {
	URL        string `json:"url"`
	Type       string `json:"type"`
	Kind       string `json:"kind"`
	Derivation string `json:"derivation,omitempty"`
}

// sdKeys are the StructureDefinition members kept, besides the snapshot.
var sdKeys = []string{
	"resourceType", "id", "url", "version", "name", "status", "kind", "abstract",
	"context", "contextInvariant", "type", "baseDefinition", "derivation",
}

// elementKeys are the ElementDefinition members kept as they are.
var elementKeys = map[string]bool{
	"id": true, "path": true, "representation": true, "sliceName": true,
	"slicing": true, "short": true, "min": true, "max": true, "base": true,
	"contentReference": true, "maxLength": true, "condition": true,
	"mustSupport": true, "isModifier": true, "isSummary": true,
}

// choicePrefixes are the ElementDefinition choice members kept, with any
// type suffix (fixedUri, patternCodeableConcept, minValueInteger...).
var choicePrefixes = []string{"fixed", "pattern", "minValue", "maxValue"}

// typeExtensions are the type extensions kept: the FHIR type of the
// primitive value elements and their regular expression.
var typeExtensions = map[string]bool{
	"http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type": true,
	"http://hl7.org/fhir/StructureDefinition/regex":                         true,
}

// Build reads the definition bundles from dir (the definitions-r4 folder)
// and returns the table: a header line, then one StructureDefinition per
// line (compact JSON, members sorted), in the order of the definitions.
func Build(dir string) ([]byte, error) {
	var (
		header Header
		lines  [][]byte
		seen   = map[string]bool{}
	)
	for _, file := range Files {
		var b struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := gendata.ReadGzipJSON(filepath.Join(dir, file), &b); err != nil {
			return nil, err
		}
		for _, e := range b.Entry {
			var sd map[string]json.RawMessage
			if err := json.Unmarshal(e.Resource, &sd); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			if str(sd["resourceType"]) != "StructureDefinition" {
				continue
			}
			entry := Entry{URL: str(sd["url"]), Type: str(sd["type"]), Kind: str(sd["kind"]), Derivation: str(sd["derivation"])}
			if entry.URL == "" || entry.Type == "" {
				return nil, fmt.Errorf("%s: a StructureDefinition without url or type", file)
			}
			if seen[entry.URL] {
				return nil, fmt.Errorf("%s: duplicate definition %s", file, entry.URL)
			}
			seen[entry.URL] = true
			if v := str(sd["fhirVersion"]); v != "" {
				if header.FHIRVersion == "" {
					header.FHIRVersion = v
				} else if v != header.FHIRVersion {
					return nil, fmt.Errorf("%s: %s is FHIR %s, not %s", file, entry.URL, v, header.FHIRVersion)
				}
			}
			line, err := trimDefinition(sd)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", file, entry.URL, err)
			}
			header.Index = append(header.Index, entry)
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("no StructureDefinition in %s", dir)
	}
	var out bytes.Buffer
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	out.Write(h)
	out.WriteByte('\n')
	for _, l := range lines {
		out.Write(l)
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

func trimDefinition(sd map[string]json.RawMessage) ([]byte, error) {
	out := map[string]any{}
	for _, k := range sdKeys {
		if v, ok := sd[k]; ok {
			out[k] = v
		}
	}
	var snap struct {
		Element []map[string]json.RawMessage `json:"element"`
	}
	if err := json.Unmarshal(sd["snapshot"], &snap); err != nil || len(snap.Element) == 0 {
		return nil, fmt.Errorf("no snapshot")
	}
	elements := make([]map[string]any, 0, len(snap.Element))
	for _, el := range snap.Element {
		t, err := trimElement(el)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", str(el["id"]), err)
		}
		elements = append(elements, t)
	}
	out["snapshot"] = map[string]any{"element": elements}
	return json.Marshal(out)
}

func trimElement(el map[string]json.RawMessage) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range el {
		switch {
		case elementKeys[k]:
			out[k] = v
		case isChoice(k):
			out[k] = v
		case k == "type":
			var types []map[string]json.RawMessage
			if err := json.Unmarshal(v, &types); err != nil {
				return nil, err
			}
			kept := make([]map[string]any, 0, len(types))
			for _, t := range types {
				kt := map[string]any{}
				for tk, tv := range t {
					if tk != "extension" {
						kt[tk] = tv
						continue
					}
					var exts []map[string]json.RawMessage
					if err := json.Unmarshal(tv, &exts); err != nil {
						return nil, err
					}
					var keep []map[string]json.RawMessage
					for _, x := range exts {
						if typeExtensions[str(x["url"])] {
							keep = append(keep, x)
						}
					}
					if len(keep) > 0 {
						kt[tk] = keep
					}
				}
				kept = append(kept, kt)
			}
			out[k] = kept
		case k == "binding":
			if b := pick(v, "strength", "valueSet"); b != nil {
				out[k] = b
			}
		case k == "constraint":
			var cs []json.RawMessage
			if err := json.Unmarshal(v, &cs); err != nil {
				return nil, err
			}
			kept := make([]map[string]json.RawMessage, 0, len(cs))
			for _, c := range cs {
				kept = append(kept, pick(c, "key", "severity", "human", "expression", "source"))
			}
			out[k] = kept
		}
	}
	return out, nil
}

// isChoice reports whether k is one of the kept choice members (fixedUri),
// and not its primitive extension sibling (_fixedUri).
func isChoice(k string) bool {
	for _, p := range choicePrefixes {
		if rest, ok := strings.CutPrefix(k, p); ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' {
			return true
		}
	}
	return false
}

// pick returns the members keys of the JSON object v, nil if it has none.
func pick(v json.RawMessage, keys ...string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return nil
	}
	out := map[string]json.RawMessage{}
	for _, k := range keys {
		if x, ok := m[k]; ok {
			out[k] = x
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func str(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}
