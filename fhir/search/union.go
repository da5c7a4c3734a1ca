package search

import "github.com/cpms-fhir/cpms/fhir"

// Union parameters. Some R4 parameters are defined as the union of others
// of the same resource type: Observation's combo-code is
// "Observation.code | Observation.component.code", the expressions of code
// and component-code together. A resource's values for such a parameter
// are exactly its values for the others, so a store may keep only theirs
// and answer a search on the union from them: a value matches when it
// matches one of the parts (for :not and :missing=true, when it matches
// all of them), and a resource sorts by its lowest (highest) value over
// all the parts. For Synthea's Observations the combo parameters are a
// fifth of all the search values.
//
// The relation is a property of the R4 definitions, which a server cannot
// change (a custom parameter can neither redefine them nor take their
// codes); TestUnionsMatchDefinitions checks it against them.

// unions maps the union parameters of each type to their parts.
var unions = map[fhir.ResourceType]map[string][]string{
	"Observation": {
		"combo-code":                {"code", "component-code"},
		"combo-data-absent-reason":  {"data-absent-reason", "component-data-absent-reason"},
		"combo-value-concept":       {"value-concept", "component-value-concept"},
		"combo-value-quantity":      {"value-quantity", "component-value-quantity"},
		"combo-code-value-concept":  {"code-value-concept", "component-code-value-concept"},
		"combo-code-value-quantity": {"code-value-quantity", "component-code-value-quantity"},
	},
}

// UnionOf returns the parameters of resource type t whose values together
// are those of parameter code, or nil when code is not such a union.
func UnionOf(t fhir.ResourceType, code string) []string {
	return unions[t][code]
}

// Unions returns the union parameters of resource type t with their parts
// (nil when it has none). The map is shared: callers must not modify it.
func Unions(t fhir.ResourceType) map[string][]string {
	return unions[t]
}
