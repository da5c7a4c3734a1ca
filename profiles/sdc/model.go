package sdc

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cpms-fhir/cpms/fhir"
)

// Coding is a FHIR Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Version string `json:"version,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// Reference is a FHIR Reference, as far as the operations use it.
type Reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

// Answer is one answer of a QuestionnaireResponse item. The operations
// read and write these value types only; others are ignored.
type Answer struct {
	ValueBoolean *bool   `json:"valueBoolean,omitempty"`
	ValueInteger *int64  `json:"valueInteger,omitempty"`
	ValueDate    string  `json:"valueDate,omitempty"`
	ValueString  string  `json:"valueString,omitempty"`
	ValueCoding  *Coding `json:"valueCoding,omitempty"`
	Item         []*Item `json:"item,omitempty"`
}

// Item is an item of a QuestionnaireResponse.
type Item struct {
	LinkID string   `json:"linkId"`
	Text   string   `json:"text,omitempty"`
	Answer []Answer `json:"answer,omitempty"`
	Item   []*Item  `json:"item,omitempty"`
}

// Response is a QuestionnaireResponse, as far as the operations use it.
type Response struct {
	ResourceType  string     `json:"resourceType"`
	ID            string     `json:"id,omitempty"`
	Questionnaire string     `json:"questionnaire,omitempty"`
	Status        string     `json:"status"`
	Subject       *Reference `json:"subject,omitempty"`
	Encounter     *Reference `json:"encounter,omitempty"`
	Authored      string     `json:"authored,omitempty"`
	Item          []*Item    `json:"item,omitempty"`
}

// ParseResponse reads a QuestionnaireResponse.
func ParseResponse(body []byte) (*Response, error) {
	var r Response
	if err := json.Unmarshal(body, &r); err != nil || r.ResourceType != "QuestionnaireResponse" {
		return nil, invalidf("QuestionnaireResponse", "the body is not a QuestionnaireResponse")
	}
	return &r, nil
}

// question is an item of a Questionnaire.
type question struct {
	LinkID       string   `json:"linkId"`
	Text         string   `json:"text"`
	Type         string   `json:"type"`
	Repeats      bool     `json:"repeats"`
	Code         []Coding `json:"code"`
	AnswerOption []struct {
		ValueCoding *Coding `json:"valueCoding"`
	} `json:"answerOption"`
	Item []*question `json:"item"`
}

// form is a Questionnaire, as far as the operations use it.
type form struct {
	ResourceType string      `json:"resourceType"`
	URL          string      `json:"url"`
	Version      string      `json:"version"`
	Item         []*question `json:"item"`
	byLinkID     map[string]*question
}

// parseForm reads a Questionnaire; where names the parameter or element
// it came from, for the error.
func parseForm(body []byte, where string) (*form, error) {
	var f form
	if err := json.Unmarshal(body, &f); err != nil || f.ResourceType != "Questionnaire" {
		return nil, invalidf(where, "%s is not a Questionnaire", where)
	}
	f.byLinkID = map[string]*question{}
	var index func(items []*question)
	index = func(items []*question) {
		for _, q := range items {
			f.byLinkID[q.LinkID] = q
			index(q.Item)
		}
	}
	index(f.Item)
	return &f, nil
}

// canonical is the Questionnaire's url|version, or its url.
func (f *form) canonical() string {
	if f.Version == "" {
		return f.URL
	}
	return f.URL + "|" + f.Version
}

// field and object build JSON objects whose keys keep the order they were
// added in (resourceType first), unlike maps.
type field struct {
	key   string
	value any
}

type object []field

// set appends key unless value is empty (nil, "", an empty object or
// slice).
func (o *object) set(key string, value any) {
	switch v := value.(type) {
	case nil:
		return
	case string:
		if v == "" {
			return
		}
	case object:
		if len(v) == 0 {
			return
		}
	case []any:
		if len(v) == 0 {
			return
		}
	case []object:
		if len(v) == 0 {
			return
		}
	}
	*o = append(*o, field{key, value})
}

// MarshalJSON writes the object with its keys in order.
func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(f.key)
		if err != nil {
			return nil, err
		}
		v, err := marshal(f.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// codeable returns a CodeableConcept of codings and text.
func codeable(text string, codings ...Coding) object {
	var o object
	if len(codings) > 0 {
		o.set("coding", codings)
	}
	o.set("text", text)
	return o
}

func invalidf(expr, format string, args ...any) *fhir.Error {
	return issueErr(fhir.KindInvalid, fhir.IssueInvalid, expr, format, args...)
}

func unprocessablef(expr, format string, args ...any) *fhir.Error {
	return issueErr(fhir.KindUnprocessable, fhir.IssueProcessing, expr, format, args...)
}

// NotFoundf returns an error of kind not-found whose issue names expr
// (a parameter or an element).
func NotFoundf(expr, format string, args ...any) *fhir.Error {
	return issueErr(fhir.KindNotFound, fhir.IssueNotFound, expr, format, args...)
}

func issueErr(k fhir.Kind, code fhir.IssueType, expr, format string, args ...any) *fhir.Error {
	e := fhir.Errorf(k, format, args...)
	e.Issues = []fhir.Issue{{Severity: fhir.SeverityError, Code: code, Diagnostics: e.Message, Expression: []string{expr}}}
	return e
}
