package terminology

import "encoding/json"

// The types below mirror the parts of the FHIR R4 CodeSystem, ValueSet and
// ConceptMap resources the terminology service reads, and that the
// importers of official releases write. Unknown elements are not kept:
// the store keeps the resource as written; these are its working copy.

// Canonical URLs of the code systems CPMS ships.
const (
	ICD10URL  = "http://hl7.org/fhir/sid/icd-10"
	OrphaURL  = "https://www.orpha.net"
	HPOURL    = "http://human-phenotype-ontology.org"
	LOINCURL  = "http://loinc.org"
	ICDO3URL  = "http://terminology.hl7.org/CodeSystem/icd-o-3"
	ICCC3URL  = "http://terminology.hl7.org/CodeSystem/iccc-3"
	OMIMURL   = "https://omim.org"
	SynonymCS = "http://snomed.info/sct"
	// SynonymCode is SNOMED CT's "Synonym" designation use
	// (900000000000013009), as FHIR's examples use it.
	SynonymCode = "900000000000013009"
)

// CodeSystem is an R4 CodeSystem.
type CodeSystem struct {
	ResourceType     string        `json:"resourceType"`
	ID               string        `json:"id,omitempty"`
	Meta             *Meta         `json:"meta,omitempty"`
	Language         string        `json:"language,omitempty"`
	URL              string        `json:"url,omitempty"`
	Identifier       []Identifier  `json:"identifier,omitempty"`
	Version          string        `json:"version,omitempty"`
	Name             string        `json:"name,omitempty"`
	Title            string        `json:"title,omitempty"`
	Status           string        `json:"status"`
	Experimental     *bool         `json:"experimental,omitempty"`
	Date             string        `json:"date,omitempty"`
	Publisher        string        `json:"publisher,omitempty"`
	Description      string        `json:"description,omitempty"`
	Copyright        string        `json:"copyright,omitempty"`
	CaseSensitive    *bool         `json:"caseSensitive,omitempty"`
	ValueSet         string        `json:"valueSet,omitempty"`
	HierarchyMeaning string        `json:"hierarchyMeaning,omitempty"`
	Compositional    *bool         `json:"compositional,omitempty"`
	VersionNeeded    *bool         `json:"versionNeeded,omitempty"`
	Content          string        `json:"content"`
	Supplements      string        `json:"supplements,omitempty"`
	Count            int           `json:"count,omitempty"`
	Filter           []FilterDef   `json:"filter,omitempty"`
	Property         []PropertyDef `json:"property,omitempty"`
	Concept          []Concept     `json:"concept,omitempty"`
}

// Meta is the part of Resource.meta the service reads.
type Meta struct {
	VersionID   string   `json:"versionId,omitempty"`
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Profile     []string `json:"profile,omitempty"`
}

// Identifier is an R4 Identifier (system and value).
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// FilterDef is CodeSystem.filter: a filter the system supports.
type FilterDef struct {
	Code        string   `json:"code"`
	Description string   `json:"description,omitempty"`
	Operator    []string `json:"operator"`
	Value       string   `json:"value"`
}

// PropertyDef is CodeSystem.property: a property concepts may carry.
// Type is code, Coding, string, integer, boolean, dateTime or decimal.
type PropertyDef struct {
	Code        string `json:"code"`
	URI         string `json:"uri,omitempty"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type"`
}

// Concept is CodeSystem.concept, possibly with nested concepts (which
// are its children when the system's hierarchy is is-a).
type Concept struct {
	Code        string            `json:"code"`
	Display     string            `json:"display,omitempty"`
	Definition  string            `json:"definition,omitempty"`
	Designation []Designation     `json:"designation,omitempty"`
	Property    []ConceptProperty `json:"property,omitempty"`
	Concept     []Concept         `json:"concept,omitempty"`
}

// Designation is an additional representation of a concept: a synonym,
// a translation (Language), a fully specified name (Use).
type Designation struct {
	Language string  `json:"language,omitempty"`
	Use      *Coding `json:"use,omitempty"`
	Value    string  `json:"value"`
}

// Coding is an R4 Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Version string `json:"version,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// ConceptProperty is CodeSystem.concept.property: one value[x].
type ConceptProperty struct {
	Code          string   `json:"code"`
	ValueCode     string   `json:"valueCode,omitempty"`
	ValueCoding   *Coding  `json:"valueCoding,omitempty"`
	ValueString   string   `json:"valueString,omitempty"`
	ValueInteger  *int64   `json:"valueInteger,omitempty"`
	ValueBoolean  *bool    `json:"valueBoolean,omitempty"`
	ValueDateTime string   `json:"valueDateTime,omitempty"`
	ValueDecimal  *float64 `json:"valueDecimal,omitempty"`
}

// ValueSet is an R4 ValueSet (definition and, when given, expansion).
type ValueSet struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Meta         *Meta             `json:"meta,omitempty"`
	URL          string            `json:"url,omitempty"`
	Identifier   []Identifier      `json:"identifier,omitempty"`
	Version      string            `json:"version,omitempty"`
	Name         string            `json:"name,omitempty"`
	Title        string            `json:"title,omitempty"`
	Status       string            `json:"status"`
	Experimental *bool             `json:"experimental,omitempty"`
	Date         string            `json:"date,omitempty"`
	Publisher    string            `json:"publisher,omitempty"`
	Description  string            `json:"description,omitempty"`
	Immutable    *bool             `json:"immutable,omitempty"`
	Copyright    string            `json:"copyright,omitempty"`
	Contained    []json.RawMessage `json:"contained,omitempty"`
	Compose      *Compose          `json:"compose,omitempty"`
	Expansion    *Expansion        `json:"expansion,omitempty"`
	Extension    []json.RawMessage `json:"extension,omitempty"`
}

// Compose is ValueSet.compose.
type Compose struct {
	LockedDate string    `json:"lockedDate,omitempty"`
	Inactive   *bool     `json:"inactive,omitempty"`
	Include    []Include `json:"include"`
	Exclude    []Include `json:"exclude,omitempty"`
}

// Include is ValueSet.compose.include (and exclude).
type Include struct {
	System   string           `json:"system,omitempty"`
	Version  string           `json:"version,omitempty"`
	Concept  []IncludeConcept `json:"concept,omitempty"`
	Filter   []Filter         `json:"filter,omitempty"`
	ValueSet []string         `json:"valueSet,omitempty"`
}

// IncludeConcept is ValueSet.compose.include.concept.
type IncludeConcept struct {
	Code        string        `json:"code"`
	Display     string        `json:"display,omitempty"`
	Designation []Designation `json:"designation,omitempty"`
}

// Filter is ValueSet.compose.include.filter.
type Filter struct {
	Property string `json:"property"`
	Op       string `json:"op"`
	Value    string `json:"value"`
}

// Expansion is ValueSet.expansion.
type Expansion struct {
	Identifier string               `json:"identifier,omitempty"`
	Timestamp  string               `json:"timestamp"`
	Total      *int                 `json:"total,omitempty"`
	Offset     *int                 `json:"offset,omitempty"`
	Parameter  []ExpansionParameter `json:"parameter,omitempty"`
	Contains   []Contains           `json:"contains,omitempty"`
}

// ExpansionParameter is ValueSet.expansion.parameter.
type ExpansionParameter struct {
	Name         string `json:"name"`
	ValueString  string `json:"valueString,omitempty"`
	ValueBoolean *bool  `json:"valueBoolean,omitempty"`
	ValueInteger *int64 `json:"valueInteger,omitempty"`
	ValueURI     string `json:"valueUri,omitempty"`
	ValueCode    string `json:"valueCode,omitempty"`
}

// Contains is ValueSet.expansion.contains.
type Contains struct {
	System      string        `json:"system,omitempty"`
	Abstract    *bool         `json:"abstract,omitempty"`
	Inactive    *bool         `json:"inactive,omitempty"`
	Version     string        `json:"version,omitempty"`
	Code        string        `json:"code,omitempty"`
	Display     string        `json:"display,omitempty"`
	Designation []Designation `json:"designation,omitempty"`
	Contains    []Contains    `json:"contains,omitempty"`
}

// ConceptMap is an R4 ConceptMap.
type ConceptMap struct {
	ResourceType    string      `json:"resourceType"`
	ID              string      `json:"id,omitempty"`
	Meta            *Meta       `json:"meta,omitempty"`
	URL             string      `json:"url,omitempty"`
	Identifier      *Identifier `json:"identifier,omitempty"`
	Version         string      `json:"version,omitempty"`
	Name            string      `json:"name,omitempty"`
	Title           string      `json:"title,omitempty"`
	Status          string      `json:"status"`
	Date            string      `json:"date,omitempty"`
	Publisher       string      `json:"publisher,omitempty"`
	Description     string      `json:"description,omitempty"`
	Copyright       string      `json:"copyright,omitempty"`
	SourceURI       string      `json:"sourceUri,omitempty"`
	SourceCanonical string      `json:"sourceCanonical,omitempty"`
	TargetURI       string      `json:"targetUri,omitempty"`
	TargetCanonical string      `json:"targetCanonical,omitempty"`
	Group           []MapGroup  `json:"group,omitempty"`
}

// MapGroup is ConceptMap.group: mappings from one system to another.
type MapGroup struct {
	Source        string       `json:"source,omitempty"`
	SourceVersion string       `json:"sourceVersion,omitempty"`
	Target        string       `json:"target,omitempty"`
	TargetVersion string       `json:"targetVersion,omitempty"`
	Element       []MapElement `json:"element"`
}

// MapElement is ConceptMap.group.element: one source concept.
type MapElement struct {
	Code    string      `json:"code,omitempty"`
	Display string      `json:"display,omitempty"`
	Target  []MapTarget `json:"target,omitempty"`
}

// MapTarget is ConceptMap.group.element.target. Equivalence is R4's
// ConceptMapEquivalence: relatedto, equivalent, equal, wider, subsumes,
// narrower, specializes, inexact, unmatched, disjoint.
type MapTarget struct {
	Code        string `json:"code,omitempty"`
	Display     string `json:"display,omitempty"`
	Equivalence string `json:"equivalence"`
	Comment     string `json:"comment,omitempty"`
}
