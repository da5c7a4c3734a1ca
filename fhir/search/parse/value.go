package parse

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// leafClause builds the clause of the leaf parameter l for one value of the
// key (an AND): the OR list of its values, or its :missing test.
func (p *parser) leafClause(l *leaf, key, value string) (search.Clause, bool) {
	c := search.Clause{Param: l.code, Type: l.def.Type, Modifier: l.mod}
	if l.missing {
		switch value {
		case "true", "false":
			b := value == "true"
			c.Missing = &b
			return c, true
		}
		p.issue(key, fhir.IssueValue, "The value of %s must be true or false, not %q.", key, value)
		return c, false
	}
	ok := true
	for _, s := range split(value, ',') {
		if s == "" {
			p.issue(key, fhir.IssueValue, "The value %q of %s has an empty alternative: separate values with single commas.", value, key)
			ok = false
			continue
		}
		v, err := p.value(l, s)
		if err != nil {
			p.issue(key, fhir.IssueValue, "Invalid value for %s: %v.", key, err)
			ok = false
			continue
		}
		c.Values = append(c.Values, v)
	}
	if ok && c.Type == search.TypeToken && needsTerminology(c.Modifier) && p.opts.Terminology != nil && p.fatal == nil {
		ok = p.resolveCodes(key, &c)
	}
	return c, ok
}

// value parses one value (an OR alternative) of the leaf parameter l.
func (p *parser) value(l *leaf, s string) (search.Value, error) {
	switch l.def.Type {
	case search.TypeNumber:
		return p.number(l.def, s)
	case search.TypeDate:
		return p.date(l.def, s)
	case search.TypeString:
		return stringValue(s, l.mod)
	case search.TypeToken:
		return tokenValue(s, l.mod, l.code == "_id")
	case search.TypeReference:
		return p.reference(l, s)
	case search.TypeQuantity:
		return p.quantity(l.def, s)
	case search.TypeURI:
		return search.Value{Text: unescape(s)}, nil
	case search.TypeComposite:
		return p.composite(l.def, s)
	}
	return search.Value{}, fmt.Errorf("parameters of type %s cannot be searched", l.def.Type)
}

// stringValue parses a string value: folded, or as written for :exact.
func stringValue(s string, mod search.Modifier) (search.Value, error) {
	u := unescape(s)
	if mod == search.ModExact {
		return search.Value{Text: u}, nil
	}
	f := search.Fold(u)
	if f == "" {
		return search.Value{}, fmt.Errorf("%q has nothing to search once blanks are ignored", u)
	}
	return search.Value{Text: f}, nil
}

// tokenValue parses a token value: [system|]code, or the forms of the
// :text, :of-type, :in and :not-in modifiers. id checks a value of _id.
func tokenValue(s string, mod search.Modifier, id bool) (search.Value, error) {
	switch mod {
	case search.ModText:
		f := search.Fold(unescape(s))
		if f == "" {
			return search.Value{}, fmt.Errorf("%q has no text to search", unescape(s))
		}
		return search.Value{Text: f}, nil
	case search.ModOfType:
		parts := split(s, '|')
		if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
			return search.Value{}, fmt.Errorf("%q is not of the form type-system|type-code|value that :of-type takes", unescape(s))
		}
		return search.Value{Code: unescape(parts[0]) + "|" + unescape(parts[1]) + "|" + unescape(parts[2])}, nil
	case search.ModIn, search.ModNotIn:
		u, version, _ := cut(s, '|')
		if u == "" {
			return search.Value{}, fmt.Errorf("%q names no value set", unescape(s))
		}
		return search.Value{URL: unescape(u), Version: unescape(version)}, nil
	}
	v, err := token(s)
	if err != nil {
		return v, err
	}
	if id {
		if v.System != nil {
			return v, fmt.Errorf("%q is not a resource id: _id takes ids without a system", unescape(s))
		}
		if !fhir.ID(v.Code).Valid() {
			return v, fmt.Errorf("%q is not a resource id (1 to 64 letters, digits, '-' and '.')", v.Code)
		}
	}
	return v, nil
}

// token parses system|code, |code, system| or code.
func token(s string) (search.Value, error) {
	sys, code, found := cut(s, '|')
	if !found {
		return search.Value{Code: unescape(s)}, nil
	}
	if sys == "" && code == "" {
		return search.Value{}, errors.New(`"|" has neither a system nor a code`)
	}
	u := unescape(sys)
	return search.Value{System: &u, Code: unescape(code)}, nil
}

// composite parses the components of a composite value, separated by $.
func (p *parser) composite(def *search.Param, s string) (search.Value, error) {
	parts := split(s, '$')
	if len(parts) != len(def.Components) {
		return search.Value{}, fmt.Errorf("%q has %d components where %s has %d, separated by $ (escape a literal $ as \\$)",
			s, len(parts), def.Code, len(def.Components))
	}
	v := search.Value{Components: make([]search.Value, len(parts))}
	for i, part := range parts {
		if part == "" {
			return search.Value{}, fmt.Errorf("component %d of %q is empty", i+1, s)
		}
		comp := &leaf{def: &search.Param{Code: def.Code, Type: def.Components[i].Type}}
		cv, err := p.value(comp, part)
		if err != nil {
			return search.Value{}, fmt.Errorf("component %d: %w", i+1, err)
		}
		v.Components[i] = cv
	}
	return v, nil
}

// checkPrefix checks that def takes the comparison prefix pfx.
func checkPrefix(def *search.Param, pfx search.Prefix) error {
	if pfx == search.PrefixEq || len(def.Comparators) == 0 || slices.Contains(def.Comparators, pfx) {
		return nil
	}
	return fmt.Errorf("%s does not take the prefix %s", def.Code, pfx)
}
