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

// twoOwners is the clause of a search in the compartments of two owners.
func twoOwners(t1 fhir.ResourceType, id1 fhir.ID, t2 fhir.ResourceType, id2 fhir.ID) search.Clause {
	return search.Clause{Param: search.CompartmentParam, Type: search.TypeReference, Values: []search.Value{{Type: t1, ID: id1}, {Type: t2, ID: id2}}}
}

// testSearchCompartments: a clause on search.CompartmentParam finds the
// resources that refer to the owner through one of the parameters of the
// compartment's definition for their type, and the owner itself; not
// through another parameter, nor another server's resource of the same
// id; on one type and on several, with other clauses; in the compartments
// of several owners.
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
		{name: "two patients'", q: sq(of(observation, patient), twoOwners(patient, "p0", patient, "p2")),
			want: append(refs(observation, "o2", "o3"), refs(patient, "p0", "p1", "p2")...)},
		{name: "owners of two types", q: sq(o, twoOwners(patient, "p1", practitioner, "dr")), fails: failsWith(fhir.KindInvalid)},
	}
	runVectors(t, s, fixtures, vectors)
}

// window is the clauses of a window of care dates from start to end
// ("" for no bound; search.CareDateWindow).
func window(start, end string) []search.Clause {
	var s, e *search.Value
	if start != "" {
		v := dv(search.PrefixEq, start)
		s = &v
	}
	if end != "" {
		v := dv(search.PrefixEq, end)
		e = &v
	}
	return search.CareDateWindow(s, e)
}

// testSearchCareDates: clauses on search.CareDateParam find the resources
// whose care date (Observation and Encounter date, QuestionnaireResponse
// authored) overlaps the window, and those with no care date: of a type
// that has none (Patient, Condition), or without a value.
func testSearchCareDates(t *testing.T, s engine.Store) {
	fixtures := []*fixture{
		fx(patient, "p1"),
		fx(patient, "p2"),
		fx(observation, "o2019").ref("subject", patient, "p1").date("date", "2019-06-01"),
		fx(observation, "o2020").ref("subject", patient, "p1").date("date", "2020-06-01T10:00:00Z"),
		fx(observation, "o2021").ref("subject", patient, "p1").date("date", "2021-01-01"),
		fx(observation, "undated").ref("subject", patient, "p1").tok("code", loinc, "1-1"),
		fx(observation, "other").ref("subject", patient, "p2").date("date", "2020-03-01"),
		fx(encounter, "across").ref("patient", patient, "p1").period("date", "2019-12-20", "2020-01-05"),
		fx(encounter, "open").ref("patient", patient, "p1").period("date", "2018-01-01", ""),
		fx(questionnaire, "q2018").ref("subject", patient, "p1").date("authored", "2018-05-05"),
		fx(questionnaire, "q2020").ref("subject", patient, "p1").date("authored", "2020-12-31"),
		fx(condition, "c1").ref("patient", patient, "p1").date("onset-date", "2010-01-01"),
	}
	all := of(observation, encounter, questionnaire, condition, patient)
	in := func(start, end string) *search.Query {
		return sq(all, append([]search.Clause{inCompartment(patient, "p1")}, window(start, end)...)...)
	}
	join := func(lists ...[]string) []string {
		var out []string
		for _, l := range lists {
			out = append(out, l...)
		}
		return out
	}
	always := join(refs(observation, "undated"), refs(condition, "c1"), refs(patient, "p1"))
	vectors := []vector{
		{name: "a year by its days", q: in("2020-01-01", "2020-12-31"),
			want: join(refs(observation, "o2020"), always, refs(encounter, "across", "open"), refs(questionnaire, "q2020"))},
		{name: "a year", q: in("2020", "2020"),
			want: join(refs(observation, "o2020"), always, refs(encounter, "across", "open"), refs(questionnaire, "q2020"))},
		{name: "from a year on", q: in("2020", ""),
			want: join(refs(observation, "o2020", "o2021"), always, refs(encounter, "across", "open"), refs(questionnaire, "q2020"))},
		{name: "up to a month", q: in("", "2019-12"),
			want: join(refs(observation, "o2019"), always, refs(encounter, "across", "open"), refs(questionnaire, "q2018"))},
		{name: "from the day a stay ended", q: in("2020-01-05", "2020-01-05"), want: join(always, refs(encounter, "across", "open"))},
		{name: "from the day after", q: in("2020-01-06", "2020-01-06"), want: join(always, refs(encounter, "open"))},
		{name: "before any care", q: in("", "2017"), want: always},
		{name: "every patient's", q: sq(of(observation), window("2020", "2020")...), want: refs(observation, "o2020", "undated", "other")},
		{name: "two values", q: sq(all, search.Clause{Param: search.CareDateParam, Type: search.TypeSpecial,
			Values: []search.Value{dv(search.PrefixGe, "2020"), dv(search.PrefixLe, "2021")}}), fails: failsWith(fhir.KindInvalid)},
	}
	runVectors(t, s, fixtures, vectors)
}
