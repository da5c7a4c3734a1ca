// Package profiles holds the CPMS data model as FHIR R4 profiles
// (StructureDefinitions for the CPMS Patient, the three consents, episode,
// diagnoses, panels and outcome), the consultation form as coded SDC
// Questionnaires, and the validator that checks resources claiming a CPMS
// profile on top of the base-specification validation of fhir/validate.
//
// The package is empty until the profiles land; the server validates every
// write against the FHIR R4 base specification meanwhile.
package profiles
