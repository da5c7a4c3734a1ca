package search

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/internal/gendata"
)

//go:generate go run ./internal/cmd/gencompartments -out compartments.json.gz

// Compartments (R4 compartmentdefinition.html). A compartment is the set
// of resources that refer to one resource, its owner, through the
// parameters its definition names: the Patient compartment of Patient/1
// holds the Observations whose subject or performer is Patient/1, the
// Conditions whose patient or asserter is, and so on. The owner is in
// its own compartment ("the identity of the compartment is the same as
// the patient").
//
// A search in a compartment (Patient/1/Observation, Patient/1/$everything)
// is a clause on CompartmentParam whose one value is the owner. A store
// answers it from the values it already keeps: a resource matches when it
// matches one of the clause's parts for its type (CompartmentParts), a
// reference clause on each parameter of the definition, and _id for the
// owner's type. Nothing more is indexed, and a store written before
// compartments were searched answers them at once.

// compartmentData is the generated table of the R4 compartment
// definitions, derived from profiles-resources.json of the R4
// definitions by internal/gen. TestGeneratedCompartmentsUpToDate fails
// when it differs from a fresh generation.
//
//go:embed compartments.json.gz
var compartmentData []byte

// CompartmentParam is the parameter of a clause that selects the
// resources of a compartment. Its code is not a valid SearchParameter
// code, so no search parameter, R4 or custom, can take it, and clients
// cannot name it in a search.
const CompartmentParam = "compartment()"

// Compartment is one R4 compartment definition.
type Compartment struct {
	// Code is the owner's resource type: Patient, Encounter,
	// RelatedPerson, Practitioner or Device.
	Code fhir.ResourceType
	// URL is the canonical URL of the CompartmentDefinition.
	URL string
	// members maps each resource type that can be in the compartment to
	// the reference parameters that put it there.
	members map[fhir.ResourceType][]string
	types   []fhir.ResourceType
}

// Types returns the resource types that can be in the compartment, the
// owner's type among them, in order. The slice is shared.
func (c *Compartment) Types() []fhir.ResourceType { return c.types }

// Has reports whether resources of type t can be in the compartment.
func (c *Compartment) Has(t fhir.ResourceType) bool {
	_, ok := c.members[t]
	return ok || t == c.Code
}

// Params returns the parameters through which a resource of type t is in
// the compartment. The slice is shared.
func (c *Compartment) Params(t fhir.ResourceType) []string { return c.members[t] }

var compartments = func() []*Compartment {
	data, err := gendata.Gunzip(compartmentData)
	if err != nil {
		panic(fmt.Sprintf("search: compartment table: %v", err))
	}
	var table struct {
		Compartments []struct {
			Code    fhir.ResourceType              `json:"code"`
			URL     string                         `json:"url"`
			Members map[fhir.ResourceType][]string `json:"members"`
		} `json:"compartments"`
	}
	if err := json.Unmarshal(data, &table); err != nil {
		panic(fmt.Sprintf("search: compartment table: %v", err))
	}
	var out []*Compartment
	for _, tc := range table.Compartments {
		c := &Compartment{Code: tc.Code, URL: tc.URL, members: tc.Members}
		c.types = slices.Sorted(maps.Keys(c.members))
		if !slices.Contains(c.types, c.Code) {
			c.types = append(c.types, c.Code)
			slices.Sort(c.types)
		}
		out = append(out, c)
	}
	return out
}()

// Compartments returns the R4 compartments, ordered by code. The slice is
// shared.
func Compartments() []*Compartment { return compartments }

// CompartmentOf returns the compartment whose owners are of type code, or
// nil when that type owns none.
func CompartmentOf(code fhir.ResourceType) *Compartment {
	for _, c := range compartments {
		if c.Code == code {
			return c
		}
	}
	return nil
}

// CompartmentParts returns the clauses one of which a resource of type t
// matches when it is in one of the compartments that cl, a clause on
// CompartmentParam, names by its values (each an owner: Type the owner's
// type, the same for all, ID its id): a reference clause on each
// parameter through which the definition puts t in the compartment, and
// an _id clause when t is the owner's type. It returns nil when resources
// of type t are never in such a compartment, and an error when cl does
// not name one.
func CompartmentParts(t fhir.ResourceType, cl *Clause) ([]Clause, error) {
	if len(cl.Values) == 0 || cl.Modifier != ModNone || cl.Missing != nil {
		return nil, fmt.Errorf("search: a compartment clause names its owners, without modifier")
	}
	code := cl.Values[0].Type
	c := CompartmentOf(code)
	owners := make([]Value, len(cl.Values))
	ids := make([]Value, len(cl.Values))
	for i, owner := range cl.Values {
		if c == nil || owner.Type != code || owner.ID == "" {
			return nil, fmt.Errorf("search: %s/%s owns no compartment of %s", owner.Type, owner.ID, code)
		}
		owners[i] = Value{Type: owner.Type, ID: owner.ID}
		ids[i] = Value{Code: string(owner.ID)}
	}
	var parts []Clause
	for _, p := range c.members[t] {
		parts = append(parts, Clause{Param: p, Type: TypeReference, Values: owners})
	}
	if t == c.Code {
		parts = append(parts, Clause{Param: "_id", Type: TypeToken, Values: ids})
	}
	return parts, nil
}

// CompartmentParams returns every parameter through which any resource
// type is in the compartments of owner type code, in order: a store that
// narrows by parameter without regard to type (and tests each candidate
// after) narrows by these.
func CompartmentParams(code fhir.ResourceType) []string {
	c := CompartmentOf(code)
	if c == nil {
		return nil
	}
	var out []string
	for _, params := range c.members {
		for _, p := range params {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}
