package model

import (
	"sort"
	"strings"
)

// Kind classifies a Type.
type Kind uint8

// The kinds of types.
const (
	// Primitive is a FHIR primitive data type (boolean, string, date, code...).
	Primitive Kind = iota + 1
	// Complex is a FHIR complex data type (HumanName, Quantity, Element...).
	Complex
	// Resource is a resource type, including the abstract Resource and
	// DomainResource.
	Resource
	// Backbone is the anonymous type of an element that has children of its
	// own, such as Patient.contact or Timing.repeat. Its name is the element
	// path and its base is BackboneElement or Element.
	Backbone
)

// String returns the kind name as used in the generated table.
func (k Kind) String() string {
	switch k {
	case Primitive:
		return "primitive"
	case Complex:
		return "complex"
	case Resource:
		return "resource"
	case Backbone:
		return "backbone"
	}
	return "unknown"
}

// SystemType is a FHIRPath System type (http://hl7.org/fhirpath/System).
// Every FHIR primitive type maps to one, as declared by the value element of
// its StructureDefinition (code → String, positiveInt → Integer, instant →
// DateTime...). Quantity and its specialisations map to SystemQuantity, which
// lets FHIRPath compare and compute with them.
type SystemType uint8

// The FHIRPath System types.
const (
	NoSystemType SystemType = iota
	SystemBoolean
	SystemString
	SystemInteger
	SystemDecimal
	SystemDate
	SystemDateTime
	SystemTime
	SystemQuantity
)

var systemNames = [...]string{"", "Boolean", "String", "Integer", "Decimal", "Date", "DateTime", "Time", "Quantity"}

// Name returns the unqualified name of the System type ("String"), or "" for
// NoSystemType.
func (s SystemType) Name() string {
	if int(s) < len(systemNames) {
		return systemNames[s]
	}
	return ""
}

// String returns the qualified name ("System.String").
func (s SystemType) String() string {
	if s == NoSystemType {
		return ""
	}
	return "System." + s.Name()
}

// LookupSystemType returns the System type with the given unqualified name
// ("String", "Integer"...), or NoSystemType.
func LookupSystemType(name string) SystemType {
	for i, n := range systemNames {
		if i > 0 && n == name {
			return SystemType(i)
		}
	}
	return NoSystemType
}

// Type is a FHIR R4 type: a data type, a resource type or the anonymous type
// of a backbone element. Types are shared and immutable; compare them by
// pointer.
type Type struct {
	// Name is the type name ("Patient", "HumanName", "code"), or the element
	// path for a Backbone type ("Patient.contact").
	Name string
	// Kind says what sort of type this is.
	Kind Kind
	// Abstract is set for Element, BackboneElement, Resource and
	// DomainResource.
	Abstract bool
	// Base is the type this one specialises (Patient → DomainResource,
	// Age → Quantity, code → string), nil for Element and Resource.
	Base *Type
	// System is the FHIRPath System type of a primitive's value, SystemQuantity
	// for Quantity and its specialisations, NoSystemType otherwise.
	System SystemType
	// Elements are the child elements in definition order, inherited ones
	// (id, extension, meta...) included.
	Elements []*Element

	byName map[string]*Element
	// jsonNames maps every JSON property name of the children (including
	// "valueQuantity" and "_birthDate") to its element.
	jsonNames map[string]*Element
}

// String returns the type name.
func (t *Type) String() string { return t.Name }

// Element returns the child element with the given name (for a choice
// element, its name without "[x]", e.g. "value"), or nil.
func (t *Type) Element(name string) *Element {
	if t == nil {
		return nil
	}
	return t.byName[name]
}

// ElementByJSONName returns the child element that a JSON property name
// belongs to: "valueQuantity" and "_valueString" give the value[x] element,
// "_birthDate" the birthDate element. It returns nil for unknown names.
func (t *Type) ElementByJSONName(name string) *Element {
	if t == nil {
		return nil
	}
	return t.jsonNames[name]
}

// IsSubtypeOf reports whether t is u or specialises it, directly or not.
func (t *Type) IsSubtypeOf(u *Type) bool {
	for x := t; x != nil; x = x.Base {
		if x == u {
			return true
		}
	}
	return false
}

// IsResource reports whether t is a resource type (possibly abstract).
func (t *Type) IsResource() bool { return t != nil && t.Kind == Resource }

// IsPrimitive reports whether t is a primitive data type.
func (t *Type) IsPrimitive() bool { return t != nil && t.Kind == Primitive }

// TypeName returns the name FHIRPath reports for values of this type: the
// type name, or for a Backbone type the name of its base (BackboneElement or
// Element).
func (t *Type) TypeName() string {
	if t.Kind == Backbone && t.Base != nil {
		return t.Base.Name
	}
	return t.Name
}

// Element is a child element of a Type.
type Element struct {
	// Name is the element name; for a choice element it is the name without
	// "[x]" ("value").
	Name string
	// Path is the full element path, e.g. "Patient.contact.name" or
	// "Observation.value[x]".
	Path string
	// Owner is the type the element belongs to.
	Owner *Type
	// Choice is set for choice elements (value[x]).
	Choice bool
	// Types are the allowed types: one for ordinary elements, one per
	// alternative for a choice element. For an element with children it is
	// the Backbone type named by the element path, and for an element with a
	// contentReference the Backbone type it refers to.
	Types []ElementType
	// Min and Max are the cardinality; Max is -1 when unbounded ("*").
	Min, Max int
	// ContentReference is the raw contentReference ("#Questionnaire.item"),
	// if any.
	ContentReference string
	// Summary and Modifier copy isSummary and isModifier.
	Summary, Modifier bool
	// Targets are the target type names of Reference and canonical types
	// ("Patient", "Group"; "Resource" when any resource is allowed).
	Targets []string
	// CodeSystem is, for an element of type code with a required binding to
	// a value set whose codes all come from one code system, the URL of that
	// system (Patient.gender: "http://hl7.org/fhir/administrative-gender");
	// "" otherwise. Token search uses it as the system of such codes.
	CodeSystem string
}

// ElementType is one allowed type of an element, with the JSON property
// names used for it.
type ElementType struct {
	Type *Type
	// JSONName is the JSON property name: the element name, or for a choice
	// element the name with the type appended ("valueQuantity").
	JSONName string
	// ExtName is the JSON name of the primitive extension sibling
	// ("_birthDate"), or "" for non-primitive types.
	ExtName string
}

// IsCollection reports whether the element may repeat (max > 1 or "*").
func (e *Element) IsCollection() bool { return e.Max != 0 && e.Max != 1 }

// Type returns the single type of a non-choice element (for a choice element,
// its first alternative).
func (e *Element) Type() *Type { return e.Types[0].Type }

// ChoiceType returns the alternative of a choice element with the given type
// name, if allowed.
func (e *Element) ChoiceType(name string) (ElementType, bool) {
	for _, et := range e.Types {
		if et.Type.Name == name {
			return et, true
		}
	}
	return ElementType{}, false
}

// Lookup returns the type with the given name (a data type, resource type or
// backbone element path), or nil if there is none.
func Lookup(name string) *Type {
	return load().types[name]
}

// IsResourceType reports whether name is a concrete R4 resource type.
func IsResourceType(name string) bool {
	t := Lookup(name)
	return t != nil && t.Kind == Resource && !t.Abstract
}

// ResourceTypes returns the names of all concrete R4 resource types, sorted.
// The caller may modify the returned slice.
func ResourceTypes() []string {
	return append([]string(nil), load().resourceTypes...)
}

// Types returns every type of the model in definition order: data types,
// then resources, each followed by its backbone types. The caller may
// modify the returned slice but not the types.
func Types() []*Type {
	return append([]*Type(nil), load().list...)
}

// IsPrimitive reports whether name is a FHIR primitive type.
func IsPrimitive(name string) bool {
	return Lookup(name).IsPrimitive()
}

// PrimitiveTypes returns the names of the FHIR primitive types (boolean,
// string, code, date...), sorted.
func PrimitiveTypes() []string {
	return sortedNames(load().types, func(t *Type) bool { return t.Kind == Primitive })
}

// IsDataType reports whether name is a (primitive or complex) data type.
func IsDataType(name string) bool {
	t := Lookup(name)
	return t != nil && (t.Kind == Primitive || t.Kind == Complex)
}

// BaseType returns the name of the base type of name ("DomainResource" for
// "Patient", "Quantity" for "Age"), or "" when there is none or the type is
// unknown.
func BaseType(name string) string {
	t := Lookup(name)
	if t == nil || t.Base == nil {
		return ""
	}
	return t.Base.Name
}

// IsSubtypeOf reports whether type a is type b or specialises it (Patient is
// a subtype of DomainResource and Resource, Age of Quantity, code of string).
// Unknown names are subtypes of nothing.
func IsSubtypeOf(a, b string) bool {
	ta, tb := Lookup(a), Lookup(b)
	return ta != nil && tb != nil && ta.IsSubtypeOf(tb)
}

// LookupElement returns the element at a dot-separated path below typeName, e.g.
// LookupElement("Patient", "contact.name") or LookupElement("Questionnaire",
// "item.item.linkId"). The path may also start with the type name
// ("Patient.contact.name"). Choice elements are named without "[x]"; a
// choice element may be followed only by a type-specific JSON name such as
// "valueQuantity.unit". It reports false when the path does not exist.
func LookupElement(typeName, path string) (*Element, bool) {
	t := Lookup(typeName)
	if t == nil || path == "" {
		return nil, false
	}
	if rest, ok := strings.CutPrefix(path, typeName+"."); ok {
		path = rest
	}
	var el *Element
	for _, name := range strings.Split(path, ".") {
		if t == nil {
			return nil, false
		}
		el = t.Element(name)
		var next *Type
		if el != nil {
			if el.Choice {
				next = nil // a choice element must be resolved by JSON name to go further
			} else {
				next = el.Type()
			}
		} else if el = t.ElementByJSONName(name); el != nil && el.Choice {
			for _, et := range el.Types {
				if et.JSONName == name {
					next = et.Type
				}
			}
		} else {
			return nil, false
		}
		t = next
	}
	return el, el != nil
}

// ChildType returns the name of the type of the child element field of the
// type parent: ChildType("Patient", "name") is "HumanName",
// ChildType("Patient", "contact") is "Patient.contact" (a backbone type),
// ChildType("Observation", "valueQuantity") is "Quantity". For a choice
// element named without a type suffix it reports false.
func ChildType(parent, field string) (string, bool) {
	t := Lookup(parent)
	if t == nil {
		return "", false
	}
	if el := t.Element(field); el != nil {
		if el.Choice {
			return "", false
		}
		return el.Type().Name, true
	}
	if el := t.ElementByJSONName(field); el != nil && el.Choice {
		for _, et := range el.Types {
			if et.JSONName == field {
				return et.Type.Name, true
			}
		}
	}
	return "", false
}

// FHIRVersion returns the FHIR version the model was generated from.
func FHIRVersion() string { return load().version }

func sortedNames(m map[string]*Type, keep func(*Type) bool) []string {
	var names []string
	for n, t := range m {
		if keep(t) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
