package search

import (
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
)

// Each care date is an R4 date parameter of its type, and each type with
// one is in the Patient or the Encounter compartment, where $everything
// uses it. Every type with the common parameter clinical-date has it as
// its care date.
func TestCareDates(t *testing.T) {
	tb := NewTable()
	patient, encounter := CompartmentOf("Patient"), CompartmentOf("Encounter")
	for typ, code := range careDates {
		p, ok := tb.Lookup(typ, code)
		if !ok || p.Type != TypeDate {
			t.Errorf("the care date of %s, %s, is not one of its date parameters", typ, code)
		}
		if !patient.Has(typ) && !encounter.Has(typ) {
			t.Errorf("%s has a care date but is in neither the Patient nor the Encounter compartment", typ)
		}
	}
	var clinical *Param
	for _, p := range R4Params() {
		if p.URL == "http://hl7.org/fhir/SearchParameter/clinical-date" {
			clinical = p
		}
	}
	if clinical == nil {
		t.Fatal("R4 has no clinical-date parameter")
	}
	for _, typ := range clinical.Base {
		if CareDate(typ) != "date" {
			t.Errorf("%s has clinical-date, but its care date is %q", typ, CareDate(typ))
		}
	}
	for _, standing := range []fhir.ResourceType{"Patient", "Condition", "Goal", "Coverage", "Device", "RelatedPerson"} {
		if CareDate(standing) != "" {
			t.Errorf("%s records a state, yet has the care date %s", standing, CareDate(standing))
		}
	}
}

// CareDateParts: the value on the type's care date, or that date missing;
// nothing for a type without one; an error for a clause that is not one
// date value.
func TestCareDateParts(t *testing.T) {
	v := Value{Prefix: PrefixGe, DateLo: 1, DateHi: 2}
	cl := Clause{Param: CareDateParam, Type: TypeSpecial, Values: []Value{v}}
	parts, err := CareDateParts("MedicationRequest", &cl)
	if err != nil || len(parts) != 2 {
		t.Fatalf("parts %v, %v", parts, err)
	}
	if parts[0].Param != "authoredon" || parts[0].Type != TypeDate || len(parts[0].Values) != 1 || parts[0].Values[0].DateLo != 1 || parts[0].Missing != nil {
		t.Errorf("first part %+v, want the value on authoredon", parts[0])
	}
	if parts[1].Param != "authoredon" || parts[1].Missing == nil || !*parts[1].Missing || len(parts[1].Values) != 0 {
		t.Errorf("second part %+v, want authoredon:missing=true", parts[1])
	}
	if parts, err := CareDateParts("Patient", &cl); err != nil || parts != nil {
		t.Errorf("Patient: %v, %v; want no parts", parts, err)
	}
	for _, bad := range []Clause{
		{Param: CareDateParam, Values: []Value{v, v}},
		{Param: CareDateParam},
		{Param: CareDateParam, Values: []Value{v}, Modifier: ModNot},
	} {
		if _, err := CareDateParts("Observation", &bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
