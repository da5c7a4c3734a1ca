package fhirpath

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir/model"
)

// Item is one value of a FHIRPath collection. An item either comes from the
// resource (it then carries its FHIR type: a Coding, a HumanName, a date...,
// and the JSON value it was read from) or was computed by the expression (it
// then has a FHIRPath System type: System.String, System.Quantity...).
//
// Items are small values; copy them freely. The JSON they refer to is shared
// with the input resource and must not be modified.
type Item struct {
	t   *model.Type      // FHIR type; nil for System values
	sys model.SystemType // System type of the value (FHIR primitives and Quantity included)
	// v holds the value:
	//   FHIR complex types and resources: map[string]any (the JSON object)
	//   FHIR primitives: string, json.Number, bool, or nil when only an
	//     extension is present
	//   System values: bool, string, int64 or json.Number (Integer),
	//     Decimal or json.Number (Decimal), DateTime (Date, DateTime, Time),
	//     Quantity, typeInfo (type() results), refTarget (resolve())
	v any
	// ext is the JSON object holding the id and extensions of a primitive
	// (the "_name" sibling in FHIR JSON).
	ext map[string]any
	// at is where the item was read, when the evaluation records it
	// (WithLocations).
	at *Location
}

// Location is where an item was read in the JSON of the input: the object
// that holds it, the element it is a value of, and its place.
type Location struct {
	// Parent is the JSON object holding the item (for the id and extensions
	// of a primitive, the object holding the primitive).
	Parent map[string]any
	// ParentType is the FHIR type of Parent.
	ParentType *model.Type
	// Element is the element of ParentType the item is a value of.
	Element *model.Element
	// Key is the JSON property of the value ("valueQuantity", "given"),
	// and ExtKey that of the primitive's id and extensions ("_given"), ""
	// for a complex type.
	Key, ExtKey string
	// Index is the item's position in the property's array, or -1 when
	// the property is not an array.
	Index int
}

// Location returns where the item was read in the input, or nil when the
// evaluation did not record it (see WithLocations) or the item was
// computed by the expression rather than read from the input.
func (it Item) Location() *Location { return it.at }

// Collection is an ordered FHIRPath collection. Collections returned by
// Evaluate belong to the caller.
type Collection []Item

// typeInfo is the value returned by type().
type typeInfo struct {
	namespace, name, base string
}

// refTarget is the placeholder returned by the default resolve(): a resource
// known only by its type and reference.
type refTarget struct {
	ref string
}

// FHIRType returns the FHIR type of the item ("HumanName", "code",
// "Patient", "BackboneElement"), or "" for a System value.
func (it Item) FHIRType() string {
	if it.t == nil {
		return ""
	}
	return it.t.TypeName()
}

// Type returns the FHIR model type of the item, or nil for a System value.
// For a backbone element it is the anonymous type named by its path
// ("Patient.contact").
func (it Item) Type() *model.Type { return it.t }

// SystemType returns the FHIRPath System type of the value: for a System
// value its type, for a FHIR primitive the System type it converts to
// (code → System.String), for a Quantity System.Quantity, and NoSystemType
// for other FHIR complex values and resources.
func (it Item) SystemType() model.SystemType { return it.sys }

// TypeName returns the qualified type name: "FHIR.code", "FHIR.Patient",
// "System.Integer".
func (it Item) TypeName() string {
	if it.t != nil {
		return "FHIR." + it.t.TypeName()
	}
	if _, ok := it.v.(typeInfo); ok {
		return "System.SimpleTypeInfo"
	}
	return it.sys.String()
}

// Value returns the underlying value: the JSON value for items read from the
// resource (map[string]any for complex values, string, json.Number or bool
// for primitives, nil for a primitive that only has extensions), or for a
// System value a bool, string, int64, json.Number, Decimal, DateTime or
// Quantity.
func (it Item) Value() any { return it.v }

// PrimitiveExtension returns the JSON object holding the id and extensions
// of a primitive value (the "_field" sibling in FHIR JSON), or nil.
func (it Item) PrimitiveExtension() map[string]any { return it.ext }

// HasValue reports whether the item has a primitive value (false for complex
// values and for primitives that only carry extensions).
func (it Item) HasValue() bool {
	if it.sys == model.NoSystemType || it.v == nil {
		return false
	}
	if it.t != nil && it.sys == model.SystemQuantity {
		return false
	}
	return true
}

// String returns the FHIRPath string form of a primitive or Quantity value,
// as toString() does, or "" for other values.
func (it Item) String() string {
	s, _ := it.toString()
	return s
}

// AsString returns the value of a String-typed item (string, code, uri, id,
// markdown...).
func (it Item) AsString() (string, bool) {
	if it.sys != model.SystemString {
		return "", false
	}
	s, ok := it.v.(string)
	return s, ok
}

// AsBool returns the value of a Boolean-typed item.
func (it Item) AsBool() (bool, bool) {
	if it.sys != model.SystemBoolean {
		return false, false
	}
	b, ok := it.v.(bool)
	return b, ok
}

// AsInteger returns the value of an Integer-typed item (integer,
// positiveInt, unsignedInt, System.Integer).
func (it Item) AsInteger() (int64, bool) {
	if it.sys != model.SystemInteger {
		return 0, false
	}
	return intValue(it.v)
}

// AsDecimal returns the value of a Decimal- or Integer-typed item, keeping
// the precision written in the resource.
func (it Item) AsDecimal() (Decimal, bool) {
	switch it.sys {
	case model.SystemDecimal:
		return decimalValue(it.v)
	case model.SystemInteger:
		n, ok := intValue(it.v)
		return DecimalFromInt(n), ok
	}
	return Decimal{}, false
}

// AsDateTime returns the value of a Date-, DateTime- or Time-typed item with
// its precision and timezone.
func (it Item) AsDateTime() (DateTime, bool) {
	switch it.sys {
	case model.SystemDate, model.SystemDateTime, model.SystemTime:
		return temporalValue(it.v, it.sys)
	}
	return DateTime{}, false
}

// AsQuantity returns the value of a System.Quantity or of a FHIR Quantity
// (Age, Duration...) that has a value. The unit of a FHIR Quantity is its
// UCUM code when its system is UCUM (or absent), its unit text otherwise.
func (it Item) AsQuantity() (Quantity, bool) {
	if it.sys != model.SystemQuantity {
		return Quantity{}, false
	}
	switch v := it.v.(type) {
	case Quantity:
		return v, true
	case map[string]any:
		return fhirQuantity(v)
	}
	return Quantity{}, false
}

// Map returns the JSON object of a complex value or resource.
func (it Item) Map() (map[string]any, bool) {
	m, ok := it.v.(map[string]any)
	return m, ok
}

func fhirQuantity(m map[string]any) (Quantity, bool) {
	d, ok := decimalValue(m["value"])
	if !ok {
		return Quantity{}, false
	}
	sys, _ := m["system"].(string)
	code, _ := m["code"].(string)
	unit, _ := m["unit"].(string)
	u := "1"
	switch {
	case code != "" && (sys == "" || sys == ucumSystem):
		u = code
	case unit != "":
		u = unit
	case code != "":
		u = code
	}
	return Quantity{Value: d, Unit: u}, true
}

const ucumSystem = "http://unitsofmeasure.org"

func intValue(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case float64: // decoded without UseNumber
		if v != float64(int64(v)) {
			return 0, false
		}
		return int64(v), true
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			// FHIR JSON may write integers as 1.0 or 1e2.
			d, ok := ParseDecimal(string(v))
			if !ok || !d.IsInteger() {
				return 0, false
			}
			return d.Int64()
		}
		return n, true
	}
	return 0, false
}

func decimalValue(v any) (Decimal, bool) {
	switch v := v.(type) {
	case Decimal:
		return v, true
	case json.Number:
		return ParseDecimal(string(v))
	case int64:
		return DecimalFromInt(v), true
	case float64: // decoded without UseNumber: the written precision is lost
		return decimalFromFloat(v)
	}
	return Decimal{}, false
}

func temporalValue(v any, sys model.SystemType) (DateTime, bool) {
	switch v := v.(type) {
	case DateTime:
		return v, true
	case string:
		switch sys {
		case model.SystemDate:
			return ParseDate(v)
		case model.SystemDateTime:
			return ParseDateTime(v)
		case model.SystemTime:
			return ParseTime(v)
		}
	}
	return DateTime{}, false
}

// toString converts a primitive or quantity to its FHIRPath string form.
func (it Item) toString() (string, bool) {
	switch v := it.v.(type) {
	case string:
		if it.sys == model.NoSystemType {
			return "", false
		}
		return v, true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	case json.Number:
		if it.sys == model.SystemInteger || it.sys == model.SystemDecimal {
			return string(v), true
		}
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		if it.sys == model.SystemInteger || it.sys == model.SystemDecimal {
			return strconv.FormatFloat(v, 'f', -1, 64), true
		}
	case Decimal:
		return v.String(), true
	case DateTime:
		return v.String(), true
	case Quantity:
		return v.String(), true
	case map[string]any:
		if it.sys == model.SystemQuantity {
			if q, ok := fhirQuantity(v); ok {
				return q.String(), true
			}
		}
	}
	return "", false
}

// System value constructors.

func boolItem(b bool) Item   { return Item{sys: model.SystemBoolean, v: b} }
func strItem(s string) Item  { return Item{sys: model.SystemString, v: s} }
func intItem(n int64) Item   { return Item{sys: model.SystemInteger, v: n} }
func decItem(d Decimal) Item { return Item{sys: model.SystemDecimal, v: d} }
func qtyItem(q Quantity) Item {
	return Item{sys: model.SystemQuantity, v: q}
}
func dtItem(d DateTime) Item {
	sys := model.SystemDateTime
	switch d.Kind {
	case KindDate:
		sys = model.SystemDate
	case KindTime:
		sys = model.SystemTime
	}
	return Item{sys: sys, v: d}
}

// Shared read-only singleton collections.
var (
	trueColl  = []Item{boolItem(true)}
	falseColl = []Item{boolItem(false)}
)

func boolColl(b bool) []Item {
	if b {
		return trueColl
	}
	return falseColl
}

// NewItem wraps a Go value as a System-typed item: bool, string, int, int64,
// float64, Decimal, DateTime, Quantity or json.Number (Decimal). A
// map[string]any with a resourceType becomes a typed resource. It returns
// false for other values.
func NewItem(v any) (Item, bool) {
	switch v := v.(type) {
	case Item:
		return v, true
	case bool:
		return boolItem(v), true
	case string:
		return strItem(v), true
	case int:
		return intItem(int64(v)), true
	case int64:
		return intItem(v), true
	case float64:
		d, ok := decimalFromFloat(v)
		return decItem(d), ok
	case json.Number:
		if !strings.ContainsAny(string(v), ".eE") {
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				return intItem(n), true
			}
		}
		d, ok := ParseDecimal(string(v))
		return decItem(d), ok
	case Decimal:
		return decItem(v), true
	case DateTime:
		return dtItem(v), true
	case Quantity:
		return qtyItem(v), true
	case map[string]any:
		return resourceItem(v), true
	}
	return Item{}, false
}

// ResourceItem returns an item for a decoded FHIR resource, typed by its
// resourceType (untyped when the type is missing or unknown).
func ResourceItem(resource map[string]any) Item { return resourceItem(resource) }

func resourceItem(m map[string]any) Item {
	rt, _ := m["resourceType"].(string)
	t := model.Lookup(rt)
	if t != nil && t.Kind != model.Resource {
		t = nil
	}
	return Item{t: t, v: m}
}

// TypedItem returns an item for a JSON value of the given FHIR type (for
// example a HumanName object, or a date string), as if read from a
// resource. It returns false for an unknown type name.
func TypedItem(typeName string, value any) (Item, bool) {
	t := model.Lookup(typeName)
	if t == nil {
		return Item{}, false
	}
	return Item{t: t, sys: t.System, v: value}, true
}
