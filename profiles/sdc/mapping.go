package sdc

import (
	"github.com/cpms-fhir/cpms/fhir"
)

// Code systems and profiles the mapping reads and writes.
const (
	SystemORPHA       = "https://www.orpha.net"
	SystemICD10       = "http://hl7.org/fhir/sid/icd-10"
	SystemHPO         = "http://human-phenotype-ontology.org"
	SystemLOINC       = "http://loinc.org"
	systemGender      = "http://hl7.org/fhir/administrative-gender"
	systemYesNo       = "http://terminology.hl7.org/CodeSystem/v2-0136"
	systemVerStatus   = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	systemClinical    = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	systemCategory    = "http://cpms-fhir.org/fhir/CodeSystem/cpms-condition-category"
	systemActCode     = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	systemRoleCode    = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
	systemAllergyCat  = "http://hl7.org/fhir/allergy-intolerance-category"
	systemAllergyType = "http://hl7.org/fhir/allergy-intolerance-type"
	systemSeverity    = "http://hl7.org/fhir/reaction-event-severity"
	systemObsCategory = "http://terminology.hl7.org/CodeSystem/observation-category"

	profileBase        = "http://cpms-fhir.org/fhir/StructureDefinition/"
	ProfileRareDisease = profileBase + "cpms-condition-rare-disease"
	ProfileComorbidity = profileBase + "cpms-condition-comorbidity"
	ProfilePhenotype   = profileBase + "cpms-condition-phenotype"
	profileOncology    = profileBase + "cpms-condition-oncology"

	// extAssertedDate is the core extension for the date a condition was
	// first asserted: the date of diagnosis.
	extAssertedDate = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"
)

// ExtractIdentifierSystem is the identifier system of the resources
// $extract creates; the value is "<response id>/<linkId path>/<n>", n
// counting the repetitions of the item from 1.
const ExtractIdentifierSystem = "http://cpms-fhir.org/fhir/sid/questionnaire-extract"

// # $populate
//
// A repeating group of the form is filled from a kind of source resource,
// one repetition per resource, its questions from elements of that
// resource (populateGroups); the other questions from the Patient, the
// episode (the encounter asked for) or from whether any resource of a
// kind exists (populateQuestions).

// groupSource says what fills a repeating group.
type groupSource struct {
	// from documents the source.
	from string
	// records selects the resources among the sources.
	records func(s *sourceSet) []node
	// fields answers the group's questions from one resource.
	fields map[string]func(r node) []Answer
}

// populateGroups maps each repeating group's linkId to its source.
var populateGroups = map[string]groupSource{
	// Rare Disease Diagnosis: Conditions claiming cpms-condition-rare-disease
	// (or of CPMS category rare-disease; or, without a CPMS category, coded
	// with an ORPHAcode), not refuted or entered in error.
	"dx.diagnosis": {from: "Condition (rare disease)", records: func(s *sourceSet) []node { return s.conditions[kindRareDisease] },
		fields: map[string]func(node) []Answer{
			"dx.orpha":     func(r node) []Answer { return codingAnswer(codingIn(r["code"], SystemORPHA)) },                   // Condition.code ORPHA coding
			"dx.icd10":     func(r node) []Answer { return codingAnswer(codingIn(r["code"], SystemICD10)) },                   // Condition.code ICD-10 coding
			"dx.assertion": func(r node) []Answer { return codingAnswer(codingIn(r["verificationStatus"], systemVerStatus)) }, // Condition.verificationStatus
			"dx.onset":     func(r node) []Answer { return dateAnswer(str(r, "onsetDateTime")) },                              // Condition.onsetDateTime
			"dx.date":      func(r node) []Answer { return dateAnswer(extensionString(r, extAssertedDate, "valueDateTime")) }, // the assertedDate extension
		}},
	// Comorbidities: Conditions claiming cpms-condition-comorbidity (or of
	// CPMS category comorbidity; or, without a CPMS category, coded with
	// ICD-10 only), not refuted or entered in error.
	"cm.condition": {from: "Condition (comorbidity)", records: func(s *sourceSet) []node { return s.conditions[kindComorbidity] },
		fields: map[string]func(node) []Answer{
			"cm.icd10":       func(r node) []Answer { return codingAnswer(codingIn(r["code"], SystemICD10)) },              // Condition.code ICD-10 coding
			"cm.description": func(r node) []Answer { return stringAnswer(str(r, "code", "text")) },                        // Condition.code.text
			"cm.onset":       func(r node) []Answer { return dateAnswer(str(r, "onsetDateTime")) },                         // Condition.onsetDateTime
			"cm.status":      func(r node) []Answer { return codingAnswer(codingIn(r["clinicalStatus"], systemClinical)) }, // Condition.clinicalStatus
		}},
	// Phenotypic features: Conditions claiming cpms-condition-phenotype (or
	// of CPMS category phenotype; or, without a CPMS category, coded with
	// HPO); a refuted one is an excluded feature.
	"pg.phenotype": {from: "Condition (phenotype)", records: func(s *sourceSet) []node { return s.conditions[kindPhenotype] },
		fields: map[string]func(node) []Answer{
			"pg.hpo":       func(r node) []Answer { return codingAnswer(codingIn(r["code"], SystemHPO)) },                             // Condition.code HPO coding
			"pg.excluded":  func(r node) []Answer { return boolAnswer(hasCode(r["verificationStatus"], systemVerStatus, "refuted")) }, // verificationStatus = refuted
			"pg.hpo-onset": func(r node) []Answer { return dateAnswer(str(r, "onsetDateTime")) },                                      // Condition.onsetDateTime
		}},
	// Allergies: AllergyIntolerance, not refuted or entered in error.
	"al.reaction": {from: "AllergyIntolerance", records: func(s *sourceSet) []node { return s.allergies },
		fields: map[string]func(node) []Answer{
			"al.substance":     func(r node) []Answer { return stringAnswer(label(r["code"])) },                                 // AllergyIntolerance.code (text or display)
			"al.category":      func(r node) []Answer { return codeAnswer(systemAllergyCat, str(r, "category", 0)) },            // AllergyIntolerance.category[0]
			"al.type":          func(r node) []Answer { return codeAnswer(systemAllergyType, str(r, "type")) },                  // AllergyIntolerance.type
			"al.manifestation": func(r node) []Answer { return stringAnswer(label(get(r, "reaction", 0, "manifestation", 0))) }, // reaction[0].manifestation[0]
			"al.severity":      func(r node) []Answer { return codeAnswer(systemSeverity, str(r, "reaction", 0, "severity")) },  // reaction[0].severity
			"al.date": func(r node) []Answer {
				return dateAnswer(firstOf(str(r, "reaction", 0, "onset"), str(r, "onsetDateTime")))
			}, // reaction[0].onset, or onsetDateTime
		}},
	// Medications: MedicationStatement, not entered in error or not taken.
	"md.medication": {from: "MedicationStatement", records: func(s *sourceSet) []node { return s.medications },
		fields: map[string]func(node) []Answer{
			"md.name": func(r node) []Answer {
				return stringAnswer(firstOf(label(r["medicationCodeableConcept"]), str(r, "medicationReference", "display")))
			}, // medication[x]
			"md.dose": func(r node) []Answer { return stringAnswer(str(r, "dosage", 0, "text")) }, // dosage[0].text
			"md.start": func(r node) []Answer {
				return dateAnswer(firstOf(str(r, "effectivePeriod", "start"), str(r, "effectiveDateTime")))
			}, // effective[x]
			"md.ongoing":    medicationOngoing,                                                                              // status active (true), completed or stopped (false)
			"md.end":        func(r node) []Answer { return ifNotOngoing(r, dateAnswer(str(r, "effectivePeriod", "end"))) }, // effectivePeriod.end, when not ongoing
			"md.indication": func(r node) []Answer { return stringAnswer(label(get(r, "reasonCode", 0))) },                  // reasonCode[0]
		}},
	// Surgical procedures: Procedure, completed or in progress.
	"sp.procedure": {from: "Procedure", records: func(s *sourceSet) []node { return s.procedures },
		fields: map[string]func(node) []Answer{
			"sp.description": func(r node) []Answer { return stringAnswer(label(r["code"])) }, // Procedure.code
			"sp.date": func(r node) []Answer {
				return dateAnswer(firstOf(str(r, "performedDateTime"), str(r, "performedPeriod", "start")))
			}, // performed[x]
			"sp.body-site": func(r node) []Answer { return stringAnswer(label(get(r, "bodySite", 0))) }, // bodySite[0]
			"sp.outcome":   func(r node) []Answer { return stringAnswer(label(r["outcome"])) },          // Procedure.outcome
		}},
	// Affected family members: FamilyMemberHistory, not entered in error.
	"fh.member": {from: "FamilyMemberHistory", records: func(s *sourceSet) []node { return s.family },
		fields: map[string]func(node) []Answer{
			"fh.relationship": func(r node) []Answer { return codingAnswer(codingIn(r["relationship"], systemRoleCode)) }, // relationship
			"fh.condition":    familyCondition,                                                                            // condition[0].code: ORPHA coding, else text
		}},
}

// populateQuestions maps the questions outside repeating groups to their
// source.
var populateQuestions = map[string]func(s *sourceSet) []Answer{
	"pi.sex": func(s *sourceSet) []Answer { return genderAnswer(str(s.patient, "gender")) }, // Patient.gender
	"pi.age": func(s *sourceSet) []Answer { return s.age() },                                // Patient.birthDate, at the date of the request
	// Yes when a resource fills the group below; not answered otherwise:
	// no record is not the same as no allergy.
	"al.known":    func(s *sourceSet) []Answer { return yesIf(len(s.allergies) > 0) },
	"fh.affected": func(s *sourceSet) []Answer { return yesIf(len(s.family) > 0) },
	// The episode, when the request names one.
	"ep.start":   func(s *sourceSet) []Answer { return dateAnswer(str(s.encounter, "period", "start")) }, // Encounter.period.start
	"ep.setting": func(s *sourceSet) []Answer { return codingAnswer(classCoding(s.encounter)) },          // Encounter.class
}

// sourceQueries are the searches $populate runs for a patient: type,
// the parameter naming the patient, and the groups they fill (a search
// runs only when the form has one of them).
var sourceQueries = []struct {
	t      fhir.ResourceType
	param  string
	groups []string
}{
	{"Condition", "subject", []string{"dx.diagnosis", "cm.condition", "pg.phenotype"}},
	{"AllergyIntolerance", "patient", []string{"al.reaction", "al.known"}},
	{"MedicationStatement", "subject", []string{"md.medication"}},
	{"Procedure", "subject", []string{"sp.procedure"}},
	{"FamilyMemberHistory", "patient", []string{"fh.member", "fh.affected"}},
}
