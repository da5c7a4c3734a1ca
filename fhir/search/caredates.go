package search

import (
	"fmt"

	"github.com/cpms-fhir/cpms/fhir"
)

// Care dates. The operation $everything takes start and end, which
// "relate to care dates, not record currency dates": the care that a
// resource records, not when it was written. FHIR R4 defines no such
// parameter; its common parameter clinical-date (the code date on
// AllergyIntolerance, Observation, Procedure, Encounter and thirteen
// other types) comes closest. The care date of a resource type is that
// parameter where it has it, and otherwise the date parameter of the
// event the resource records: an order's authoring, a dispense's
// handover, a specimen's collection, an imaging study's start, a
// claim's creation.
//
// Resources that record a standing state rather than an event (the
// patient, a condition, a goal, a coverage, a device) have no care date,
// and a resource whose care date is absent cannot be placed in time:
// both are in every window, as a clinician asking for a year's care
// still needs the problems it treated.
//
// A window is one or two clauses on CareDateParam (CareDateWindow): a
// resource of type t matches one when its care date matches the clause's
// value, or when it has none (CareDateParts).

// CareDateParam is the parameter of a clause on the care date of each
// resource type. Like CompartmentParam, no search parameter can take its
// code and clients cannot name it in a search.
const CareDateParam = "care-date()"

// careDates maps each resource type with a care date to the R4 date
// parameter that holds it. TestCareDates checks that each is an R4 date
// parameter of its type.
var careDates = map[fhir.ResourceType]string{
	// clinical-date (R4 search parameter Clinical-date).
	"AllergyIntolerance":  "date",
	"CarePlan":            "date",
	"CareTeam":            "date",
	"ClinicalImpression":  "date",
	"Composition":         "date",
	"Consent":             "date",
	"DiagnosticReport":    "date",
	"Encounter":           "date",
	"EpisodeOfCare":       "date",
	"FamilyMemberHistory": "date",
	"Flag":                "date",
	"Immunization":        "date",
	"List":                "date",
	"Observation":         "date",
	"Procedure":           "date",
	"RiskAssessment":      "date",
	"SupplyRequest":       "date",

	// The event of the other types of the Patient and Encounter
	// compartments that have one.
	"Account":                     "period",
	"AdverseEvent":                "date",
	"Appointment":                 "date",
	"AuditEvent":                  "date",
	"Basic":                       "created",
	"ChargeItem":                  "occurrence",
	"Claim":                       "created",
	"ClaimResponse":               "created",
	"Communication":               "sent",
	"CommunicationRequest":        "authored",
	"CoverageEligibilityRequest":  "created",
	"CoverageEligibilityResponse": "created",
	"DetectedIssue":               "identified",
	"DeviceRequest":               "authored-on",
	"DocumentManifest":            "created",
	"DocumentReference":           "period",
	"ExplanationOfBenefit":        "created",
	"ImagingStudy":                "started",
	"ImmunizationEvaluation":      "date",
	"ImmunizationRecommendation":  "date",
	"Invoice":                     "date",
	"MeasureReport":               "period",
	"Media":                       "created",
	"MedicationAdministration":    "effective-time",
	"MedicationDispense":          "whenhandedover",
	"MedicationRequest":           "authoredon",
	"MedicationStatement":         "effective",
	"NutritionOrder":              "datetime",
	"Provenance":                  "recorded",
	"QuestionnaireResponse":       "authored",
	"RequestGroup":                "authored",
	"ResearchSubject":             "date",
	"Schedule":                    "date",
	"ServiceRequest":              "authored",
	"Specimen":                    "collected",
	"VisionPrescription":          "datewritten",
}

// CareDateWindow returns the clauses that select the resources whose care
// took place between start and end (either may be nil: no bound), at
// their precision: from the first instant of start to the last of end.
// A care date is in the window when its range overlaps it, as a stay in
// hospital from 20 December to 5 January is in the care of the year it
// ended in. (The prefixes ge and le on the dates themselves would not
// say so: ge2020 asks a range to start within 2020 or end after it.)
// Each clause's value is a range of no width, one instant, on which ge
// keeps the care dates that end after it and le those that begin
// before it.
func CareDateWindow(start, end *Value) []Clause {
	var out []Clause
	at := func(prefix Prefix, instant int64) {
		out = append(out, Clause{Param: CareDateParam, Type: TypeSpecial,
			Values: []Value{{Prefix: prefix, DateLo: instant, DateHi: instant}}})
	}
	if start != nil {
		at(PrefixGe, start.DateLo)
	}
	if end != nil {
		at(PrefixLe, end.DateHi)
	}
	return out
}

// CareDate returns the parameter that holds the care date of resources
// of type t, "" when they have none.
func CareDate(t fhir.ResourceType) string { return careDates[t] }

// CareDateParts returns the clauses one of which a resource of type t
// matches when it matches cl, a clause on CareDateParam with one date
// value: the value on t's care date parameter, and that parameter
// missing. It returns nil when t has no care date: every resource of t
// matches.
func CareDateParts(t fhir.ResourceType, cl *Clause) ([]Clause, error) {
	if len(cl.Values) != 1 || cl.Modifier != ModNone || cl.Missing != nil {
		return nil, fmt.Errorf("search: a care date clause has one date value, without modifier")
	}
	p := careDates[t]
	if p == "" {
		return nil, nil
	}
	missing := true
	return []Clause{
		{Param: p, Type: TypeDate, Values: cl.Values},
		{Param: p, Type: TypeDate, Missing: &missing},
	}, nil
}
