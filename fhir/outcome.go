package fhir

import (
	"encoding/json"
	"errors"
)

// Severity is an OperationOutcome issue severity.
type Severity string

// The issue severities of FHIR R4.
const (
	SeverityFatal       Severity = "fatal"
	SeverityError       Severity = "error"
	SeverityWarning     Severity = "warning"
	SeverityInformation Severity = "information"
)

// IssueType is an OperationOutcome issue type code
// (http://hl7.org/fhir/issue-type).
type IssueType string

// The issue types the server reports.
const (
	IssueInvalid       IssueType = "invalid"
	IssueStructure     IssueType = "structure"
	IssueRequired      IssueType = "required"
	IssueValue         IssueType = "value"
	IssueCodeInvalid   IssueType = "code-invalid"
	IssueInvariant     IssueType = "invariant"
	IssueNotFound      IssueType = "not-found"
	IssueDeleted       IssueType = "deleted"
	IssueConflict      IssueType = "conflict"
	IssueDuplicate     IssueType = "duplicate"
	IssueMultipleMatch IssueType = "multiple-matches"
	IssueNotSupported  IssueType = "not-supported"
	IssueTooLong       IssueType = "too-long"
	IssueForbidden     IssueType = "forbidden"
	IssueLogin         IssueType = "login"
	IssueException     IssueType = "exception"
	IssueTransient     IssueType = "transient"
	IssueProcessing    IssueType = "processing"
	IssueInformational IssueType = "informational"
	IssueBusinessRule  IssueType = "business-rule"
	IssueTooCostly     IssueType = "too-costly"
)

// Issue is one OperationOutcome issue. Expression holds FHIRPath locations
// of the problem, such as "Patient.name[0].given[1]".
type Issue struct {
	Severity    Severity
	Code        IssueType
	Diagnostics string
	Expression  []string
}

type outcomeJSON struct {
	ResourceType string      `json:"resourceType"`
	Issue        []issueJSON `json:"issue"`
}

type issueJSON struct {
	Severity    Severity  `json:"severity"`
	Code        IssueType `json:"code"`
	Diagnostics string    `json:"diagnostics,omitempty"`
	Expression  []string  `json:"expression,omitempty"`
}

// Outcome renders issues as an OperationOutcome resource. An outcome must
// hold at least one issue, so an empty list yields one "informational"
// issue saying all is well.
func Outcome(issues []Issue) []byte {
	o := outcomeJSON{ResourceType: "OperationOutcome", Issue: make([]issueJSON, 0, len(issues))}
	for _, is := range issues {
		o.Issue = append(o.Issue, issueJSON{is.Severity, is.Code, is.Diagnostics, is.Expression})
	}
	if len(o.Issue) == 0 {
		o.Issue = append(o.Issue, issueJSON{Severity: SeverityInformation, Code: IssueInformational, Diagnostics: "All OK"})
	}
	b, err := json.Marshal(o)
	if err != nil {
		// Marshalling strings and slices of strings cannot fail.
		panic(err)
	}
	return b
}

// ParseOutcome returns the issues of an OperationOutcome.
func ParseOutcome(b []byte) ([]Issue, error) {
	var o outcomeJSON
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, err
	}
	if o.ResourceType != "OperationOutcome" {
		return nil, errors.New("not an OperationOutcome")
	}
	issues := make([]Issue, len(o.Issue))
	for i, is := range o.Issue {
		issues[i] = Issue{is.Severity, is.Code, is.Diagnostics, is.Expression}
	}
	return issues, nil
}

// HasErrors reports whether any issue is an error or fatal.
func HasErrors(issues []Issue) bool {
	for _, is := range issues {
		if is.Severity == SeverityError || is.Severity == SeverityFatal {
			return true
		}
	}
	return false
}
