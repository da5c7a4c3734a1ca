package storetest

import (
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// inCompartment is the clause of a search in the compartment of
// owner/id.
func inCompartment(owner fhir.ResourceType, id fhir.ID) search.Clause {
	return search.Clause{Param: search.CompartmentParam, Type: search.TypeReference, Values: []search.Value{{Type: owner, ID: id}}}
}

// testSearchCompartments: a clause on search.CompartmentParam finds the
// resources that refer to the owner through one of the parameters of the
// compartment's definition for their type, and the owner itself; not
// through another parameter, nor another server's resource of the same
// id; on one type and on several, with other clauses.
func testSearchCompartments(t *testing.T, s engine.Store) {
	fixtures := []*fixture{
		fx(patient, "p0"),
		fx(patient, "p1").ref("link", patient, "p0").ref("general-practitioner", practitioner, "dr"),
		fx(patient, "p2"),
		fx(practitioner, "dr"),
		fx(observation, "o1").ref("subject", patient, "p1").ref("patient", patient, "p1").ref("performer", practitioner, "dr").tok("code", loinc, "1-1"),
		fx(observation, "o2").ref("subject", patient, "p2").ref("patient", patient, "p2").ref("performer", patient, "p1").tok("code", loinc, "2-2"),
		fx(observation, "o3").ref("subject", patient, "p2").ref("patient", patient, "p2").ref("focus", patient, "p1"),
		fx(observation, "o4").refValue(search.Reference{Param: "subject", URL: "https://elsewhere.example/fhir/Patient/p1"}),
		fx(encounter, "e1").ref("subject", patient, "p1").ref("patient", patient, "p1").ref("practitioner", practitioner, "dr"),
		fx(condition, "c1").ref("subject", patient, "p1").ref("patient", patient, "p1").ref("asserter", practitioner, "dr"),
		fx(organization, "org"),
	}
	p1 := inCompartment(patient, "p1")
	o := of(observation)
	vectors := []vector{
		{name: "subject or performer", q: sq(o, p1), want: refs(observation, "o1", "o2")},
		{name: "another patient", q: sq(o, inCompartment(patient, "p2")), want: refs(observation, "o2", "o3")},
		{name: "and a code", q: sq(o, p1, tokenClause("code", search.ModNone, sc(loinc, "2-2"))), want: refs(observation, "o2")},
		{name: "several types", q: sq(of(observation, encounter, condition, patient), p1),
			want: append(append(append(refs(observation, "o1", "o2"), refs(encounter, "e1")...), refs(condition, "c1")...), refs(patient, "p1")...)},
		{name: "the owner and who links to it", q: sq(of(patient), inCompartment(patient, "p0")), want: refs(patient, "p0", "p1")},
		{name: "a practitioner's", q: sq(of(observation, encounter, condition, patient, practitioner), inCompartment(practitioner, "dr")),
			want: append(append(append(append(refs(observation, "o1"), refs(encounter, "e1")...), refs(condition, "c1")...), refs(patient, "p1")...), refs(practitioner, "dr")...)},
		{name: "a type outside the compartment", q: sq(of(organization), p1)},
		{name: "nobody's", q: sq(o, inCompartment(patient, "nobody"))},
		{name: "a type that owns no compartment", q: sq(o, inCompartment(organization, "org")), fails: failsWith(fhir.KindInvalid)},
	}
	runVectors(t, s, fixtures, vectors)
}
