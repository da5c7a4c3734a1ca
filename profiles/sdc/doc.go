// Package sdc implements the two Structured Data Capture operations of the
// CPMS consultation form (https://hl7.org/fhir/uv/sdc/STU3/):
// Questionnaire/$populate, which pre-fills a QuestionnaireResponse from
// what the server already holds about the patient, and
// QuestionnaireResponse/$extract, which turns the coded answers of a
// response into the FHIR resources they describe, as a transaction Bundle.
//
// The package is the mapping only: Questionnaires, responses and source
// resources in, resources out. It does no HTTP and does not import the
// engine; Populate reads the patient's data through the small Source
// interface, which the server implements over its engine.
//
// # The mapping
//
// Both directions are keyed by the linkIds of the CPMS form widgets
// (profiles/questionnaire), so they work on the assembled consultation
// form and on each widget alone. The tables are in mapping.go (groups and
// questions of $populate, the group extractors and observation items of
// $extract); each entry says which resource and element it reads or
// writes.
//
// $populate answers only with values of the types the item allows
// (valueCoding for choice, valueString for string and text, valueDate,
// valueInteger, valueBoolean), a coding of an answerOption list only when
// it is one of the options, and a repeating group gets one repetition per
// source resource (in the order they were last updated). Nothing is
// answered inside an item that enableWhen hides.
//
// $extract creates one resource per repetition of a mapped group (or per
// answered observation item), linked to the response's subject and, when
// the response has one, its encounter (the episode). Every resource gets
// an identifier in the system ExtractIdentifierSystem whose value is the
// response id and the linkId path of the item it came from, and the
// Bundle's entries are conditional creates on that identifier
// (ifNoneExist): applying the Bundle of the same response twice creates
// nothing the second time.
package sdc
