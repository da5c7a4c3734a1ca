// Package questionnaire holds the CPMS consultation form as FHIR R4
// Questionnaires and checks the QuestionnaireResponses that answer them.
//
// The form is made of widgets (Consultation Request, Patient Information,
// Episode Description, Rare Disease Diagnosis, ...). Each widget is a
// Questionnaire of its own in definitions/, written in JSON by hand and
// embedded in the binary, with the CodeSystems and ValueSets its answers
// need (ISCED 2011 education levels, the diagnosis assertion status, the
// small CPMS lists). The whole consultation form,
// Questionnaire-cpms-consultation-form.json, is one Questionnaire with a
// group per widget; it is generated from the widget files (go generate
// runs the test TestConsultationFormUpToDate with -update) and a test
// fails if it is out of date, so the two never diverge. The Questionnaires
// follow the SDC conventions that NLM LHC-Forms renders: the
// questionnaire-itemControl extension (autocomplete for the large value
// sets served by the terminology service, drop-down, radio-button,
// check-box), answerValueSet for coded answers, answerOption for small
// closed lists, enableWhen for conditional items.
//
// Resources lists every definition for the server to store at start;
// Questionnaires gives the Questionnaires by canonical URL.
//
// Checker implements the engine's Checker for QuestionnaireResponse: it
// finds the Questionnaire the response answers and checks the items
// against it (structure, answer types, repeats, enableWhen, answer lists
// and value sets, required items when the response is completed), and
// that the nickname of the case does not contain the patient's name.
package questionnaire

//go:generate go test -run TestConsultationFormUpToDate -update .
