package terminology

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
)

// members is an evaluated value set: for each code system version, the
// concepts in it. Codes of systems the server does not hold can only be
// listed (include.concept), and are kept as written.
type members struct {
	parts []*memberSet
	// warnings are things the expansion could not honour, for the
	// caller's OperationOutcome or message.
	warnings []string
}

// memberSet is one system's concepts in a value set: all of them, or
// those marked in set; order lists the explicitly included concepts in
// the order the value set gives them.
type memberSet struct {
	system, version string
	sys             *System // nil for a system the server does not hold
	all             bool
	set             []bool
	order           []int32
	// displays are the value set's own displays for listed concepts.
	displays map[int32]string
	// foreign are the listed codes of an unknown system.
	foreign []IncludeConcept
}

func (m *memberSet) has(ci int32) bool { return m.all || m.set[ci] }

// resolveOptions are the $expand and $validate-code parameters that
// pick code system versions.
type resolveOptions struct {
	// systemVersion maps a system URL to the version to use when the
	// value set does not say (system-version), force to the version to
	// use whatever it says (force-system-version).
	systemVersion, force map[string]string
	// check maps a system URL to the version (possibly with wildcards,
	// "1.0.x") the resolved version must have (check-system-version).
	check map[string]string
	// prefer maps a system URL to the version of the coding being
	// validated: an include whose version has wildcards ("1.x.x") uses
	// it when it matches, rather than the latest.
	prefer     map[string]string
	activeOnly bool
}

// evaluate computes the members of vs. depth guards value sets that
// import each other.
func (s *Service) evaluate(vs *ValueSet, opts *resolveOptions, depth int) (*members, error) {
	if depth > 16 {
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueProcessing,
			Expression: []string{"ValueSet " + vs.URL}, Diagnostics: "value sets import each other too deeply (a cycle?)"}}}
	}
	if vs.Compose == nil {
		if vs.Expansion != nil {
			return s.fromExpansion(vs), nil
		}
		return nil, invalid("ValueSet "+vs.URL, "the value set has neither a compose nor an expansion")
	}
	out := &members{}
	for i, inc := range vs.Compose.Include {
		ms, err := s.include(vs, inc, opts, depth, "ValueSet.compose.include["+itoa(int64(i))+"]", &out.warnings)
		if err != nil {
			return nil, err
		}
		out.union(ms)
	}
	for i, exc := range vs.Compose.Exclude {
		ms, err := s.include(vs, exc, opts, depth, "ValueSet.compose.exclude["+itoa(int64(i))+"]", &out.warnings)
		if err != nil {
			return nil, err
		}
		out.subtract(ms)
	}
	if opts.activeOnly || (vs.Compose.Inactive != nil && !*vs.Compose.Inactive) {
		out.dropInactive()
	}
	return out, nil
}

// fromExpansion reads a value set that carries only its expansion.
func (s *Service) fromExpansion(vs *ValueSet) *members {
	out := &members{}
	var walk func([]Contains)
	walk = func(list []Contains) {
		for _, c := range list {
			if c.Code != "" {
				inc := Include{System: c.System, Version: c.Version, Concept: []IncludeConcept{{Code: c.Code, Display: c.Display}}}
				if ms, err := s.include(vs, inc, &resolveOptions{}, 0, "", &out.warnings); err == nil {
					out.union(ms)
				}
			}
			walk(c.Contains)
		}
	}
	walk(vs.Expansion.Contains)
	return out
}

// include evaluates one compose.include (or exclude).
func (s *Service) include(from *ValueSet, inc Include, opts *resolveOptions, depth int, where string, warnings *[]string) ([]*memberSet, error) {
	var imported *members
	for i, ref := range inc.ValueSet {
		url, ver, _ := strings.Cut(ref, "|")
		vs, ok := s.ValueSet(url, ver)
		if strings.HasPrefix(ref, "#") {
			vs, ok = from.containedValueSet(ref[1:])
		}
		if !ok {
			return nil, notFound(where+".valueSet["+itoa(int64(i))+"]", "the value set "+ref+" is not known to this server")
		}
		m, err := s.evaluate(vs, opts, depth+1)
		if err != nil {
			return nil, err
		}
		if imported == nil {
			imported = m
		} else {
			imported.intersect(m)
		}
	}
	if inc.System == "" {
		if imported == nil {
			return nil, invalid(where, "an include needs a system or a valueSet")
		}
		return imported.parts, nil
	}
	version := inc.Version
	if v, ok := opts.force[inc.System]; ok {
		version = v
	} else if version == "" {
		// Without a version, system-version's, else the latest that
		// check-system-version allows.
		version = cmpOr(opts.systemVersion[inc.System], opts.check[inc.System])
	} else if v := opts.prefer[inc.System]; v != "" && wildcardVersion(v, version) {
		version = v
	}
	sys, ok := s.System(inc.System, version)
	if !ok {
		if len(inc.Filter) > 0 || len(inc.Concept) == 0 {
			if version != "" && len(s.systemVersions(inc.System)) > 0 {
				return nil, notFound(where+".system", "version "+version+" of the code system "+inc.System+
					" is not known to this server (known: "+strings.Join(s.systemVersions(inc.System), ", ")+")")
			}
			return nil, notFound(where+".system", "the code system "+inc.System+" is not known to this server")
		}
		ms := &memberSet{system: inc.System, version: version, foreign: inc.Concept}
		*warnings = append(*warnings, "the code system "+inc.System+" is not known to this server: its codes are listed unchecked")
		return filterImported([]*memberSet{ms}, imported), nil
	}
	if want, ok := opts.check[inc.System]; ok && sys.Version != want && !wildcardVersion(sys.Version, want) {
		return nil, &fhir.Error{Kind: fhir.KindUnprocessable, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueException, Expression: []string{where + ".version"}, Diagnostics: "the version " + sys.Version +
				" of the code system " + inc.System + " is not allowed: check-system-version requires " + want}}}
	}
	ms := &memberSet{system: sys.URL, version: sys.Version, sys: sys}
	if len(inc.Concept) > 0 {
		ms.set = make([]bool, sys.Len())
		for j, c := range inc.Concept {
			ci, ok := sys.find(c.Code)
			if !ok {
				*warnings = append(*warnings, "the code "+c.Code+" ("+where+".concept["+itoa(int64(j))+"]) is not in "+sys.URL+"|"+sys.Version)
				continue
			}
			if !ms.set[ci] {
				ms.set[ci] = true
				ms.order = append(ms.order, ci)
			}
			if c.Display != "" {
				if ms.displays == nil {
					ms.displays = map[int32]string{}
				}
				ms.displays[ci] = c.Display
			}
		}
	} else {
		ms.all = true
	}
	for j, f := range inc.Filter {
		set, err := sys.filter(f, where+".filter["+itoa(int64(j))+"]")
		if err != nil {
			return nil, err
		}
		ms.and(set)
	}
	return filterImported([]*memberSet{ms}, imported), nil
}

// containedValueSet returns the ValueSet contained in vs with the given
// id, for an include.valueSet "#id".
func (vs *ValueSet) containedValueSet(id string) (*ValueSet, bool) {
	for _, raw := range vs.Contained {
		var c ValueSet
		if json.Unmarshal(raw, &c) == nil && c.ResourceType == "ValueSet" && c.ID == id {
			return &c, true
		}
	}
	return nil, false
}

// filterImported keeps of parts what the imported value sets hold too.
func filterImported(parts []*memberSet, imported *members) []*memberSet {
	if imported == nil {
		return parts
	}
	m := &members{parts: parts}
	m.intersect(imported)
	return m.parts
}

// and keeps of m only the concepts in set.
func (m *memberSet) and(set []bool) {
	if m.all {
		m.all, m.set = false, set
		return
	}
	for i := range m.set {
		m.set[i] = m.set[i] && set[i]
	}
	m.order = slices.DeleteFunc(m.order, func(ci int32) bool { return !m.set[ci] })
}

func (m *members) find(system, version string) *memberSet {
	for _, p := range m.parts {
		if p.system == system && p.version == version {
			return p
		}
	}
	return nil
}

// union adds parts to m.
func (m *members) union(parts []*memberSet) {
	for _, p := range parts {
		q := m.find(p.system, p.version)
		if q == nil {
			m.parts = append(m.parts, p)
			continue
		}
		switch {
		case q.sys == nil:
			q.foreign = append(q.foreign, p.foreign...)
		case q.all:
		case p.all:
			q.all, q.set = true, nil
		default:
			for ci, in := range p.set {
				if in && !q.set[ci] {
					q.set[ci] = true
				}
			}
			for _, ci := range p.order {
				if !slices.Contains(q.order, ci) {
					q.order = append(q.order, ci)
				}
			}
			for ci, d := range p.displays {
				if q.displays == nil {
					q.displays = map[int32]string{}
				}
				q.displays[ci] = d
			}
		}
	}
}

// subtract removes parts from m.
func (m *members) subtract(parts []*memberSet) {
	for _, p := range parts {
		// A code means the same in every version of its system: an
		// exclude of a version the value set does not include removes
		// its codes from the versions it includes.
		for _, o := range m.parts {
			if o.system != p.system || o.version == p.version || o.sys == nil || p.sys == nil || m.find(p.system, p.version) != nil {
				continue
			}
			if o.all {
				o.all, o.set = false, make([]bool, o.sys.Len())
				for i := range o.set {
					o.set[i] = true
				}
			}
			for i := range o.set {
				if pi, ok := p.sys.find(o.sys.concepts[i].code); o.set[i] && ok && p.has(pi) {
					o.set[i] = false
				}
			}
			o.order = slices.DeleteFunc(o.order, func(ci int32) bool { return !o.set[ci] })
		}
		q := m.find(p.system, p.version)
		if q == nil {
			continue
		}
		if q.sys == nil {
			q.foreign = slices.DeleteFunc(q.foreign, func(c IncludeConcept) bool {
				return slices.ContainsFunc(p.foreign, func(x IncludeConcept) bool { return x.Code == c.Code })
			})
			continue
		}
		if p.all {
			m.parts = slices.DeleteFunc(m.parts, func(x *memberSet) bool { return x == q })
			continue
		}
		if q.all {
			q.all, q.set = false, make([]bool, q.sys.Len())
			for i := range q.set {
				q.set[i] = true
			}
		}
		for ci, in := range p.set {
			if in {
				q.set[ci] = false
			}
		}
		q.order = slices.DeleteFunc(q.order, func(ci int32) bool { return !q.set[ci] })
	}
}

// intersect keeps of m what other holds too.
func (m *members) intersect(other *members) {
	var kept []*memberSet
	for _, q := range m.parts {
		p := other.find(q.system, q.version)
		if p == nil {
			continue
		}
		if q.sys == nil {
			q.foreign = slices.DeleteFunc(q.foreign, func(c IncludeConcept) bool {
				return !slices.ContainsFunc(p.foreign, func(x IncludeConcept) bool { return x.Code == c.Code })
			})
		} else if !p.all {
			q.and(slices.Clone(p.set))
		}
		kept = append(kept, q)
	}
	m.parts = kept
}

func (m *members) dropInactive() {
	for _, p := range m.parts {
		if p.sys == nil {
			continue
		}
		if p.all {
			p.all, p.set = false, make([]bool, p.sys.Len())
			for i := range p.set {
				p.set[i] = true
			}
		}
		for i := range p.set {
			if p.set[i] && p.sys.concepts[i].inactive {
				p.set[i] = false
			}
		}
		p.order = slices.DeleteFunc(p.order, func(ci int32) bool { return !p.set[ci] })
	}
}

// filter evaluates a compose filter on the system: the concepts it
// selects, or an error naming where for a filter the system cannot
// evaluate.
func (s *System) filter(f Filter, where string) ([]bool, error) {
	set := make([]bool, len(s.concepts))
	bad := func(msg string) ([]bool, error) {
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueNotSupported, Expression: []string{where}, Diagnostics: msg}}}
	}
	target := func() (int32, error) {
		if f.Value == "" {
			return 0, invalid(where+".value", "the filter "+f.Property+" "+f.Op+" has no value")
		}
		ci, ok := s.find(f.Value)
		if !ok {
			return 0, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueCodeInvalid, Expression: []string{where + ".value"},
				Diagnostics: "the code " + f.Value + " of the filter is not in " + s.URL}}}
		}
		return ci, nil
	}
	switch prop := f.Property; {
	case prop == "concept" || prop == "code":
		switch f.Op {
		case "is-a", "descendent-of", "is-not-a", "generalizes":
			ci, err := target()
			if err != nil {
				return nil, err
			}
			switch f.Op {
			case "is-a":
				set[ci] = true
				s.descendants(ci, set)
			case "descendent-of":
				s.descendants(ci, set)
			case "generalizes":
				set[ci] = true
				s.ancestors(ci, set)
			case "is-not-a":
				s.descendants(ci, set)
				set[ci] = true
				for i := range set {
					set[i] = !set[i]
				}
			}
			return set, nil
		case "=", "in", "not-in":
			for _, v := range splitValues(f) {
				if ci, ok := s.find(v); ok {
					set[ci] = true
				}
			}
			if f.Op == "not-in" {
				invert(set)
			}
			return set, nil
		case "regex":
			re, err := anchored(f.Value)
			if err != nil {
				return bad("the regex of the filter is not valid: " + err.Error())
			}
			for i := range s.concepts {
				set[i] = re.MatchString(s.concepts[i].code)
			}
			return set, nil
		}
		return bad("the filter operator " + f.Op + " is not supported on " + prop)
	case prop == "display":
		switch f.Op {
		case "=":
			for i := range s.concepts {
				set[i] = s.concepts[i].display == f.Value
			}
			return set, nil
		case "regex":
			re, err := anchored(f.Value)
			if err != nil {
				return bad("the regex of the filter is not valid: " + err.Error())
			}
			for i := range s.concepts {
				set[i] = re.MatchString(s.concepts[i].display)
			}
			return set, nil
		}
		return bad("the filter operator " + f.Op + " is not supported on display")
	case prop == propParent || prop == propChild:
		if f.Op != "=" && f.Op != "in" {
			return bad("the filter operator " + f.Op + " is not supported on " + prop)
		}
		for _, v := range splitValues(f) {
			ci, ok := s.find(v)
			if !ok {
				continue
			}
			rel := s.concepts[ci].children // parent = X: X's children
			if prop == propChild {
				rel = s.concepts[ci].parents
			}
			for _, r := range rel {
				set[r] = true
			}
		}
		return set, nil
	case prop == propInactive && (f.Op == "=" || f.Op == "exists"):
		want := f.Value == "true"
		for i := range s.concepts {
			set[i] = s.concepts[i].inactive == want
		}
		return set, nil
	}
	if _, ok := s.props[f.Property]; !ok && !s.anyHas(f.Property) {
		return bad("the code system " + s.URL + " has no property " + f.Property)
	}
	switch f.Op {
	case "=", "in", "not-in":
		vals := splitValues(f)
		for i := range s.concepts {
			set[i] = slices.ContainsFunc(s.property(int32(i), f.Property), func(v string) bool { return slices.Contains(vals, v) })
		}
		if f.Op == "not-in" {
			invert(set)
		}
	case "regex":
		re, err := anchored(f.Value)
		if err != nil {
			return bad("the regex of the filter is not valid: " + err.Error())
		}
		for i := range s.concepts {
			set[i] = slices.ContainsFunc(s.property(int32(i), f.Property), re.MatchString)
		}
	case "exists":
		want := f.Value != "false"
		for i := range s.concepts {
			set[i] = (len(s.property(int32(i), f.Property)) > 0) == want
		}
	default:
		return bad("the filter operator " + f.Op + " is not supported on the property " + f.Property)
	}
	return set, nil
}

// anyHas reports whether some concept carries property code.
func (s *System) anyHas(code string) bool {
	for i := range s.concepts {
		for _, p := range s.concepts[i].properties {
			if p.Code == code {
				return true
			}
		}
	}
	return false
}

func splitValues(f Filter) []string {
	if f.Op == "=" {
		return []string{f.Value}
	}
	var out []string
	for _, v := range strings.Split(f.Value, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func invert(set []bool) {
	for i := range set {
		set[i] = !set[i]
	}
}

// anchored compiles a filter regex, which must match the whole value.
func anchored(expr string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + expr + `)$`)
}

func invalid(where, msg string) *fhir.Error {
	is := fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueInvalid, Diagnostics: msg}
	if where != "" {
		is.Expression = []string{where}
	}
	return &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{is}}
}

func notFound(where, msg string) *fhir.Error {
	is := fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueNotFound, Diagnostics: msg}
	if where != "" {
		is.Expression = []string{where}
	}
	return &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{is}}
}
