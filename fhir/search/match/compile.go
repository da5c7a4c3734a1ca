package match

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// The parameters every resource has, which the SQLite store answers from
// its record of the resource rather than from the index: the Matcher reads
// them from the Candidate, and skips them in the index.
const (
	paramID          = "_id"
	paramLastUpdated = "_lastUpdated"
)

// textSuffix ends the derived string parameter under which the SQLite
// store keeps the texts of a token parameter, for :text (textParam in
// fhir/store/sqlite/keys.go).
const textSuffix = "\x00text"

// compiler compiles the clauses of one Compile.
type compiler struct {
	ctx context.Context
	now time.Time
	r   Resolver
	// resolve is false while checking the inner clause of a chain or
	// reverse chain: its own chains are then compiled, not resolved.
	resolve bool
}

// clause compiles cl for resource type t, in the order of the SQLite
// store's compile.
func (c *compiler) clause(t fhir.ResourceType, cl *search.Clause) (test, error) {
	switch {
	case cl.Chain != nil:
		return c.chain(t, cl)
	case cl.Has != nil:
		return c.has(t, cl)
	case cl.Param == search.CompartmentParam:
		return c.compartment(t, cl)
	case cl.Param == search.CareDateParam:
		return c.careDate(t, cl)
	case cl.Missing != nil:
		return missing(cl)
	}
	if len(cl.Values) == 0 {
		return nil, invalidSearch(cl.Param, "the search parameter %s has no value", cl.Param)
	}
	switch cl.Type {
	case search.TypeToken:
		return token(cl)
	case search.TypeString:
		return str(cl.Param, cl.Modifier, cl.Values)
	case search.TypeDate:
		return c.date(cl)
	case search.TypeNumber:
		return number(cl)
	case search.TypeQuantity:
		return quantity(cl)
	case search.TypeReference:
		return reference(cl)
	case search.TypeURI:
		return uri(cl)
	case search.TypeComposite:
		return c.composite(cl)
	}
	return nil, invalidSearch(cl.Param, "the search parameter %s has type %q, which the store cannot search", cl.Param, cl.Type)
}

// compartment compiles a clause on search.CompartmentParam: a resource
// of type t is in the compartment when it matches one of the clause's
// parts (search.CompartmentParts).
func (c *compiler) compartment(t fhir.ResourceType, cl *search.Clause) (test, error) {
	parts, err := search.CompartmentParts(t, cl)
	if err != nil {
		return nil, invalidSearch(cl.Param, "%s", err.Error())
	}
	if len(parts) == 0 {
		return constTest(false), nil
	}
	return c.anyPart(t, parts)
}

// careDate compiles a clause on search.CareDateParam: a resource of type t
// matches when its care date matches the clause's value, or when it has
// none (search.CareDateParts).
func (c *compiler) careDate(t fhir.ResourceType, cl *search.Clause) (test, error) {
	parts, err := search.CareDateParts(t, cl)
	if err != nil {
		return nil, invalidSearch(cl.Param, "%s", err.Error())
	}
	if len(parts) == 0 {
		return constTest(true), nil
	}
	return c.anyPart(t, parts)
}

// anyPart compiles parts into a test that matches when one of them does.
func (c *compiler) anyPart(t fhir.ResourceType, parts []search.Clause) (test, error) {
	x := &anyTest{}
	for i := range parts {
		pt, err := c.clause(t, &parts[i])
		if err != nil {
			return nil, err
		}
		x.tests = append(x.tests, pt)
	}
	return x, nil
}

// anyTest matches when one of its tests does.
type anyTest struct{ tests []test }

func (x *anyTest) cost() int {
	n := 0
	for _, t := range x.tests {
		n = max(n, t.cost())
	}
	return n
}

func (x *anyTest) match(c *Candidate, idx *search.Index) bool {
	for _, t := range x.tests {
		if t.match(c, idx) {
			return true
		}
	}
	return false
}

// constTest matches every resource or none.
type constTest bool

func (k constTest) match(*Candidate, *search.Index) bool { return bool(k) }
func (constTest) cost() int                              { return costLookup }

// missingTest is :missing: true selects resources without a value of
// param among the values of type typ, false those with one.
type missingTest struct {
	typ   search.ParamType
	param string
	want  bool
}

func missing(cl *search.Clause) (test, error) {
	want := *cl.Missing
	if cl.Param == paramID || cl.Param == paramLastUpdated {
		// Every resource has an id and a lastUpdated.
		return constTest(!want), nil
	}
	switch cl.Type {
	case search.TypeToken, search.TypeString, search.TypeDate, search.TypeNumber, search.TypeQuantity,
		search.TypeReference, search.TypeURI, search.TypeComposite:
		return &missingTest{typ: cl.Type, param: cl.Param, want: want}, nil
	}
	return nil, invalidSearch(cl.Param, "the search parameter %s has type %q, which the store cannot search", cl.Param, cl.Type)
}

func (m *missingTest) cost() int { return costScan }

func (m *missingTest) match(_ *Candidate, idx *search.Index) bool {
	return has(idx, m.typ, m.param) != m.want
}

// has reports whether idx holds a value of param among those of type typ
// that the SQLite store keeps: its rows in the table of typ. (param is
// never _id or _lastUpdated, which every resource has.)
func has(idx *search.Index, typ search.ParamType, param string) bool {
	switch typ {
	case search.TypeToken:
		for i := range idx.Tokens {
			if idx.Tokens[i].Param == param {
				return true
			}
		}
	case search.TypeString:
		for i := range idx.Strings {
			if idx.Strings[i].Param == param {
				return true
			}
		}
		if tp, ok := strings.CutSuffix(param, textSuffix); ok && tp != paramID {
			for i := range idx.Tokens {
				if tok := &idx.Tokens[i]; tok.Param == tp && tok.Text != "" {
					return true
				}
			}
		}
	case search.TypeDate:
		for i := range idx.Dates {
			if idx.Dates[i].Param == param {
				return true
			}
		}
	case search.TypeNumber:
		for i := range idx.Numbers {
			if n := &idx.Numbers[i]; n.Param == param && !isNaN(n.Lo) && !isNaN(n.Hi) {
				return true
			}
		}
	case search.TypeQuantity:
		for i := range idx.Quantities {
			if q := &idx.Quantities[i]; q.Param == param && !isNaN(q.Lo) && !isNaN(q.Hi) {
				return true
			}
		}
	case search.TypeReference:
		for i := range idx.References {
			if r := &idx.References[i]; r.Param == param && (r.Type != "" && r.ID != "" || r.URL != "") {
				return true
			}
		}
	case search.TypeURI:
		for i := range idx.URIs {
			if idx.URIs[i].Param == param {
				return true
			}
		}
	case search.TypeComposite:
		for i := range idx.Composites {
			if co := &idx.Composites[i]; co.Param == param {
				for j := range co.Parts {
					if partKind(&co.Parts[j]) != partNone {
						return true
					}
				}
			}
		}
	}
	return false
}

// isNaN reports whether f is NaN, which the SQLite store does not index
// in a number or quantity.
func isNaN(f float64) bool { return f != f }

// token compiles a token clause.
func token(cl *search.Clause) (test, error) {
	switch cl.Modifier {
	case search.ModNone, search.ModNot:
	case search.ModText:
		texts := make([]search.Value, len(cl.Values))
		for i, v := range cl.Values {
			texts[i] = search.Value{Text: v.Text}
		}
		return str(cl.Param+textSuffix, search.ModNone, texts)
	case search.ModOfType:
		derived := *cl
		derived.Param, derived.Modifier = cl.Param+search.SuffixOfType, search.ModNone
		return token(&derived)
	case search.ModIn, search.ModNotIn, search.ModAbove, search.ModBelow:
		return nil, fhir.Errorf(fhir.KindNotImplemented,
			"the modifier :%s of %s needs the terminology service, which the server does not have yet", cl.Modifier, cl.Param)
	default:
		return nil, badModifier(cl)
	}
	not := cl.Modifier == search.ModNot
	if cl.Param == paramID {
		x := &idTest{not: not}
		for _, v := range cl.Values {
			x.ids.add(fhir.ID(v.Code))
		}
		return x, nil
	}
	x := &tokenTest{param: cl.Param, not: not}
	for i := range cl.Values {
		v := &cl.Values[i]
		switch {
		case v.System == nil && v.Code == "":
			x.any = true
		case v.System == nil:
			x.codes.add(v.Code)
		case v.Code == "":
			x.systems.add(*v.System)
		default:
			x.pairs.add([2]string{*v.System, v.Code})
		}
	}
	return x, nil
}

// idTest matches by the resource's own id (of the values, only Code
// counts).
type idTest struct {
	ids set[fhir.ID]
	not bool
}

func (x *idTest) cost() int { return costLookup }

func (x *idTest) match(c *Candidate, _ *search.Index) bool { return x.ids.has(c.ID) != x.not }

// tokenTest matches resources with a token of param that one of the
// values matches: any token (a value with neither system nor code), a
// code of any system, any code of a system, a code in a system (or in
// none). With not, it matches the resources without one, those without a
// token of param included.
type tokenTest struct {
	param   string
	any     bool
	codes   set[string]
	systems set[string]
	pairs   set[[2]string]
	not     bool
}

func (x *tokenTest) cost() int { return costScan }

func (x *tokenTest) match(_ *Candidate, idx *search.Index) bool {
	for i := range idx.Tokens {
		tok := &idx.Tokens[i]
		if tok.Param != x.param {
			continue
		}
		if x.any || x.codes.has(tok.Code) || x.systems.has(tok.System) || x.pairs.has([2]string{tok.System, tok.Code}) {
			return !x.not
		}
	}
	return x.not
}

// strMode is how a string value compares.
type strMode uint8

// The string modes.
const (
	strPrefix   strMode = iota // the value starts with the folded text
	strExact                   // the value is the folded text, as written
	strContains                // the value contains the folded text
)

// strValue is one value of a string clause.
type strValue struct {
	folded, exact string
}

// stringTest matches resources with a string of param that one of the
// values matches. When param is the text parameter of a token parameter
// (textParam in the SQLite store), the texts of its tokens are its strings
// too.
type stringTest struct {
	param    string
	tokens   bool
	tokParam string
	mode     strMode
	values   []strValue
}

// str compiles a string clause on param: also the :text of tokens, on
// their text parameter.
func str(param string, mod search.Modifier, values []search.Value) (test, error) {
	x := &stringTest{param: param}
	if tp, ok := strings.CutSuffix(param, textSuffix); ok && tp != paramID {
		x.tokens, x.tokParam = true, tp
	}
	for _, v := range values {
		switch mod {
		case search.ModNone:
			x.values = append(x.values, strValue{folded: search.Fold(v.Text)})
		case search.ModExact:
			x.mode = strExact
			x.values = append(x.values, strValue{folded: search.Fold(v.Text), exact: v.Text})
		case search.ModContains:
			x.mode = strContains
			x.values = append(x.values, strValue{folded: search.Fold(v.Text)})
		default:
			return nil, badModifier(&search.Clause{Param: param, Type: search.TypeString, Modifier: mod})
		}
	}
	return x, nil
}

func (x *stringTest) cost() int { return costScan }

func (x *stringTest) match(_ *Candidate, idx *search.Index) bool {
	for i := range idx.Strings {
		if s := &idx.Strings[i]; s.Param == x.param && x.matches(s.Value, s.Exact) {
			return true
		}
	}
	if x.tokens {
		for i := range idx.Tokens {
			if tok := &idx.Tokens[i]; tok.Param == x.tokParam && tok.Text != "" && x.matches(tok.Text, tok.Text) {
				return true
			}
		}
	}
	return false
}

// matches reports whether the string value (folded) and exact (as
// written) matches one of the values.
func (x *stringTest) matches(value, exact string) bool {
	for i := range x.values {
		v := &x.values[i]
		switch x.mode {
		case strPrefix:
			if strings.HasPrefix(value, v.folded) {
				return true
			}
		case strExact:
			if value == v.folded && exact == v.exact {
				return true
			}
		case strContains:
			if strings.Contains(value, v.folded) {
				return true
			}
		}
	}
	return false
}

// dateTest matches resources with a date of param in one of the ranges
// conds; for _lastUpdated (instant), the candidate's LastUpdated.
type dateTest struct {
	param   string
	instant bool
	conds   []cond[int64]
}

func (c *compiler) date(cl *search.Clause) (test, error) {
	if cl.Modifier != search.ModNone {
		return nil, badModifier(cl)
	}
	x := &dateTest{param: cl.Param, instant: cl.Param == paramLastUpdated}
	for i := range cl.Values {
		cs, err := rangeConds(cl.Values[i].Prefix, dateBounds(&cl.Values[i], c.now))
		if err != nil {
			return nil, err
		}
		x.conds = append(x.conds, cs...)
	}
	return x, nil
}

func (x *dateTest) cost() int {
	if x.instant {
		return costLookup
	}
	return costScan
}

func (x *dateTest) match(c *Candidate, idx *search.Index) bool {
	if x.instant {
		for _, k := range x.conds {
			if k.holdsInstant(c.LastUpdated) {
				return true
			}
		}
		return false
	}
	for i := range idx.Dates {
		if d := &idx.Dates[i]; d.Param == x.param && anyHolds(x.conds, d.Lo, d.Hi) {
			return true
		}
	}
	return false
}

// numberTest matches resources with a number of param in one of the
// ranges conds.
type numberTest struct {
	param string
	conds []cond[float64]
}

func number(cl *search.Clause) (test, error) {
	if cl.Modifier != search.ModNone {
		return nil, badModifier(cl)
	}
	x := &numberTest{param: cl.Param}
	for _, v := range cl.Values {
		cs, err := rangeConds(v.Prefix, numberBounds(v.NumLo, v.NumHi, v.Num))
		if err != nil {
			return nil, err
		}
		x.conds = append(x.conds, cs...)
	}
	return x, nil
}

func (x *numberTest) cost() int { return costScan }

func (x *numberTest) match(_ *Candidate, idx *search.Index) bool {
	for i := range idx.Numbers {
		if n := &idx.Numbers[i]; n.Param == x.param && anyHolds(x.conds, n.Lo, n.Hi) {
			return true
		}
	}
	return false
}

// quantityTest matches resources with a quantity of param that satisfies
// one of conds.
type quantityTest struct {
	param string
	conds []qcond
}

func quantity(cl *search.Clause) (test, error) {
	if cl.Modifier != search.ModNone {
		return nil, badModifier(cl)
	}
	x := &quantityTest{param: cl.Param}
	for i := range cl.Values {
		cs, err := quantityConds(&cl.Values[i])
		if err != nil {
			return nil, err
		}
		x.conds = append(x.conds, cs...)
	}
	return x, nil
}

func (x *quantityTest) cost() int { return costScan }

func (x *quantityTest) match(_ *Candidate, idx *search.Index) bool {
	for i := range idx.Quantities {
		if q := &idx.Quantities[i]; q.Param == x.param && anyQuantity(x.conds, q) {
			return true
		}
	}
	return false
}

// target names a resource as a reference target.
type target struct {
	t  fhir.ResourceType
	id fhir.ID
}

// refTest matches resources with a reference of param to one of targets,
// to one of ids (of any type), or with one of urls (of any version), or
// one of versioned (URL and version).
type refTest struct {
	param     string
	targets   set[target]
	ids       set[fhir.ID]
	urls      set[string]
	versioned set[[2]string]
}

func reference(cl *search.Clause) (test, error) {
	switch cl.Modifier {
	case search.ModNone:
	case search.ModIdentifier:
		derived := *cl
		derived.Param, derived.Type, derived.Modifier = cl.Param+search.SuffixIdentifier, search.TypeToken, search.ModNone
		return token(&derived)
	default:
		return nil, badModifier(cl)
	}
	x := &refTest{param: cl.Param}
	for i := range cl.Values {
		v := &cl.Values[i]
		switch {
		case v.URL != "" && v.Version != "":
			x.versioned.add([2]string{v.URL, v.Version})
		case v.URL != "":
			x.urls.add(v.URL)
		case v.ID != "" && v.Type != "":
			x.targets.add(target{v.Type, v.ID})
		case v.ID != "":
			x.ids.add(v.ID)
		}
		// A value with neither a URL nor an id matches nothing.
	}
	return x, nil
}

func (x *refTest) cost() int { return costScan }

func (x *refTest) match(_ *Candidate, idx *search.Index) bool {
	for i := range idx.References {
		r := &idx.References[i]
		if r.Param != x.param {
			continue
		}
		if r.Type != "" && r.ID != "" && (x.targets.has(target{r.Type, r.ID}) || x.ids.has(r.ID)) {
			return true
		}
		if r.URL != "" && (x.urls.has(r.URL) || x.versioned.has([2]string{r.URL, r.Version})) {
			return true
		}
	}
	return false
}

// refValue is a reference search value as a composite's component
// compares it (refPart in the SQLite store).
type refValue struct {
	url, version string
	t            fhir.ResourceType
	id           fhir.ID
}

// matches reports whether r is the reference v names: the same URL (and
// version, when v has one), or the same type (when v has one) and id.
func (v *refValue) matches(r *search.Reference) bool {
	switch {
	case v.url != "":
		return r.URL == v.url && (v.version == "" || r.Version == v.version)
	case v.id != "":
		return r.Type != "" && r.ID == v.id && (v.t == "" || r.Type == v.t)
	}
	return false
}

// uriMode is how a uri value compares.
type uriMode uint8

// The uri modes.
const (
	uriEqual    uriMode = iota
	uriBelow            // the value starts with the search URI
	uriAbove            // the value is a prefix of the search URI
	uriContains         // the value contains the search URI
)

// uriTest matches resources with a uri of param that one of texts
// matches.
type uriTest struct {
	param string
	mode  uriMode
	texts set[string] // uriEqual
	list  []string    // the other modes
}

func uri(cl *search.Clause) (test, error) {
	x := &uriTest{param: cl.Param}
	switch cl.Modifier {
	case search.ModNone:
	case search.ModBelow:
		x.mode = uriBelow
	case search.ModAbove:
		x.mode = uriAbove
	case search.ModContains:
		x.mode = uriContains
	default:
		return nil, badModifier(cl)
	}
	for _, v := range cl.Values {
		if x.mode == uriEqual {
			x.texts.add(v.Text)
		} else {
			x.list = append(x.list, v.Text)
		}
	}
	return x, nil
}

func (x *uriTest) cost() int { return costScan }

func (x *uriTest) match(_ *Candidate, idx *search.Index) bool {
	for i := range idx.URIs {
		u := &idx.URIs[i]
		if u.Param != x.param {
			continue
		}
		if x.mode == uriEqual {
			if x.texts.has(u.Value) {
				return true
			}
			continue
		}
		for _, text := range x.list {
			switch x.mode {
			case uriBelow:
				if strings.HasPrefix(u.Value, text) {
					return true
				}
			case uriAbove:
				// A non-empty prefix of the search URI; the empty value
				// only for an empty search URI.
				if strings.HasPrefix(text, u.Value) && (u.Value != "" || text == "") {
					return true
				}
			case uriContains:
				if strings.Contains(u.Value, text) {
					return true
				}
			}
		}
	}
	return false
}

// chainTest matches resources with a reference of param to one of refs,
// of one of the types targets (any type when there are none).
type chainTest struct {
	param   string
	targets []fhir.ResourceType
	refs    map[target]struct{}
}

func (c *compiler) chain(t fhir.ResourceType, cl *search.Clause) (test, error) {
	ch := cl.Chain
	// The SQLite store compiles the inner clause for each target type;
	// its errors do not depend on the type.
	u := t
	if len(ch.Targets) > 0 {
		u = ch.Targets[0]
	}
	if _, err := (&compiler{ctx: c.ctx, now: c.now}).clause(u, &ch.Clause); err != nil {
		return nil, err
	}
	if !c.resolve {
		return constTest(false), nil
	}
	if c.r.Chain == nil {
		return nil, fhir.Errorf(fhir.KindNotImplemented, "the chained parameter %s cannot be searched here", cl.Param)
	}
	found, err := c.r.Chain(c.ctx, ch)
	if err != nil {
		return nil, err
	}
	x := &chainTest{param: cl.Param, targets: ch.Targets, refs: make(map[target]struct{}, len(found))}
	for ref, ok := range found {
		typ, id, cut := strings.Cut(ref, "/")
		if ok && cut {
			x.refs[target{fhir.ResourceType(typ), fhir.ID(id)}] = struct{}{}
		}
	}
	return x, nil
}

func (x *chainTest) cost() int { return costScan }

func (x *chainTest) match(_ *Candidate, idx *search.Index) bool {
	if len(x.refs) == 0 {
		return false
	}
	for i := range idx.References {
		r := &idx.References[i]
		if r.Param != x.param || r.Type == "" || r.ID == "" {
			continue
		}
		if _, ok := x.refs[target{r.Type, r.ID}]; ok && (len(x.targets) == 0 || typeIn(r.Type, x.targets)) {
			return true
		}
	}
	return false
}

// typeIn reports whether t is one of ts.
func typeIn(t fhir.ResourceType, ts []fhir.ResourceType) bool {
	for _, u := range ts {
		if u == t {
			return true
		}
	}
	return false
}

// hasTest matches the resources whose id is in ids.
type hasTest struct {
	ids map[fhir.ID]bool
}

func (c *compiler) has(t fhir.ResourceType, cl *search.Clause) (test, error) {
	h := cl.Has
	if _, err := (&compiler{ctx: c.ctx, now: c.now}).clause(h.Type, &h.Clause); err != nil {
		return nil, err
	}
	if !c.resolve {
		return constTest(false), nil
	}
	if c.r.Has == nil {
		return nil, fhir.Errorf(fhir.KindNotImplemented, "the reverse chain _has:%s:%s cannot be searched here", h.Type, h.Ref)
	}
	ids, err := c.r.Has(c.ctx, t, h)
	if err != nil {
		return nil, err
	}
	return &hasTest{ids: ids}, nil
}

func (x *hasTest) cost() int { return costLookup }

func (x *hasTest) match(c *Candidate, _ *search.Index) bool { return x.ids[c.ID] }

// badModifier is the error for a modifier the clause's type does not take.
func badModifier(cl *search.Clause) error {
	return invalidSearch(cl.Param, "the modifier :%s does not apply to the %s parameter %s", cl.Modifier, cl.Type, cl.Param)
}

// invalidSearch is a KindInvalid error about parameter param.
func invalidSearch(param, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &fhir.Error{Kind: fhir.KindInvalid, Message: msg, Issues: []fhir.Issue{{
		Severity: fhir.SeverityError, Code: fhir.IssueInvalid, Diagnostics: msg, Expression: []string{param}}}}
}
