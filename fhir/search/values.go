package search

import (
	"math"

	"github.com/cpms-fhir/cpms/fhir"
)

// ParamType is the type of a search parameter.
type ParamType string

// The search parameter types of FHIR R4.
const (
	TypeNumber    ParamType = "number"
	TypeDate      ParamType = "date"
	TypeString    ParamType = "string"
	TypeToken     ParamType = "token"
	TypeReference ParamType = "reference"
	TypeComposite ParamType = "composite"
	TypeQuantity  ParamType = "quantity"
	TypeURI       ParamType = "uri"
	TypeSpecial   ParamType = "special"
)

// Index is the set of search values extracted from one version of a
// resource: the values of every search parameter of its type, each tagged
// with the parameter's code. A store keeps the index of the current
// version of each resource and replaces it on every write.
//
// The engine adds _id (a Token with the id as Code and no system) and
// _lastUpdated (a Date [ms, ms+1)) on every write; a store may answer
// those two from its own record of the resource instead.
//
// Values are normalised at extraction so that stores compare plainly:
// strings folded (Fold), dates as millisecond ranges, numbers and
// quantities as float ranges, references split into type and id.
type Index struct {
	Tokens     []Token
	Strings    []String
	Dates      []Date
	Numbers    []Number
	Quantities []Quantity
	References []Reference
	URIs       []URI
	Composites []Composite
}

// Token is a value of a token parameter: a code in a system (a Coding, an
// Identifier's value in its system, a code, boolean or id element, a
// ContactPoint's value). System is "" when the value has no system. Text
// is the folded display or text (Coding.display, CodeableConcept.text,
// Identifier.type.text) that the :text modifier searches; a token that
// only carries text (a CodeableConcept's text) has an empty Code.
//
// For a ContactPoint, System is the ContactPoint's own system code
// (phone, email). Two derived forms share the token table under a
// suffixed parameter:
// "<param>:of-type" holds Identifier values as Code "typeSystem|typeCode|value"
// for the :of-type modifier, and "<param>:identifier" holds a Reference's
// identifier (System, Code = value) for the :identifier modifier.
type Token struct {
	Param  string
	System string
	Code   string
	Text   string
}

// Suffixes of the derived token parameters (see Token).
const (
	SuffixOfType     = ":of-type"
	SuffixIdentifier = ":identifier"
)

// String is a value of a string parameter. Value is Fold(Exact), for the
// default starts-with and :contains matches; Exact is the value as
// written, for :exact (a store may use the index on Value to find it).
type String struct {
	Param string
	Value string
	Exact string
}

// Date is a value of a date parameter: the span of time the value stands
// for at its precision ("2024" is all of 2024; a Period from its start to
// its end), as Unix milliseconds, Lo included and Hi excluded. An open
// end is MinTime or MaxTime.
type Date struct {
	Param  string
	Lo, Hi int64
}

// The bounds of an open Date.
const (
	MinTime int64 = math.MinInt64
	MaxTime int64 = math.MaxInt64
)

// Number is a value of a number parameter: Lo == Hi for a single value,
// the bounds of a Range otherwise; an open side is -Inf or +Inf (never
// NaN).
type Number struct {
	Param  string
	Lo, Hi float64
}

// Quantity is a value of a quantity parameter: its value (Lo == Hi, or the
// bounds of a Range) with its system, code and unit as written, and, when
// the unit is a UCUM unit the server can convert, the value in the
// canonical unit of its dimension (CanonicalCode, CanonicalLo and
// CanonicalHi), so that "5.4|http://unitsofmeasure.org|mg" finds a value
// stored in g. An open side (a Range without low, a comparator such as
// "<5") is -Inf or +Inf.
type Quantity struct {
	Param                    string
	Lo, Hi                   float64
	System, Code, Unit       string
	CanonicalCode            string
	CanonicalLo, CanonicalHi float64
}

// Reference is a value of a reference parameter. A literal reference to a
// resource on this server has Type and ID (from "Type/id", or an absolute
// URL under the server's base URL; Version from ".../_history/v"). URL
// holds the reference as written when it is absolute (another server's
// resource has only URL), and the canonical URL (without |version, which
// goes to Version) for canonical elements.
type Reference struct {
	Param   string
	Type    fhir.ResourceType
	ID      fhir.ID
	Version string
	URL     string
}

// URI is a value of a uri parameter.
type URI struct {
	Param string
	Value string
}

// Composite is a value of a composite parameter: one value per component,
// in the order of the parameter's definition, taken from the same element
// (one Observation.component for component-code-value-quantity). The
// parts carry the composite's Param; token parts have no Text.
type Composite struct {
	Param string
	Parts []Part
}

// Part is one component of a Composite; exactly one field is set.
type Part struct {
	Token     *Token
	String    *String
	Date      *Date
	Number    *Number
	Quantity  *Quantity
	Reference *Reference
	URI       *URI
}
