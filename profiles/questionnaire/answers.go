package questionnaire

import (
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/cpms-fhir/cpms/fhir"
)

// checkChildren checks the items of a container (the response, a group,
// or the answers of a question) against qitems, the Questionnaire items
// that may appear there: no repeated item that does not repeat, the
// Questionnaire's order, required items (in a completed response), then
// each item.
func (r *run) checkChildren(container *node, qitems []*item) {
	seen := map[*item]int{}
	last, ordered := -1, true
	for _, n := range container.children {
		if n.q == nil {
			continue
		}
		seen[n.q]++
		if seen[n.q] == 2 && (n.q.Type != "group" || !n.q.Repeats) {
			what := "the item does not repeat"
			if n.q.Type != "group" {
				what = "the answers of a question go in one item"
			}
			r.errorf(fhir.IssueStructure, n.path, "the item %q appears more than once in %s: %s", n.linkID, container.path, what)
		}
		if pos := r.f.order[n.q]; pos < last && ordered {
			ordered = false
			r.warn(fhir.IssueStructure, n.path, fmt.Sprintf("the item %q is out of the order of the Questionnaire", n.linkID))
		} else {
			last = max(last, pos)
		}
	}
	if r.completed {
		r.checkRequired(container, qitems)
	}
	for _, n := range container.children {
		if n.q != nil {
			r.checkNode(n)
		}
	}
}

// checkRequired reports the required items of a container that have no
// answer, unless their enableWhen conditions leave them disabled.
func (r *run) checkRequired(container *node, qitems []*item) {
	for _, q := range qitems {
		if !q.Required || q.Type == "display" {
			continue
		}
		var present *node
		answered := false
		for _, n := range container.children {
			if n.q == q {
				present = n
				answered = answered || hasAnswers(n)
			}
		}
		if answered || !r.conditionsMet(q, container) {
			continue
		}
		where := container.path
		if present != nil {
			where = present.path
		}
		r.errorf(fhir.IssueRequired, where, "the item %q (%s) is required in a %s response but has no answer", q.LinkID, q.Text, "completed")
	}
}

// hasAnswers reports whether n or an item below it has an answer.
func hasAnswers(n *node) bool {
	if len(n.answers) > 0 {
		return true
	}
	for _, c := range n.children {
		if hasAnswers(c) {
			return true
		}
	}
	return false
}

// checkNode checks one item of the response and the items below it.
func (r *run) checkNode(n *node) {
	q := n.q
	if !r.enabled(n) {
		if hasAnswers(n) {
			r.errorf(fhir.IssueBusinessRule, n.path, "the item %q is disabled (its enableWhen conditions are not met) but has answers", n.linkID)
		}
		return
	}
	if len(n.answers) > 0 && (q.Type == "group" || q.Type == "display") {
		r.errorf(fhir.IssueStructure, n.answers[0].path, "the item %q is a %s: it has no answers (its items hold them)", n.linkID, q.Type)
	} else {
		if len(n.answers) > 1 && !q.Repeats {
			r.errorf(fhir.IssueStructure, n.answers[1].path, "the item %q does not repeat: it has at most one answer", n.linkID)
		}
		for _, a := range n.answers {
			r.checkAnswer(q, a)
		}
	}
	r.checkChildren(n, q.Item)
}

// datePattern is the FHIR R4 date: yyyy, yyyy-mm or yyyy-mm-dd.
var datePattern = regexp.MustCompile(`^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$`)

// checkAnswer checks the value of one answer of q: its type, its form,
// and that it is one of the options or in the value set.
func (r *run) checkAnswer(q *item, a answer) {
	switch {
	case a.n == 0:
		if len(a.items) == 0 {
			r.errorf(fhir.IssueRequired, a.path, "the answer to %q has no value", q.LinkID)
		}
		return
	case a.n > 1:
		r.errorf(fhir.IssueStructure, a.path, "the answer to %q has more than one value[x]", q.LinkID)
		return
	}
	where := a.path + ".value" + a.v.kind
	kinds := kindsOf(q)
	if !contains(kinds, a.v.kind) {
		r.errorf(fhir.IssueValue, where, "the item %q is of type %s: its answers are %s, not value%s", q.LinkID, q.Type, valueNames(kinds), a.v.kind)
		return
	}
	if a.v.raw == nil {
		return
	}
	switch a.v.kind {
	case "Date":
		s, _ := a.v.str()
		if _, err := fhir.ParseDateRange(s); err != nil || !datePattern.MatchString(s) {
			r.errorf(fhir.IssueValue, where, "%q is not a date: write yyyy, yyyy-mm or yyyy-mm-dd", s)
			return
		}
	case "DateTime":
		s, _ := a.v.str()
		if _, err := fhir.ParseDateRange(s); err != nil {
			r.errorf(fhir.IssueValue, where, "%q is not a date and time", s)
			return
		}
	case "String":
		s, _ := a.v.str()
		if q.MaxLength > 0 && utf8.RuneCountInString(s) > q.MaxLength {
			r.errorf(fhir.IssueTooLong, where, "the answer to %q is longer than %d characters", q.LinkID, q.MaxLength)
			return
		}
	}
	switch {
	case len(q.options) > 0 && !(q.Type == "open-choice" && a.v.kind == "String"):
		for _, o := range q.options {
			if isOption(o, a.v) {
				return
			}
		}
		r.errorf(fhir.IssueCodeInvalid, where, "the answer to %q is not one of its answer options", q.LinkID)
	case q.AnswerValueSet != "" && a.v.kind == "Coding":
		c, ok := a.v.coding()
		if ok {
			r.checkValueSet(q, c, where)
		}
	}
}

// valueNames lists value[x] names: "valueCoding or valueString".
func valueNames(kinds []string) string {
	s := ""
	for i, k := range kinds {
		switch {
		case i == 0:
		case i == len(kinds)-1:
			s += " or "
		default:
			s += ", "
		}
		s += "value" + k
	}
	return s
}

// checkValueSet checks that a coding answer is in the item's value set:
// this package's value sets are evaluated here, others by the
// terminology service. A value set that cannot be evaluated is a warning
// (one per value set).
func (r *run) checkValueSet(q *item, c Coding, where string) {
	vs := q.AnswerValueSet
	if l, ok := r.c.local[vs]; ok {
		if !l.contains(c) {
			r.errorf(fhir.IssueCodeInvalid, where, "the code %s#%s is not in the value set %s of %q", c.System, c.Code, vs, q.LinkID)
		}
		return
	}
	if r.c.opts.Terminology != nil {
		in, known := r.c.opts.Terminology.InValueSet(vs, c)
		if known {
			if !in {
				r.errorf(fhir.IssueCodeInvalid, where, "the code %s#%s is not in the value set %s of %q", c.System, c.Code, vs, q.LinkID)
			}
			return
		}
	}
	if i, ok := r.unchecked[vs]; ok {
		r.issues[i].Expression = append(r.issues[i].Expression, where)
		return
	}
	r.unchecked[vs] = len(r.issues)
	r.warn(fhir.IssueNotFound, where, "the value set "+vs+" is not known to this server: the codes bound to it were not checked")
}

// isOption reports whether an answer is the answer option o. A coding
// must have the option's system (when the option gives one) and code.
func isOption(o, v value) bool {
	if o.kind == "Coding" && v.kind == "Coding" {
		oc, ok1 := o.coding()
		vc, ok2 := v.coding()
		return ok1 && ok2 && oc.Code == vc.Code && (oc.System == "" || oc.System == vc.System)
	}
	return equalValues(o, v)
}
