package validate

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/model"
)

// maxDepth bounds the nesting of type profiles followed (an extension
// whose definition uses another extension...).
const maxDepth = 16

// run is the state of one validation of a resource against a profile.
type run struct {
	v        *Validator
	reg      *registry
	root     map[string]any
	rootItem fhirpath.Item
	issues   []fhir.Issue
	depth    int
	warned   map[string]bool // warnings given once per run
}

// add records an issue about the element at loc, naming the profile.
func (r *run) add(sev fhir.Severity, code fhir.IssueType, loc string, p *profile, msg string) {
	r.issues = append(r.issues, fhir.Issue{Severity: sev, Code: code, Expression: []string{loc},
		Diagnostics: msg + " (profile " + p.url + ")"})
}

// once records a warning only the first time its message comes up.
func (r *run) once(loc string, p *profile, msg string) {
	if r.warned == nil {
		r.warned = map[string]bool{}
	}
	if r.warned[p.url+" "+msg] {
		return
	}
	r.warned[p.url+" "+msg] = true
	r.add(fhir.SeverityWarning, fhir.IssueNotSupported, loc, p, msg)
}

// element checks the values of element n found in one parent instance,
// at location parent.
func (r *run) element(n *node, vals []value, parent string) {
	if len(vals) == 0 {
		r.missing(n, parent)
		return
	}
	r.cardinality(n, len(vals), parent)
	if n.slicing != nil && len(n.slices) > 0 {
		r.repetitions(n, n.slicing, vals, parent)
		return
	}
	for _, v := range vals {
		r.value(n, v)
	}
}

// missing checks the minimum cardinality of an element absent from its
// parent, and of its slices.
func (r *run) missing(n *node, parent string) {
	if n.min > 0 {
		r.cardinality(n, 0, parent)
	}
	for _, s := range n.slices {
		r.missing(s, parent)
	}
}

// cardinality checks the number of repetitions of an element or slice
// in a parent instance at location parent.
func (r *run) cardinality(n *node, count int, parent string) {
	if count >= n.min && (n.max < 0 || count <= n.max) {
		return
	}
	loc := parent + "." + n.name
	what := n.id
	if n.sliceName != "" {
		what = "the slice " + n.sliceName + " of " + n.sliceOf.id
	}
	if count < n.min {
		r.add(fhir.SeverityError, fhir.IssueRequired, loc, n.prof,
			what+": found "+strconv.Itoa(count)+", the profile requires min "+strconv.Itoa(n.min))
	}
	if n.max >= 0 && count > n.max {
		r.add(fhir.SeverityError, fhir.IssueStructure, loc, n.prof,
			what+": found "+strconv.Itoa(count)+", the profile allows max "+strconv.Itoa(n.max))
	}
}

// value checks one instance of element n.
func (r *run) value(n *node, v value) {
	t, ok := r.checkType(n, v)
	if !ok {
		return // the rest of the element's rules are for other types
	}
	if n.fixed != nil && !equalJSON(n.fixed, v.v) {
		r.add(fhir.SeverityError, fhir.IssueValue, v.loc, n.prof,
			n.id+": the value "+brief(v.v)+" is not the fixed value "+brief(n.fixed))
	}
	if n.pattern != nil && !matchesPattern(n.pattern, v.v) {
		r.add(fhir.SeverityError, fhir.IssueValue, v.loc, n.prof,
			n.id+": the value "+brief(v.v)+" does not match the pattern "+brief(n.pattern))
	}
	if n.maxLength > 0 {
		if s, ok := v.v.(string); ok && utf8.RuneCountInString(s) > n.maxLength {
			r.add(fhir.SeverityError, fhir.IssueTooLong, v.loc, n.prof,
				n.id+": the value has "+strconv.Itoa(utf8.RuneCountInString(s))+" characters, the profile allows maxLength "+strconv.Itoa(n.maxLength))
		}
	}
	if n.binding != nil && r.v.term != nil {
		r.checkBinding(n, v)
	}
	if t != nil {
		if len(t.TargetProfile) > 0 && v.typ != nil && v.typ.Name == "Reference" {
			r.checkTarget(n, t, v)
		}
		if len(t.Profile) > 0 {
			r.checkTypeProfiles(n, t, v)
		}
	}
	for _, inv := range n.invs {
		r.checkInvariant(n, inv, v)
	}
	if n.ref != nil && n.ref != n {
		// The constraints of the element a contentReference points to
		// hold for its repetitions too.
		for _, inv := range n.ref.invs {
			if !n.declares(inv.key) {
				r.checkInvariant(n.ref, inv, v)
			}
		}
	}
	for _, c := range n.content() {
		r.element(c, children(v, c.name), v.loc)
	}
}

// checkType checks that the type of v is one the profile allows for n,
// and returns the matching type reference (nil when n lists no type or
// the type of v is unknown). It reports false when the type is not
// allowed.
func (r *run) checkType(n *node, v value) (*typeRef, bool) {
	if len(n.types) == 0 || v.typ == nil {
		return nil, true
	}
	for i := range n.types {
		if typeMatches(v.typ, n.types[i].Code) {
			return &n.types[i], true
		}
	}
	var allowed []string
	for _, t := range n.types {
		allowed = append(allowed, t.Code)
	}
	r.add(fhir.SeverityError, fhir.IssueStructure, v.loc, n.prof,
		n.id+": the type "+v.typ.TypeName()+" is not allowed, the profile allows "+strings.Join(allowed, ", "))
	return nil, false
}

// typeMatches reports whether a value of type t is of the type code of an
// element definition (the same type, or a specialisation of it).
func typeMatches(t *model.Type, code string) bool {
	if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
		return true // the value of a primitive, an id, an extension's url
	}
	if t.Name == code {
		return true
	}
	u := model.Lookup(code)
	return u != nil && t.IsSubtypeOf(u)
}

// checkTypeProfiles validates v against the profiles its type must
// conform to (an extension's definition, SimpleQuantity). With several
// profiles, conforming to one is enough. Profiles the validator does not
// know, and the base definitions of types, are not checked.
func (r *run) checkTypeProfiles(n *node, t *typeRef, v value) {
	if r.depth >= maxDepth {
		r.once(v.loc, n.prof, "the type profiles of "+n.id+" nest too deeply: not all were checked")
		return
	}
	var first []fhir.Issue
	tried := 0
	for _, url := range t.Profile {
		p := r.reg.lookup(url)
		if p == nil || p.core {
			continue
		}
		issues := r.conforms(p, v)
		if !fhir.HasErrors(issues) {
			r.issues = append(r.issues, issues...)
			return
		}
		if tried == 0 {
			first = issues
		}
		tried++
	}
	r.issues = append(r.issues, first...)
}

// conforms validates v against a type profile and returns its issues
// (without recording them).
func (r *run) conforms(p *profile, v value) []fhir.Issue {
	saved := r.issues
	r.issues = nil
	r.depth++
	r.value(p.root, v)
	r.depth--
	issues := r.issues
	r.issues = saved
	return issues
}

// checkInvariant evaluates a constraint on v, if it is one the profile
// adds to the base specification (see the package documentation).
func (r *run) checkInvariant(n *node, inv *invariant, v value) {
	if !r.own(n.prof, inv) {
		return
	}
	sev := fhir.SeverityWarning
	if inv.severity == "error" {
		sev = fhir.SeverityError
	}
	if inv.err != nil {
		r.once(v.loc, n.prof, "the constraint "+inv.key+" of "+n.id+" cannot be evaluated ("+inv.err.Error()+"): it was not checked")
		return
	}
	res, err := inv.expr.Evaluate(v.item(), fhirpath.WithResource(r.rootItem))
	if err != nil {
		r.add(fhir.SeverityWarning, fhir.IssueProcessing, v.loc, n.prof,
			"the constraint "+inv.key+" of "+n.id+" could not be evaluated: "+err.Error())
		return
	}
	ok := true
	switch len(res) {
	case 0: // an empty result does not break the constraint
	case 1:
		if b, isBool := res[0].AsBool(); isBool {
			ok = b
		}
	default:
		r.add(fhir.SeverityWarning, fhir.IssueProcessing, v.loc, n.prof,
			"the constraint "+inv.key+" of "+n.id+" gave "+strconv.Itoa(len(res))+" values instead of a Boolean: it was not checked")
		return
	}
	if !ok {
		r.add(sev, fhir.IssueInvariant, v.loc, n.prof, "constraint "+inv.key+" failed: "+inv.human)
	}
}

// own reports whether a constraint of a profile is one this validator
// evaluates: not one of the base specification's, which the base
// validation is responsible for. A constraint is the base's when its
// source is a base definition (http://hl7.org/fhir/StructureDefinition/
// followed by a type name), when it has no source and a base definition
// known to the validator declares its key, or when the profile is itself
// a base definition.
func (r *run) own(p *profile, inv *invariant) bool {
	if p.core {
		return false
	}
	if inv.source == "" {
		return !r.reg.coreKeys[inv.key]
	}
	if rest, ok := strings.CutPrefix(inv.source, coreBase); ok && model.Lookup(rest) != nil {
		return false
	}
	return true
}
