package extract

import (
	"strings"

	"github.com/cpms-fhir/cpms/fhir/model"
)

// analyse follows a simple path expression statically from type start:
// member names, indexers, where(...) and the functions that keep the
// element (first(), last(), single(), distinct(), tail(), skip(n),
// take(n)), and type selections (as T, as(T), ofType(T)). It returns the
// last element named and the type of what the path selects, or nil where
// they cannot be told (other functions, operators, unknown names).
func analyse(start *model.Type, src string) (*model.Element, *model.Type) {
	s := strings.TrimSpace(src)
	for len(s) > 1 && s[0] == '(' && closing(s, 0) == len(s)-1 {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	cur := start
	var el *model.Element
	i := 0
	first := true
	for i < len(s) {
		switch {
		case s[i] == '.':
			i++
			continue
		case s[i] == '[':
			j := closing(s, i)
			if j < 0 {
				return nil, nil
			}
			i = j + 1
			continue
		case s[i] == ' ':
			rest := strings.TrimSpace(s[i:])
			name, ok := strings.CutPrefix(rest, "as ")
			if !ok {
				return nil, nil
			}
			name = strings.TrimSpace(name)
			if !isIdent(name) {
				return nil, nil
			}
			return el, selectType(el, cur, name)
		}
		j := i
		for j < len(s) && isIdentByte(s[j]) {
			j++
		}
		if j == i {
			return nil, nil
		}
		name := s[i:j]
		if j < len(s) && s[j] == '(' {
			k := closing(s, j)
			if k < 0 {
				return nil, nil
			}
			arg := strings.TrimSpace(s[j+1 : k])
			switch name {
			case "where", "first", "last", "single", "distinct", "tail", "skip", "take":
			case "as", "ofType":
				cur = selectType(el, cur, arg)
			default:
				return nil, nil
			}
			i = k + 1
			first = false
			continue
		}
		if first {
			first = false
			if t := model.Lookup(name); t != nil && t.Kind == model.Resource && cur != nil && cur.IsSubtypeOf(t) {
				i = j
				continue
			}
		}
		if cur == nil {
			return nil, nil
		}
		el = cur.Element(name)
		if el == nil {
			return nil, nil
		}
		cur = nil
		if !el.Choice {
			cur = el.Type()
		}
		i = j
	}
	return el, cur
}

// selectType returns the type named name among the types of a choice
// element el, or cur when it is (a subtype of) that type; nil otherwise.
func selectType(el *model.Element, cur *model.Type, name string) *model.Type {
	name = strings.TrimPrefix(name, "FHIR.")
	if el != nil && el.Choice {
		if et, ok := el.ChoiceType(name); ok {
			return et.Type
		}
		return nil
	}
	if t := model.Lookup(name); t != nil && cur != nil && cur.IsSubtypeOf(t) {
		return cur
	}
	return nil
}

// closing returns the index of the bracket closing the one at s[i], or -1.
func closing(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '\'', '`', '"':
			i = skipQuoted(s, i)
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return false
		}
	}
	return true
}
