package questionnaire

import (
	"encoding/json"
	"fmt"
	"strings"
)

// form is a parsed Questionnaire: what the checks need of it.
type form struct {
	URL     string  `json:"url"`
	Version string  `json:"version"`
	Item    []*item `json:"item"`

	byLink map[string]*item // every item by linkId
	parent map[*item]*item  // nil for top-level items
	order  map[*item]int    // position in a depth-first walk
}

// item is a Questionnaire.item.
type item struct {
	LinkID         string                       `json:"linkId"`
	Text           string                       `json:"text"`
	Type           string                       `json:"type"`
	Required       bool                         `json:"required"`
	Repeats        bool                         `json:"repeats"`
	MaxLength      int                          `json:"maxLength"`
	EnableWhen     []enableWhen                 `json:"enableWhen"`
	EnableBehavior string                       `json:"enableBehavior"`
	AnswerValueSet string                       `json:"answerValueSet"`
	AnswerOption   []map[string]json.RawMessage `json:"answerOption"`
	Item           []*item                      `json:"item"`

	options []value // the values of AnswerOption
}

// enableWhen is a Questionnaire.item.enableWhen.
type enableWhen struct {
	Question string
	Operator string
	Answer   value
}

func (e *enableWhen) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if err := json.Unmarshal(m["question"], &e.Question); m["question"] != nil && err != nil {
		return err
	}
	if err := json.Unmarshal(m["operator"], &e.Operator); m["operator"] != nil && err != nil {
		return err
	}
	var n int
	e.Answer, n = pickValue(m, "answer")
	e.Answer.decode()
	if n != 1 {
		return fmt.Errorf("enableWhen on %q has %d answer[x] values, not one", e.Question, n)
	}
	return nil
}

// parseForm parses the JSON of a Questionnaire and indexes its items.
func parseForm(body []byte) (*form, error) {
	var f form
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, fmt.Errorf("the Questionnaire could not be read: %w", err)
	}
	f.byLink, f.parent, f.order = map[string]*item{}, map[*item]*item{}, map[*item]int{}
	var index func(parent *item, items []*item) error
	index = func(parent *item, items []*item) error {
		for _, it := range items {
			if it == nil {
				return fmt.Errorf("the Questionnaire has an empty item")
			}
			if _, dup := f.byLink[it.LinkID]; dup {
				return fmt.Errorf("the Questionnaire has two items with linkId %q", it.LinkID)
			}
			f.byLink[it.LinkID] = it
			f.parent[it] = parent
			f.order[it] = len(f.order)
			for _, o := range it.AnswerOption {
				v, n := pickValue(o, "value")
				if n != 1 {
					return fmt.Errorf("an answerOption of item %q has %d value[x], not one", it.LinkID, n)
				}
				v.decode()
				it.options = append(it.options, v)
			}
			if err := index(it, it.Item); err != nil {
				return err
			}
		}
		return nil
	}
	if err := index(nil, f.Item); err != nil {
		return nil, err
	}
	return &f, nil
}

// path returns the linkIds from the top of the form down to it, for
// messages: "dx.diagnosis/dx.oncology/dx.iccc3".
func (f *form) path(it *item) string {
	var parts []string
	for p := it; p != nil; p = f.parent[p] {
		parts = append(parts, p.LinkID)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

// answerKinds gives, by item type, the value[x] types an answer may have.
// choice and open-choice items with answerOption take the types of their
// options instead of Coding.
var answerKinds = map[string][]string{
	"boolean":     {"Boolean"},
	"decimal":     {"Decimal"},
	"integer":     {"Integer"},
	"date":        {"Date"},
	"dateTime":    {"DateTime"},
	"time":        {"Time"},
	"string":      {"String"},
	"text":        {"String"},
	"url":         {"Uri"},
	"choice":      {"Coding"},
	"open-choice": {"Coding", "String"},
	"attachment":  {"Attachment"},
	"reference":   {"Reference"},
	"quantity":    {"Quantity"},
}

// kindsOf returns the value[x] types the answers of it may have.
func kindsOf(it *item) []string {
	if (it.Type == "choice" || it.Type == "open-choice") && len(it.options) > 0 {
		var kinds []string
		for _, o := range it.options {
			if !contains(kinds, o.kind) {
				kinds = append(kinds, o.kind)
			}
		}
		if it.Type == "open-choice" && !contains(kinds, "String") {
			kinds = append(kinds, "String")
		}
		return kinds
	}
	return answerKinds[it.Type]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
