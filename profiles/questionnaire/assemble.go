package questionnaire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
)

// formHeader is the consultation form without its items, in the order
// FHIR lists the elements.
type formHeader struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	URL          string            `json:"url"`
	Version      string            `json:"version"`
	Name         string            `json:"name"`
	Title        string            `json:"title"`
	DerivedFrom  []string          `json:"derivedFrom"`
	Status       string            `json:"status"`
	Experimental bool              `json:"experimental"`
	SubjectType  []string          `json:"subjectType"`
	Date         string            `json:"date"`
	Publisher    string            `json:"publisher"`
	Description  string            `json:"description"`
	Item         []json.RawMessage `json:"item"`
}

// widgetGroup is the group of the consultation form that holds the items
// of one widget.
type widgetGroup struct {
	LinkID   string          `json:"linkId"`
	Code     json.RawMessage `json:"code,omitempty"`
	Text     string          `json:"text"`
	Type     string          `json:"type"`
	Required bool            `json:"required,omitempty"`
	Item     json.RawMessage `json:"item"`
}

// widget is what the assembly reads of a widget Questionnaire.
type widget struct {
	ID        string          `json:"id"`
	URL       string          `json:"url"`
	Version   string          `json:"version"`
	Title     string          `json:"title"`
	Status    string          `json:"status"`
	Date      string          `json:"date"`
	Publisher string          `json:"publisher"`
	Code      json.RawMessage `json:"code"`
	Item      json.RawMessage `json:"item"`
}

// assemble builds the consultation form from the widget Questionnaires,
// in order: one group per widget, whose linkId is the widget id without
// its "cpms-" prefix and whose items are the widget's items, copied as
// they are (the widgets' linkIds are unique across the form, so their
// enableWhen references stay valid). A group is required if one of the
// widget's top-level items is. The form's date is the latest widget date.
func assemble(widgets [][]byte) ([]byte, error) {
	h := formHeader{
		ResourceType: "Questionnaire",
		ID:           formID,
		URL:          FormURL,
		Version:      Version,
		Name:         "CPMSConsultationForm",
		Title:        "CPMS Consultation Form",
		Status:       "active",
		SubjectType:  []string{"Patient"},
		Description: "The pseudonymised consultation form of the ERN Clinical Patient Management System, " +
			"one group per widget. Generated from the widget Questionnaires listed in derivedFrom " +
			"by profiles/questionnaire (go generate): do not edit.",
	}
	for _, body := range widgets {
		var w widget
		if err := json.Unmarshal(body, &w); err != nil {
			return nil, fmt.Errorf("questionnaire: assemble: %w", err)
		}
		if w.URL == "" || w.Title == "" || len(w.Item) == 0 {
			return nil, fmt.Errorf("questionnaire: assemble: widget %q has no url, title or items", w.ID)
		}
		var top []struct {
			Required bool `json:"required"`
		}
		if err := json.Unmarshal(w.Item, &top); err != nil {
			return nil, fmt.Errorf("questionnaire: assemble: widget %q: %w", w.ID, err)
		}
		g := widgetGroup{LinkID: strings.TrimPrefix(w.ID, "cpms-"), Code: w.Code, Text: w.Title, Type: "group", Item: w.Item}
		for _, it := range top {
			g.Required = g.Required || it.Required
		}
		raw, err := marshal(g)
		if err != nil {
			return nil, err
		}
		h.Item = append(h.Item, raw)
		h.DerivedFrom = append(h.DerivedFrom, w.URL+"|"+w.Version)
		h.Date = max(h.Date, w.Date)
		if h.Publisher == "" {
			h.Publisher = w.Publisher
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(h); err != nil {
		return nil, fmt.Errorf("questionnaire: assemble: %w", err)
	}
	return buf.Bytes(), nil
}

// marshal encodes v as compact JSON without escaping <, > and &.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("questionnaire: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// widgetBodies returns the JSON of the embedded widget Questionnaires in
// the order of the consultation form.
func widgetBodies() ([][]byte, error) {
	defs, err := definitions()
	if err != nil {
		return nil, err
	}
	byID := map[fhir.ID][]byte{}
	for _, d := range defs {
		if d.t == "Questionnaire" {
			byID[d.id] = d.body
		}
	}
	var out [][]byte
	for _, id := range widgetIDs {
		b, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("questionnaire: the widget Questionnaire %s is missing", id)
		}
		out = append(out, b)
	}
	return out, nil
}
