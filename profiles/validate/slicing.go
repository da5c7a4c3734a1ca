package validate

import (
	"github.com/cpms-fhir/cpms/fhir"
)

// verdict is the outcome of matching a repetition against a slice.
type verdict uint8

const (
	noMatch verdict = iota
	match
	unknown // the slice's discriminators cannot be evaluated
)

// repetitions checks the values of a sliced element: each value is
// assigned to the first slice whose discriminators it matches, then
// checked against that slice; each slice's cardinality is checked; a
// value matching no slice is checked against the sliced element itself,
// and is an error under closed slicing. Ordered slicing requires the
// values in the order of the slices; openAtEnd, the unmatched values
// last.
func (r *run) repetitions(base *node, sl *slicingDef, vals []value, parent string) {
	groups := make([][]value, len(base.slices))
	undecided := make([]bool, len(base.slices))
	last, unmatchedSeen := -1, false
	for _, v := range vals {
		idx, anyUnknown := -1, false
		for i, s := range base.slices {
			switch r.matchSlice(s, v) {
			case match:
				idx = i
			case unknown:
				anyUnknown = true
				undecided[i] = true
			}
			if idx >= 0 {
				break
			}
		}
		if idx < 0 {
			if sl.Rules == "closed" && !anyUnknown {
				r.add(fhir.SeverityError, fhir.IssueStructure, v.loc, base.prof,
					base.id+": the value matches none of the slices, and the slicing is closed")
			}
			unmatchedSeen = true
			r.value(base, v)
			continue
		}
		s := base.slices[idx]
		if sl.Ordered && idx < last {
			r.add(fhir.SeverityError, fhir.IssueStructure, v.loc, base.prof,
				base.id+": the value of slice "+s.sliceName+" comes after a value of slice "+base.slices[last].sliceName+", and the slicing is ordered")
		}
		if sl.Rules == "openAtEnd" && unmatchedSeen {
			r.add(fhir.SeverityError, fhir.IssueStructure, v.loc, base.prof,
				base.id+": the value of slice "+s.sliceName+" comes after values that match no slice, and the slicing is open at end only")
		}
		last = max(last, idx)
		groups[idx] = append(groups[idx], v)
	}
	for i, s := range base.slices {
		if undecided[i] {
			continue // values may belong to it that could not be recognised
		}
		r.cardinality(s, len(groups[i]), parent)
		if len(s.slices) > 0 {
			resl := s.slicing
			if resl == nil {
				resl = &slicingDef{Rules: "open"}
			}
			r.repetitions(s, resl, groups[i], parent)
			continue
		}
		for _, v := range groups[i] {
			r.value(s, v)
		}
	}
}

// matchSlice tells whether v belongs to slice s: whether it meets every
// discriminator of the slicing.
func (r *run) matchSlice(s *node, v value) verdict {
	if len(s.expects) == 0 {
		r.once(v.loc, s.prof, "the slicing of "+s.sliceOf.id+" has no discriminator: the slice "+s.sliceName+" was not checked")
		return unknown
	}
	for i := range s.expects {
		e := &s.expects[i]
		if e.unsupported != "" {
			r.once(v.loc, s.prof, e.unsupported+": the slice "+s.sliceName+" was not checked")
			return unknown
		}
		vd := r.meets(s, e, v)
		if vd != match {
			return vd
		}
	}
	return match
}

// meets evaluates one discriminator on v.
func (r *run) meets(s *node, e *expect, v value) verdict {
	found := navigate(v, e.path)
	switch e.disc.Type {
	case "value", "pattern":
		if e.valueSet != "" {
			if r.v.term == nil {
				r.once(v.loc, s.prof, "the slice "+s.sliceName+" is recognised by a binding, and no terminology service is set: it was not checked")
				return unknown
			}
			for _, x := range found {
				if r.inValueSet(x, e.valueSet) {
					return match
				}
			}
			return noMatch
		}
		for _, want := range e.values {
			ok := false
			for _, x := range found {
				if e.exact && equalJSON(want, x.v) || !e.exact && matchesPattern(want, x.v) {
					ok = true
					break
				}
			}
			if !ok {
				return noMatch
			}
		}
		return match
	case "exists":
		if (len(found) > 0) == e.exists {
			return match
		}
		return noMatch
	case "type":
		for _, x := range found {
			if x.typ == nil {
				continue
			}
			for _, t := range e.types {
				if typeMatches(x.typ, t) {
					return match
				}
			}
		}
		return noMatch
	case "profile":
		known := false
		for _, url := range e.profiles {
			p := r.reg.lookup(url)
			if p == nil {
				continue
			}
			known = true
			for _, x := range found {
				if r.depth < maxDepth && !fhir.HasErrors(r.conforms(p, x)) {
					return match
				}
			}
		}
		if !known {
			r.once(v.loc, s.prof, "the profiles that recognise the slice "+s.sliceName+" are not known to this server: it was not checked")
			return unknown
		}
		return noMatch
	}
	return unknown
}
