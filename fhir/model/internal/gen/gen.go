// Package gen derives the compact FHIR R4 type model of package model from
// the official StructureDefinitions (profiles-types.json and
// profiles-resources.json of the FHIR R4 definitions) and, for the code
// systems of required bindings, the value sets (valuesets.json).
//
// It is used by the genmodel command (go generate) and by the test of package
// model that checks that the committed table is up to date.
package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/cpms-fhir/cpms/internal/gendata"
	"path/filepath"
	"strconv"
	"strings"
)

// Model is the serialised form of the type model. Package model reads the same
// JSON shape.
type Model struct {
	FHIRVersion string  `json:"fhirVersion"`
	Types       []*Type `json:"types"`
}

// Type is one FHIR type: a primitive or complex data type, a resource, or an
// anonymous backbone type named by its element path (for example
// "Patient.contact").
type Type struct {
	Name     string     `json:"name"`
	Kind     string     `json:"kind"` // primitive, complex, resource, backbone
	Abstract bool       `json:"abstract,omitempty"`
	Base     string     `json:"base,omitempty"`
	System   string     `json:"system,omitempty"` // FHIRPath System type of a primitive's value
	Elements []*Element `json:"elements,omitempty"`
}

// Element is one child element of a type.
type Element struct {
	Name     string   `json:"name"`
	Types    []string `json:"types"`
	Choice   bool     `json:"choice,omitempty"`
	Min      int      `json:"min,omitempty"`
	Max      int      `json:"max"` // -1 means unbounded
	Ref      string   `json:"ref,omitempty"`
	Summary  bool     `json:"summary,omitempty"`
	Modifier bool     `json:"modifier,omitempty"`
	Targets  []string `json:"targets,omitempty"`
	// CodeSystem is, for a code element with a required binding to a value
	// set whose codes all come from one code system, that system's URL.
	CodeSystem string `json:"codeSystem,omitempty"`
}

// Files are the definition bundles read from the definitions directory, in
// the order their types are emitted.
var Files = []string{"profiles-types.json.gz", "profiles-resources.json.gz"}

type bundle struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type structureDefinition struct {
	ResourceType   string `json:"resourceType"`
	ID             string `json:"id"`
	URL            string `json:"url"`
	Kind           string `json:"kind"`
	Abstract       bool   `json:"abstract"`
	Type           string `json:"type"`
	BaseDefinition string `json:"baseDefinition"`
	Derivation     string `json:"derivation"`
	FHIRVersion    string `json:"fhirVersion"`
	Snapshot       struct {
		Element []elementDefinition `json:"element"`
	} `json:"snapshot"`
}

type elementDefinition struct {
	ID               string `json:"id"`
	Path             string `json:"path"`
	SliceName        string `json:"sliceName"`
	Min              int    `json:"min"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference"`
	IsSummary        bool   `json:"isSummary"`
	IsModifier       bool   `json:"isModifier"`
	Base             struct {
		Path string `json:"path"`
	} `json:"base"`
	Type []struct {
		Code      string   `json:"code"`
		Extension []ext    `json:"extension"`
		Target    []string `json:"targetProfile"`
	} `json:"type"`
	Binding struct {
		Strength string `json:"strength"`
		ValueSet string `json:"valueSet"`
	} `json:"binding"`
}

type ext struct {
	URL      string `json:"url"`
	ValueURL string `json:"valueUrl"`
}

const (
	sdPrefix       = "http://hl7.org/fhir/StructureDefinition/"
	systemPrefix   = "http://hl7.org/fhirpath/System."
	fhirTypeExtURL = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
)

// Build reads the definition bundles from dir (the definitions-r4 folder) and
// returns the model as indented, deterministic JSON.
func Build(dir string) ([]byte, error) {
	vs, err := readValueSets(filepath.Join(dir, ValueSetsFile))
	if err != nil {
		return nil, err
	}
	m := &Model{}
	for _, name := range Files {
		var b bundle
		if err := gendata.ReadGzipJSON(filepath.Join(dir, name), &b); err != nil {
			return nil, err
		}
		for _, e := range b.Entry {
			var head struct {
				ResourceType string `json:"resourceType"`
			}
			if err := json.Unmarshal(e.Resource, &head); err != nil {
				return nil, err
			}
			if head.ResourceType != "StructureDefinition" {
				continue
			}
			var sd structureDefinition
			if err := json.Unmarshal(e.Resource, &sd); err != nil {
				return nil, err
			}
			if sd.ResourceType != "StructureDefinition" || sd.Kind == "logical" || sd.Derivation == "constraint" {
				continue
			}
			if m.FHIRVersion == "" {
				m.FHIRVersion = sd.FHIRVersion
			}
			types, err := convert(sd, vs)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sd.ID, err)
			}
			m.Types = append(m.Types, types...)
		}
	}
	inheritSystemTypes(m)
	if err := check(m); err != nil {
		return nil, err
	}
	return marshal(m)
}

// convert turns one StructureDefinition into its type and the backbone types
// of its nested elements.
func convert(sd structureDefinition, vs valueSets) ([]*Type, error) {
	if sd.URL != sdPrefix+sd.Type {
		return nil, fmt.Errorf("unexpected url %s", sd.URL)
	}
	root := &Type{Name: sd.Type, Abstract: sd.Abstract}
	switch sd.Kind {
	case "primitive-type":
		root.Kind = "primitive"
	case "complex-type":
		root.Kind = "complex"
	case "resource":
		root.Kind = "resource"
	default:
		return nil, fmt.Errorf("unexpected kind %q", sd.Kind)
	}
	if sd.BaseDefinition != "" {
		root.Base = strings.TrimPrefix(sd.BaseDefinition, sdPrefix)
	}
	elems := sd.Snapshot.Element
	if len(elems) == 0 || elems[0].Path != sd.Type {
		return nil, fmt.Errorf("snapshot does not start with %s", sd.Type)
	}
	// An element with children gets an anonymous backbone type named by its path.
	hasChildren := map[string]bool{}
	for _, ed := range elems[1:] {
		if i := strings.LastIndexByte(ed.Path, '.'); i > 0 {
			hasChildren[ed.Path[:i]] = true
		}
	}
	byPath := map[string]*Type{sd.Type: root}
	out := []*Type{root}
	for _, ed := range elems[1:] {
		if ed.SliceName != "" {
			return nil, fmt.Errorf("%s: unexpected slice", ed.ID)
		}
		i := strings.LastIndexByte(ed.Path, '.')
		if i < 0 {
			return nil, fmt.Errorf("%s: path without parent", ed.Path)
		}
		parent := byPath[ed.Path[:i]]
		if parent == nil {
			return nil, fmt.Errorf("%s: parent not defined before child", ed.Path)
		}
		name := ed.Path[i+1:]
		el := &Element{Name: strings.TrimSuffix(name, "[x]"), Choice: strings.HasSuffix(name, "[x]"),
			Min: ed.Min, Summary: ed.IsSummary, Modifier: ed.IsModifier}
		if ed.Max == "*" {
			el.Max = -1
		} else {
			n, err := strconv.Atoi(ed.Max)
			if err != nil {
				return nil, fmt.Errorf("%s: max %q", ed.Path, ed.Max)
			}
			el.Max = n
		}
		switch {
		case ed.ContentReference != "":
			el.Ref = ed.ContentReference
			el.Types = []string{strings.TrimPrefix(ed.ContentReference, "#")}
		case hasChildren[ed.Path]:
			if len(ed.Type) != 1 {
				return nil, fmt.Errorf("%s: backbone element with %d types", ed.Path, len(ed.Type))
			}
			bb := &Type{Name: ed.Path, Kind: "backbone", Base: ed.Type[0].Code}
			byPath[ed.Path] = bb
			out = append(out, bb)
			el.Types = []string{ed.Path}
		default:
			for _, t := range ed.Type {
				code := t.Code
				if strings.HasPrefix(code, systemPrefix) {
					code = systemCodeType(ed, t.Extension)
				}
				if root.Kind == "primitive" && el.Name == "value" {
					root.System = strings.TrimPrefix(t.Code, systemPrefix)
				}
				el.Types = append(el.Types, code)
				for _, p := range t.Target {
					el.Targets = appendUnique(el.Targets, strings.TrimPrefix(p, sdPrefix))
				}
			}
			if !el.Choice && len(el.Types) == 1 && el.Types[0] == "code" && ed.Binding.Strength == "required" {
				el.CodeSystem = vs.singleSystem(ed.Binding.ValueSet)
			}
		}
		if len(el.Types) == 0 {
			return nil, fmt.Errorf("%s: element without type", ed.Path)
		}
		if root.Kind == "primitive" && el.Name == "value" {
			// The value of a primitive is not an element in FHIRPath or JSON.
			continue
		}
		parent.Elements = append(parent.Elements, el)
	}
	return out, nil
}

// systemCodeType returns the FHIR type of an element declared with a FHIRPath
// System type code (Element.id, Extension.url, Resource.id ...).
func systemCodeType(ed elementDefinition, exts []ext) string {
	if ed.Base.Path == "Resource.id" {
		// R4 declares Resource.id as System.String with fhir-type "string"; the
		// specification (and the FHIRPath test suite) type it as id.
		return "id"
	}
	for _, e := range exts {
		if e.URL == fhirTypeExtURL && e.ValueURL != "" {
			return e.ValueURL
		}
	}
	return "string"
}

// inheritSystemTypes gives a primitive that specialises another primitive the
// System type of its base. R4 declares the value of positiveInt and
// unsignedInt as System.String; they are integers (JSON numbers) and FHIRPath
// treats them as System.Integer.
func inheritSystemTypes(m *Model) {
	byName := map[string]*Type{}
	for _, t := range m.Types {
		byName[t.Name] = t
	}
	var sys func(t *Type) string
	sys = func(t *Type) string {
		if b := byName[t.Base]; b != nil && b.Kind == "primitive" {
			return sys(b)
		}
		return t.System
	}
	for _, t := range m.Types {
		if t.Kind == "primitive" {
			t.System = sys(t)
		}
	}
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// check verifies that every referenced type exists.
func check(m *Model) error {
	known := map[string]bool{}
	for _, t := range m.Types {
		if known[t.Name] {
			return fmt.Errorf("duplicate type %s", t.Name)
		}
		known[t.Name] = true
	}
	for _, t := range m.Types {
		if t.Base != "" && !known[t.Base] {
			return fmt.Errorf("%s: unknown base %s", t.Name, t.Base)
		}
		for _, e := range t.Elements {
			for _, c := range e.Types {
				if !known[c] {
					return fmt.Errorf("%s.%s: unknown type %s", t.Name, e.Name, c)
				}
			}
		}
	}
	return nil
}

// marshal writes one type per line so that diffs of the table stay readable.
func marshal(m *Model) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("{\"generated\":\"Code generated by fhir/model/internal/cmd/genmodel from the FHIR R4 StructureDefinitions; DO NOT EDIT.\",\n")
	fmt.Fprintf(&buf, "\"fhirVersion\":%q,\"types\":[\n", m.FHIRVersion)
	for i, t := range m.Types {
		b, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		if i < len(m.Types)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}
