package model

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/cpms-fhir/cpms/internal/gendata"
)

// r4Data is the generated type table (see doc.go for how to regenerate it).
//
//go:embed r4.json.gz
var r4Data []byte

type registry struct {
	version       string
	list          []*Type
	types         map[string]*Type
	resourceTypes []string
}

var (
	loadOnce sync.Once
	reg      *registry
)

// load decodes the embedded table on first use. The table is generated and
// checked by tests, so a decoding failure is a build defect and panics.
func load() *registry {
	loadOnce.Do(func() {
		r, err := decode(r4Data)
		if err != nil {
			panic("fhir/model: corrupt embedded type table: " + err.Error())
		}
		reg = r
	})
	return reg
}

// rawModel mirrors the JSON written by internal/gen.
type rawModel struct {
	FHIRVersion string `json:"fhirVersion"`
	Types       []struct {
		Name     string `json:"name"`
		Kind     string `json:"kind"`
		Abstract bool   `json:"abstract"`
		Base     string `json:"base"`
		System   string `json:"system"`
		Elements []struct {
			Name     string   `json:"name"`
			Types    []string `json:"types"`
			Choice   bool     `json:"choice"`
			Min      int      `json:"min"`
			Max      int      `json:"max"`
			Ref      string   `json:"ref"`
			Summary  bool     `json:"summary"`
			Modifier bool     `json:"modifier"`
			Targets  []string `json:"targets"`
			System   string   `json:"codeSystem"`
		} `json:"elements"`
	} `json:"types"`
}

func decode(gz []byte) (*registry, error) {
	data, err := gendata.Gunzip(gz)
	if err != nil {
		return nil, err
	}
	var raw rawModel
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	r := &registry{version: raw.FHIRVersion, types: make(map[string]*Type, len(raw.Types))}
	for _, rt := range raw.Types {
		t := &Type{Name: rt.Name, Abstract: rt.Abstract}
		switch rt.Kind {
		case "primitive":
			t.Kind = Primitive
		case "complex":
			t.Kind = Complex
		case "resource":
			t.Kind = Resource
		case "backbone":
			t.Kind = Backbone
		default:
			return nil, fmt.Errorf("type %s: unknown kind %q", rt.Name, rt.Kind)
		}
		if rt.System != "" {
			if t.System = LookupSystemType(rt.System); t.System == NoSystemType {
				return nil, fmt.Errorf("type %s: unknown system type %q", rt.Name, rt.System)
			}
		}
		r.types[t.Name] = t
		r.list = append(r.list, t)
	}
	lookup := func(name string) (*Type, error) {
		if t := r.types[name]; t != nil {
			return t, nil
		}
		return nil, fmt.Errorf("unknown type %q", name)
	}
	for i, rt := range raw.Types {
		t := r.list[i]
		if rt.Base != "" {
			b, err := lookup(rt.Base)
			if err != nil {
				return nil, err
			}
			t.Base = b
		}
		t.byName = make(map[string]*Element, len(rt.Elements))
		t.jsonNames = make(map[string]*Element, len(rt.Elements)+4)
		t.Elements = make([]*Element, 0, len(rt.Elements))
		for _, re := range rt.Elements {
			e := &Element{Name: re.Name, Owner: t, Choice: re.Choice, Min: re.Min, Max: re.Max,
				ContentReference: re.Ref, Summary: re.Summary, Modifier: re.Modifier, Targets: re.Targets,
				CodeSystem: re.System}
			e.Path = t.Name + "." + re.Name
			if e.Choice {
				e.Path += "[x]"
			}
			for _, tn := range re.Types {
				et, err := lookup(tn)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", e.Path, err)
				}
				x := ElementType{Type: et, JSONName: re.Name}
				if e.Choice {
					x.JSONName = re.Name + strings.ToUpper(tn[:1]) + tn[1:]
				}
				if et.Kind == Primitive {
					x.ExtName = "_" + x.JSONName
					t.jsonNames[x.ExtName] = e
				}
				t.jsonNames[x.JSONName] = e
				e.Types = append(e.Types, x)
			}
			t.byName[e.Name] = e
			t.Elements = append(t.Elements, e)
		}
	}
	// Quantity and its specialisations behave as System.Quantity in FHIRPath.
	if q := r.types["Quantity"]; q != nil {
		for _, t := range r.list {
			if t.IsSubtypeOf(q) {
				t.System = SystemQuantity
			}
		}
	}
	r.resourceTypes = sortedNames(r.types, func(t *Type) bool { return t.Kind == Resource && !t.Abstract })
	return r, nil
}
