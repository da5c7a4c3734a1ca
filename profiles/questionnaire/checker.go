package questionnaire

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/cpms-fhir/cpms/fhir"
)

// Terminology tells whether a coding is in a value set. The server's
// terminology service provides it.
type Terminology interface {
	// InValueSet reports whether coding is a member of the value set
	// valueSet, a canonical URL (possibly url|version) or an implicit
	// value set URL such as "http://hl7.org/fhir/sid/icd-10?fhir_vs" or
	// "https://www.orpha.net?fhir_vs=isa/ORPHA:98006". known is false when
	// the value set is not known or cannot be evaluated; ok is then
	// meaningless.
	InValueSet(valueSet string, coding Coding) (ok, known bool)
}

// QuestionnaireLookup finds a stored Questionnaire by canonical URL
// (url or url|version; without a version, the current one). found is
// false when there is none; err reports a failure to look.
type QuestionnaireLookup func(ctx context.Context, canonical string) (body []byte, found bool, err error)

// PatientLookup reads the Patient a QuestionnaireResponse is about, by
// the reference its subject holds ("Patient/123", or an absolute URL).
// found is false when there is none; err reports a failure to look. It is
// called on behalf of the server, to keep nicknames from naming patients:
// it should read the patient whatever the caller may see.
type PatientLookup func(ctx context.Context, reference string) (body []byte, found bool, err error)

// Options configure a Checker. Every field may be nil: without
// Terminology, codings bound to value sets other than this package's are
// not checked (a warning says so); without Questionnaire, only the
// embedded Questionnaires are known; without Patient, the nickname is not
// checked against the patient's name (a warning says so).
type Options struct {
	Terminology   Terminology
	Questionnaire QuestionnaireLookup
	Patient       PatientLookup
}

// Checker checks QuestionnaireResponses against their Questionnaire. It
// implements the engine's Checker interface and is safe for concurrent
// use.
type Checker struct {
	opts  Options
	forms map[string]*form          // embedded, by url and url|version
	local map[string]*localValueSet // embedded value sets, by url and url|version
}

// New returns a Checker that knows the embedded Questionnaires and value
// sets and, through opts, the stored ones.
func New(opts Options) (*Checker, error) {
	c := &Checker{opts: opts, forms: map[string]*form{}}
	for canonical, body := range Questionnaires() {
		f, err := parseForm(body)
		if err != nil {
			return nil, fmt.Errorf("questionnaire: %s: %w", canonical, err)
		}
		c.forms[canonical] = f
	}
	defs, err := definitions()
	if err != nil {
		return nil, err
	}
	if c.local, err = localValueSets(defs); err != nil {
		return nil, err
	}
	return c, nil
}

// response is what the checks read of a QuestionnaireResponse.
type response struct {
	Status        string `json:"status"`
	Questionnaire string `json:"questionnaire"`
	Subject       *struct {
		Reference string `json:"reference"`
	} `json:"subject"`
	Contained []json.RawMessage `json:"contained"`
	Item      []qrItem          `json:"item"`
}

// qrItem is a QuestionnaireResponse.item.
type qrItem struct {
	LinkID string                       `json:"linkId"`
	Answer []map[string]json.RawMessage `json:"answer"`
	Item   []qrItem                     `json:"item"`
}

// Check returns the issues of a QuestionnaireResponse; it returns nil for
// other resource types. The response is checked against the Questionnaire
// its questionnaire element names; profiles are not used.
func (c *Checker) Check(ctx context.Context, t fhir.ResourceType, body []byte, profiles []string) []fhir.Issue {
	if t != "QuestionnaireResponse" {
		return nil
	}
	var qr response
	if err := json.Unmarshal(body, &qr); err != nil {
		return []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueStructure,
			Diagnostics: "the QuestionnaireResponse could not be read: " + err.Error(), Expression: []string{"QuestionnaireResponse"}}}
	}
	r := &run{ctx: ctx, c: c, completed: qr.Status == "completed" || qr.Status == "amended",
		found: map[foundKey][]*node{}, unchecked: map[string]int{}}
	r.f = r.resolve(qr.Questionnaire)
	r.root = &node{path: "QuestionnaireResponse"}
	var top []*item
	if r.f != nil {
		top = r.f.Item
	}
	r.root.children = r.build(r.root, r.f != nil, top, qr.Item, "QuestionnaireResponse")
	if r.f != nil {
		r.checkChildren(r.root, top)
	}
	r.checkNickname(&qr)
	return r.issues
}

// resolve finds the Questionnaire a response answers, among the embedded
// ones and then the stored ones.
func (r *run) resolve(canonical string) *form {
	if canonical == "" {
		return nil
	}
	if f, ok := r.c.forms[canonical]; ok {
		return f
	}
	where := "QuestionnaireResponse.questionnaire"
	if r.c.opts.Questionnaire == nil {
		r.warn(fhir.IssueNotFound, where, "the Questionnaire "+canonical+" is not known to this server: the answers were not checked")
		return nil
	}
	body, found, err := r.c.opts.Questionnaire(r.ctx, canonical)
	switch {
	case err != nil:
		r.warn(fhir.IssueTransient, where, "the Questionnaire "+canonical+" could not be read: the answers were not checked")
		return nil
	case !found:
		r.warn(fhir.IssueNotFound, where, "the Questionnaire "+canonical+" is not known to this server: the answers were not checked")
		return nil
	}
	f, err := parseForm(body)
	if err != nil {
		r.warn(fhir.IssueProcessing, where, "the Questionnaire "+canonical+" cannot be used: "+err.Error()+": the answers were not checked")
		return nil
	}
	return f
}

// run is the check of one response.
type run struct {
	ctx       context.Context
	c         *Checker
	f         *form // nil when the Questionnaire is unknown
	root      *node
	completed bool
	issues    []fhir.Issue
	found     map[foundKey][]*node
	unchecked map[string]int // value set → index of its "not checked" warning
}

// node is an item of the response, matched to its Questionnaire item.
type node struct {
	linkID   string
	q        *item // nil for the root and for items the Questionnaire lacks
	parent   *node
	path     string
	children []*node // item.item, then the items of the answers
	answers  []answer
	state    int8
}

// The states of node.state, the memory of enabled.
const (
	unknownState int8 = iota
	visiting
	enabledState
	disabledState
)

// answer is a QuestionnaireResponse.item.answer.
type answer struct {
	v     value
	n     int // how many value[x]
	path  string
	items []*node
}

// build makes the nodes of items, the children of parent at path. When
// known, each item must be one of qitems (the Questionnaire children of
// parent); otherwise the nodes are built without Questionnaire items (for
// the nickname check).
func (r *run) build(parent *node, known bool, qitems []*item, items []qrItem, path string) []*node {
	var out []*node
	for i, it := range items {
		n := &node{linkID: it.LinkID, parent: parent, path: path + ".item[" + strconv.Itoa(i) + "]"}
		out = append(out, n)
		if known {
			for _, q := range qitems {
				if q.LinkID == it.LinkID {
					n.q = q
					break
				}
			}
			if n.q == nil {
				r.misplaced(parent, n)
			}
		}
		var sub []*item
		if n.q != nil {
			sub = n.q.Item
		}
		n.children = r.build(n, n.q != nil, sub, it.Item, n.path)
		for k, a := range it.Answer {
			ans := answer{path: n.path + ".answer[" + strconv.Itoa(k) + "]"}
			ans.v, ans.n = pickValue(a, "value")
			ans.v.decode()
			if raw, ok := a["item"]; ok {
				var nested []qrItem
				if err := json.Unmarshal(raw, &nested); err == nil {
					ans.items = r.build(n, n.q != nil, sub, nested, ans.path)
					n.children = append(n.children, ans.items...)
				}
			}
			n.answers = append(n.answers, ans)
		}
	}
	return out
}

// misplaced reports an item of the response that is not a child of its
// parent in the Questionnaire.
func (r *run) misplaced(parent *node, n *node) {
	where := n.path + ".linkId"
	q, ok := r.f.byLink[n.linkID]
	if !ok {
		r.errorf(fhir.IssueStructure, where, "the Questionnaire %s has no item with linkId %q", r.f.URL, n.linkID)
		return
	}
	inForm := "at the top level"
	if p := r.f.parent[q]; p != nil {
		inForm = fmt.Sprintf("under the item %q", p.LinkID)
	}
	inResponse := "at the top level"
	if parent.q != nil {
		inResponse = fmt.Sprintf("under the item %q", parent.q.LinkID)
	}
	r.errorf(fhir.IssueStructure, where, "the item %q is %s in the response but %s in the Questionnaire", n.linkID, inResponse, inForm)
}

func (r *run) errorf(code fhir.IssueType, where, format string, args ...any) {
	r.issues = append(r.issues, fhir.Issue{Severity: fhir.SeverityError, Code: code,
		Diagnostics: fmt.Sprintf(format, args...), Expression: []string{where}})
}

func (r *run) warn(code fhir.IssueType, where, msg string) {
	r.issues = append(r.issues, fhir.Issue{Severity: fhir.SeverityWarning, Code: code, Diagnostics: msg, Expression: []string{where}})
}
