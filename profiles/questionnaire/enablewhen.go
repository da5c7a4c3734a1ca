package questionnaire

// enabled reports whether a response item is enabled: its parent is, and
// its enableWhen conditions are met. A cycle of conditions counts as met.
func (r *run) enabled(n *node) bool {
	if n.q == nil || n.parent == nil {
		return true
	}
	switch n.state {
	case visiting, enabledState:
		return true
	case disabledState:
		return false
	}
	n.state = visiting
	ok := r.enabled(n.parent) && r.conditionsMet(n.q, n.parent)
	n.state = disabledState
	if ok {
		n.state = enabledState
	}
	return ok
}

// conditionsMet evaluates the enableWhen conditions of q for an item of
// container: all of them, or any with enableBehavior "any".
func (r *run) conditionsMet(q *item, container *node) bool {
	if len(q.EnableWhen) == 0 {
		return true
	}
	anyOf := q.EnableBehavior == "any"
	for _, ew := range q.EnableWhen {
		met := r.condition(ew, container)
		if anyOf && met {
			return true
		}
		if !anyOf && !met {
			return false
		}
	}
	return !anyOf
}

// condition evaluates one enableWhen for an item of container, with the
// operators of FHIR R4: exists (an answer exists, or not); = (an answer
// equals the value); != (no answer equals it); >, <, >=, <= (an answer
// compares so with it).
func (r *run) condition(ew enableWhen, container *node) bool {
	answers := r.answersOf(ew.Question, container)
	if ew.Operator == "exists" {
		return (len(answers) > 0) == (string(ew.Answer.raw) == "true")
	}
	if ew.Operator == "!=" {
		for _, a := range answers {
			if equalValues(a, ew.Answer) {
				return false
			}
		}
		return true
	}
	for _, a := range answers {
		if ew.Operator == "=" {
			if equalValues(a, ew.Answer) {
				return true
			}
			continue
		}
		c, ok := compareValues(a, ew.Answer)
		if !ok {
			continue
		}
		switch {
		case ew.Operator == ">" && c > 0,
			ew.Operator == "<" && c < 0,
			ew.Operator == ">=" && c >= 0,
			ew.Operator == "<=" && c <= 0:
			return true
		}
	}
	return false
}

// foundKey names the items with a linkId below a node.
type foundKey struct {
	level  *node
	linkID string
}

// answersOf returns the answers an enableWhen on the question linkID sees
// from an item of container: those of the nearest instances of the
// question, found in container, else in its parent, and so up to the
// whole response (so that an item of a repeating group sees the answers
// of its own repetition). The answers of disabled items do not count.
func (r *run) answersOf(linkID string, container *node) []value {
	for level := container; level != nil; level = level.parent {
		hits := r.below(level, linkID)
		if len(hits) == 0 {
			continue
		}
		var vals []value
		for _, h := range hits {
			if !r.enabled(h) {
				continue
			}
			for _, a := range h.answers {
				if a.n == 1 && a.v.raw != nil {
					vals = append(vals, a.v)
				}
			}
		}
		return vals
	}
	return nil
}

// below returns the items with linkID under level, remembered.
func (r *run) below(level *node, linkID string) []*node {
	k := foundKey{level, linkID}
	if hits, ok := r.found[k]; ok {
		return hits
	}
	var hits []*node
	var walk func(n *node)
	walk = func(n *node) {
		for _, c := range n.children {
			if c.linkID == linkID {
				hits = append(hits, c)
			}
			walk(c)
		}
	}
	walk(level)
	r.found[k] = hits
	return hits
}
