package terminology

import (
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/cpms-fhir/cpms/fhir"
)

// LookupResult is what $lookup returns about a concept.
type LookupResult struct {
	Name, Version, Display, Definition string
	Abstract, Inactive                 bool
	Designations                       []Designation
	// Properties are the concept's properties with parent and child
	// filled from the hierarchy.
	Properties []ConceptProperty
}

// Lookup finds code in system (version: latest when empty).
// displayLanguage picks the display; properties, when given, limits the
// properties returned (codes as in CodeSystem.property, plus parent,
// child, inactive, definition, designation).
func (s *Service) Lookup(system, version, code, displayLanguage string, properties []string) (*LookupResult, error) {
	sys, err := s.resolveSystem(system, version, "system")
	if err != nil {
		return nil, err
	}
	ci, ok := sys.find(code)
	if !ok {
		return nil, notFound("code", "the code "+code+" is not in the code system "+sys.URL+"|"+sys.Version)
	}
	c := &sys.concepts[ci]
	want := func(p string) bool {
		return len(properties) == 0 || slices.Contains(properties, p) || slices.Contains(properties, "*")
	}
	res := &LookupResult{Name: cmpOr(sys.Name, sys.Title, sys.URL), Version: sys.Version, Display: c.display,
		Abstract: c.abstract, Inactive: c.inactive}
	if d, ok := sys.displayIn(ci, languages(displayLanguage)); ok {
		res.Display = d
	}
	if want("definition") {
		res.Definition = c.definition
	}
	if want("designation") {
		res.Designations = c.designations
	}
	for _, p := range c.properties {
		if want(p.Code) {
			res.Properties = append(res.Properties, p)
		}
	}
	if want(propParent) {
		for _, pi := range c.parents {
			res.Properties = append(res.Properties, ConceptProperty{Code: propParent, ValueCode: sys.concepts[pi].code})
		}
	}
	if want(propChild) {
		for _, ki := range c.children {
			res.Properties = append(res.Properties, ConceptProperty{Code: propChild, ValueCode: sys.concepts[ki].code})
		}
	}
	if want(propInactive) && !slices.ContainsFunc(c.properties, func(p ConceptProperty) bool { return p.Code == propInactive }) {
		v := c.inactive
		res.Properties = append(res.Properties, ConceptProperty{Code: propInactive, ValueBoolean: &v})
	}
	return res, nil
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// resolveSystem returns the system url in version, or a not-found error
// naming the versions known.
func (s *Service) resolveSystem(url, version, param string) (*System, error) {
	if url == "" {
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueRequired, Expression: []string{param}, Diagnostics: "the code system is missing: give " + param}}}
	}
	sys, ok := s.System(url, version)
	if ok {
		return sys, nil
	}
	if known := s.systemVersions(url); len(known) > 0 {
		return nil, notFound(param, "version "+version+" of the code system "+url+" is not known to this server (known: "+strings.Join(known, ", ")+")")
	}
	return nil, notFound(param, "the code system "+url+" is not known to this server")
}

// Validation is the result of $validate-code.
type Validation struct {
	Result  bool
	Display string
	// Message explains a false result, or warns about a true one (a
	// display that is not the concept's).
	Message string
	// Issues carry the same findings with their location, for the
	// OperationOutcome that R5 servers return alongside.
	Issues          []fhir.Issue
	System, Version string
	Code            string
	Inactive        bool
	UnknownSystem   bool
	// UnknownCode says the code is not in its (known, complete) system.
	UnknownCode bool
	// Abstract says the concept is abstract (not selectable).
	Abstract bool
}

// CodingToCheck is one coding of a $validate-code request; Where is its
// location in the request, for issues.
type CodingToCheck struct {
	System, Version, Code, Display string
	Where                          string
}

// ValidateCodeInSystem checks that a coding is a concept of its system
// (CodeSystem/$validate-code). An unknown code is a false result, not an
// error (but a true one, with a warning, in a fragment of a system); an
// unknown system is an error.
func (s *Service) ValidateCodeInSystem(c CodingToCheck, displayLanguage string) (*Validation, error) {
	sys, err := s.resolveSystem(c.System, c.Version, "url")
	if err != nil {
		return nil, err
	}
	return checkInSystem(sys, c, displayLanguage), nil
}

func checkInSystem(sys *System, c CodingToCheck, displayLanguage string) *Validation {
	v := &Validation{System: sys.URL, Version: sys.Version, Code: c.Code}
	ci, ok := sys.find(c.Code)
	if !ok {
		msg := "Unknown code '" + c.Code + "' in the CodeSystem '" + sys.URL + "' version '" + sys.Version + "'"
		sev := fhir.SeverityError
		if sys.Content == "fragment" {
			// The code may be in the part of the system the server lacks:
			// it cannot be called invalid.
			msg += " (the server holds a fragment of this code system, so the code may be valid)"
			v.Result, sev = true, fhir.SeverityWarning
		} else {
			v.UnknownCode = true
		}
		v.Message = msg
		v.Issues = append(v.Issues, issueAt(sev, fhir.IssueCodeInvalid, c.Where+".code", msg))
		return v
	}
	con := &sys.concepts[ci]
	v.Result, v.Code, v.Display, v.Inactive, v.Abstract = true, con.code, con.display, con.inactive, con.abstract
	if d, ok := sys.displayIn(ci, languages(displayLanguage)); ok {
		v.Display = d
	}
	if c.Display != "" && !sys.hasDisplay(ci, c.Display, languages(displayLanguage)) {
		msg := "Wrong Display Name '" + c.Display + "' for " + sys.URL + "#" + con.code + ": should be '" + v.Display + "'"
		v.Result = false
		v.Message = msg
		v.Issues = append(v.Issues, issueAt(fhir.SeverityError, fhir.IssueInvalid, c.Where+".display", msg))
	}
	if con.inactive {
		msg := "The concept '" + con.code + "' is inactive"
		if v.Message == "" {
			v.Message = msg
		}
		v.Issues = append(v.Issues, issueAt(fhir.SeverityWarning, fhir.IssueBusinessRule, c.Where+".code", msg))
	}
	return v
}

// hasDisplay reports whether d is the display or a designation of ci
// (ignoring case, not spaces), in one of langs when given.
func (s *System) hasDisplay(ci int32, d string, langs []string) bool {
	con := &s.concepts[ci]
	if strings.EqualFold(con.display, d) {
		return true
	}
	// With a displayLanguage the concept has a display in, a designation
	// in another language is not a valid display.
	_, inLang := s.displayIn(ci, langs)
	for _, des := range con.designations {
		if inLang && des.Language != "" &&
			!slices.ContainsFunc(langs, func(l string) bool { return sameLanguage(l, des.Language) }) {
			continue
		}
		if strings.EqualFold(des.Value, d) {
			return true
		}
	}
	return false
}

func issueAt(sev fhir.Severity, code fhir.IssueType, where, msg string) fhir.Issue {
	is := fhir.Issue{Severity: sev, Code: code, Diagnostics: msg}
	if where != "" && !strings.HasPrefix(where, ".") {
		is.Expression = []string{where}
	}
	return is
}

// ValidateCodeInValueSet checks that one of codings is in the value set
// (ValueSet/$validate-code). An unknown system in a coding makes the
// result false with a message; an unknown value set is an error.
func (s *Service) ValidateCodeInValueSet(vsGiven *ValueSet, url, vsVersion string, codings []CodingToCheck, displayLanguage string, activeOnly bool) (*Validation, error) {
	return s.validateInValueSet(vsGiven, url, vsVersion, codings, displayLanguage, &resolveOptions{activeOnly: activeOnly})
}

// validateInValueSet is ValidateCodeInValueSet with the options that pick
// code system versions. A value set whose content cannot be determined
// (it names a code system or value set the server does not have, or a
// version check-system-version refuses) makes the result false, with
// the reason; a broken value set is an error.
func (s *Service) validateInValueSet(vsGiven *ValueSet, url, vsVersion string, codings []CodingToCheck, displayLanguage string, opts *resolveOptions) (*Validation, error) {
	vs, err := s.requestValueSet(vsGiven, url, vsVersion, "url")
	if err != nil {
		return nil, err
	}
	for _, c := range codings {
		if c.System != "" && c.Version != "" {
			if opts.prefer == nil {
				opts.prefer = map[string]string{}
			}
			opts.prefer[c.System] = c.Version
		}
	}
	m, err := s.evaluate(vs, opts, 0)
	var fe *fhir.Error
	if errors.As(err, &fe) && (fe.Kind == fhir.KindNotFound || fe.Kind == fhir.KindUnprocessable) && len(codings) > 0 {
		c := codings[0]
		return &Validation{System: c.System, Version: c.Version, Code: c.Code, Message: fe.Error(), Issues: fe.Issues}, nil
	}
	if err != nil {
		return nil, err
	}
	// One coding in the value set makes a CodeableConcept valid, unless
	// another coding has a code its (known) system does not have: that is
	// an error in the concept, whatever the value set.
	var valid, first *Validation
	var unknown []*Validation
	for _, c := range codings {
		v := s.checkInMembers(m, vs, c, displayLanguage)
		switch {
		case v.Result:
			if valid == nil {
				valid = v
			}
			continue
		case v.UnknownCode:
			unknown = append(unknown, v)
		}
		if first == nil {
			first = v
		} else {
			first.Issues = append(first.Issues, v.Issues...)
		}
	}
	switch {
	case valid != nil && len(unknown) == 0:
		return valid, nil
	case valid != nil:
		out := *valid
		out.Result, out.Message = false, unknown[0].Message
		out.Issues = append(slices.Clone(first.Issues), valid.Issues...)
		return &out, nil
	case first == nil:
		return nil, invalid("code", "no code to validate: give code and system, coding or codeableConcept")
	}
	return first, nil
}

func (s *Service) checkInMembers(m *members, vs *ValueSet, c CodingToCheck, displayLanguage string) *Validation {
	vsName := vs.URL
	if vs.Version != "" {
		vsName += "|" + vs.Version
	}
	notIn := func(v *Validation) *Validation {
		msg := "The provided code '" + c.System + "#" + c.Code + "' was not found in the value set '" + vsName + "'"
		v.Result = false
		v.Message = joinMsg(msg, v.Message)
		v.Issues = append(v.Issues, issueAt(fhir.SeverityError, fhir.IssueCodeInvalid, c.Where+".code", msg))
		return v
	}
	if c.System == "" && c.Where != "" {
		// A Coding without a system has no defined meaning.
		msg := "The coding has no system: a code without a system has no defined meaning and cannot be validated"
		return notIn(&Validation{Code: c.Code, Message: msg,
			Issues: []fhir.Issue{issueAt(fhir.SeverityError, fhir.IssueInvalid, c.Where+".system", msg)}})
	}
	if c.System == "" {
		// A code without a system matches in any system of the value set.
		for _, p := range m.parts {
			if p.sys == nil {
				continue
			}
			if ci, ok := p.sys.find(c.Code); ok && p.has(ci) {
				c.System = p.system
				return s.checkInMembers(m, vs, c, displayLanguage)
			}
		}
		return notIn(&Validation{Code: c.Code})
	}
	// Of the parts of the coding's system (a value set may include
	// several versions of it), holding hold the code, first is the first
	// in the coding's version, other holds the code in another version
	// than the coding's.
	var holding []*memberSet
	var first, other *memberSet
	for _, p := range m.parts {
		if p.system != c.System {
			continue
		}
		if p.sys == nil {
			for _, f := range p.foreign {
				if f.Code == c.Code {
					msg := "The code system " + c.System + " is not known to this server: the code could not be checked"
					return &Validation{Result: true, System: c.System, Code: c.Code, Display: f.Display, Message: msg, UnknownSystem: true,
						Issues: []fhir.Issue{issueAt(fhir.SeverityWarning, fhir.IssueNotFound, c.Where+".system", msg)}}
				}
			}
			continue
		}
		ci, ok := p.sys.find(c.Code)
		member := ok && p.has(ci)
		switch {
		case c.Version != "" && p.version != c.Version:
			if member && other == nil {
				other = p
			}
		case member:
			holding = append(holding, p)
		case first == nil:
			first = p
		}
	}
	// The latest version where the coding is valid (its display too), or
	// else the latest version holding the code.
	slices.SortFunc(holding, func(a, b *memberSet) int { return compareVersions(b.version, a.version) })
	for _, p := range holding {
		if v := checkInSystem(p.sys, c, displayLanguage); v.Result {
			return v
		}
	}
	switch {
	case len(holding) > 0:
		return checkInSystem(holding[0].sys, c, displayLanguage)
	case first != nil:
		v := checkInSystem(first.sys, c, displayLanguage)
		if _, known := first.sys.find(c.Code); !known && v.Result && first.all {
			return v // a code a fragment lacks, where the value set has all the system
		}
		return notIn(v)
	case other != nil:
		// The code is in the value set, in another version of its system.
		display := c.Display
		c.Display = ""
		v := checkInSystem(other.sys, c, displayLanguage)
		c.Display = display
		msg := "The code system '" + c.System + "' version '" + other.version + "' in the value set is different to the one in the coding ('" + c.Version + "')"
		if _, known := s.System(c.System, c.Version); !known {
			msg = "A definition for CodeSystem '" + c.System + "' version '" + c.Version + "' could not be found, so the code cannot be validated. Valid versions: " +
				strings.Join(s.systemVersions(c.System), ", ") + "; " + msg
		}
		v.Result, v.Message = false, msg
		v.Issues = []fhir.Issue{issueAt(fhir.SeverityError, fhir.IssueInvalid, c.Where+".version", msg)}
		return v
	}
	if _, ok := s.System(c.System, ""); !ok {
		msg := "A definition for CodeSystem '" + c.System + "' could not be found, so the code cannot be validated"
		v := &Validation{System: c.System, Code: c.Code, UnknownSystem: true, Message: msg,
			Issues: []fhir.Issue{issueAt(fhir.SeverityError, fhir.IssueNotFound, c.Where+".system", msg)}}
		return notIn(v)
	}
	return notIn(&Validation{System: c.System, Code: c.Code})
}

func joinMsg(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

// Subsumption outcomes of $subsumes.
const (
	Equivalent  = "equivalent"
	Subsumes    = "subsumes"
	SubsumedBy  = "subsumed-by"
	NotSubsumed = "not-subsumed"
)

// Subsumes tests the relation between codes a and b of one system.
func (s *Service) Subsumes(system, version, a, b string) (string, error) {
	sys, err := s.resolveSystem(system, version, "system")
	if err != nil {
		return "", err
	}
	ai, ok := sys.find(a)
	if !ok {
		return "", invalid("codeA", "the code "+a+" is not in the code system "+sys.URL)
	}
	bi, ok := sys.find(b)
	if !ok {
		return "", invalid("codeB", "the code "+b+" is not in the code system "+sys.URL)
	}
	switch {
	case ai == bi:
		return Equivalent, nil
	case sys.subsumes(ai, bi):
		return Subsumes, nil
	case sys.subsumes(bi, ai):
		return SubsumedBy, nil
	}
	return NotSubsumed, nil
}

// conceptMap is a ConceptMap indexed by source system and code, both
// ways.
type conceptMap struct {
	res    *ConceptMap
	groups []MapGroup
	// forward maps source system + "|" + code to its mappings;
	// backward maps target system + "|" + code to the reversed mappings.
	// Both are built on first use (see index), or by Service.Warm.
	once              sync.Once
	forward, backward map[string][]mapRef
}

// mapRef points at one target of the map: group g, element e, target t.
// The index holds these rather than copies of the strings: the ORPHA–HPO
// map alone has over a hundred thousand targets.
type mapRef struct{ g, e, t int32 }

// mapping is one translation: the other system and code, and the
// equivalence read from the source's side.
type mapping struct {
	system, code, display, equivalence, comment string
}

func newConceptMap(cm *ConceptMap) *conceptMap {
	meta := *cm
	meta.Group = nil
	return &conceptMap{res: &meta, groups: cm.Group}
}

// index returns the lookup tables, building them on first use.
func (m *conceptMap) index() (forward, backward map[string][]mapRef) {
	m.once.Do(func() {
		m.forward, m.backward = map[string][]mapRef{}, map[string][]mapRef{}
		for gi, g := range m.groups {
			for ei, e := range g.Element {
				for ti, t := range e.Target {
					ref := mapRef{int32(gi), int32(ei), int32(ti)}
					m.forward[g.Source+"|"+e.Code] = append(m.forward[g.Source+"|"+e.Code], ref)
					if t.Code != "" {
						m.backward[g.Target+"|"+t.Code] = append(m.backward[g.Target+"|"+t.Code], ref)
					}
				}
			}
		}
	})
	return m.forward, m.backward
}

// mapping returns the translation ref stands for, read from the source's
// side, or from the target's when reverse.
func (m *conceptMap) mapping(ref mapRef, reverse bool) mapping {
	g := &m.groups[ref.g]
	e := &g.Element[ref.e]
	t := &e.Target[ref.t]
	if reverse {
		return mapping{g.Source, e.Code, e.Display, reverseEquivalence(t.Equivalence), t.Comment}
	}
	return mapping{g.Target, t.Code, t.Display, t.Equivalence, t.Comment}
}

// reverseEquivalence reads an equivalence from the target's side.
func reverseEquivalence(eq string) string {
	switch eq {
	case "wider":
		return "narrower"
	case "narrower":
		return "wider"
	case "subsumes":
		return "specializes"
	case "specializes":
		return "subsumes"
	}
	return eq
}

// Match is one result of $translate.
type Match struct {
	Equivalence string
	Concept     Coding
	Source      string // the ConceptMap's URL
	Comment     string
}

// TranslateRequest is ConceptMap/$translate.
type TranslateRequest struct {
	// URL names the map (empty: every map from the system, or to it when
	// Reverse).
	URL, Version string
	System, Code string
	TargetSystem string
	Reverse      bool
}

// Translate maps a code with the concept maps the server holds.
func (s *Service) Translate(req TranslateRequest) ([]Match, error) {
	if req.Code == "" || req.System == "" {
		return nil, invalid("code", "give code and system (or coding) to translate")
	}
	s.mu.RLock()
	var maps []*conceptMap
	if req.URL != "" {
		if m, ok := pick(s.maps[req.URL], req.Version, func(x *conceptMap) string { return x.res.Version }); ok {
			maps = append(maps, m)
		}
	} else {
		for _, l := range s.maps {
			maps = append(maps, l[len(l)-1])
		}
	}
	s.mu.RUnlock()
	if req.URL != "" && len(maps) == 0 {
		return nil, notFound("url", "the concept map "+req.URL+" is not known to this server")
	}
	slices.SortFunc(maps, func(a, b *conceptMap) int { return strings.Compare(a.res.URL, b.res.URL) })
	var out []Match
	for _, m := range maps {
		index, backward := m.index()
		if req.Reverse {
			index = backward
		}
		for _, ref := range index[req.System+"|"+req.Code] {
			mp := m.mapping(ref, req.Reverse)
			if req.TargetSystem != "" && mp.system != req.TargetSystem {
				continue
			}
			display := mp.display
			if display == "" {
				if sys, ok := s.System(mp.system, ""); ok {
					display, _ = sys.Display(mp.code)
				}
			}
			out = append(out, Match{Equivalence: mp.equivalence, Concept: Coding{System: mp.system, Code: mp.code, Display: display},
				Source: m.res.URL, Comment: mp.comment})
		}
	}
	return out, nil
}
