package fhirpath

import (
	"encoding/json"
	"strings"
	"unicode"

	"github.com/cpms-fhir/cpms/fhir/model"
)

// collectionsEqual implements = on collections: empty when either side is
// empty, false when the sizes differ, otherwise the items are compared in
// order. ok is false when the result is empty.
func collectionsEqual(l, r []Item) (eq, ok bool) {
	if len(l) == 0 || len(r) == 0 {
		return false, false
	}
	if len(l) != len(r) {
		return false, true
	}
	unknown := false
	for i := range l {
		e, ok := itemsEqual(l[i], r[i])
		if !ok {
			unknown = true
			continue
		}
		if !e {
			return false, true
		}
	}
	if unknown {
		return false, false
	}
	return true, true
}

// itemsEqual implements = on single items. ok is false when equality cannot
// be decided (dates of different precisions, incomparable units).
func itemsEqual(a, b Item) (eq, ok bool) {
	as, bs := a.sys, b.sys
	// Complex values (other than Quantity) compare member-wise.
	if (as == model.NoSystemType || bs == model.NoSystemType) ||
		(a.t != nil && b.t != nil && as == model.SystemQuantity && bs == model.SystemQuantity) {
		return complexEqual(a, b), true
	}
	if a.v == nil || b.v == nil {
		return false, false
	}
	switch {
	case as == model.SystemString && bs == model.SystemString:
		x, _ := a.v.(string)
		y, _ := b.v.(string)
		return x == y, true
	case as == model.SystemBoolean && bs == model.SystemBoolean:
		return a.v == b.v, true
	case as == model.SystemInteger && bs == model.SystemInteger:
		x, ok1 := intValue(a.v)
		y, ok2 := intValue(b.v)
		return x == y && ok1 && ok2, true
	case isNumeric(as) && isNumeric(bs):
		x, ok1 := a.AsDecimal()
		y, ok2 := b.AsDecimal()
		return ok1 && ok2 && x.Cmp(y) == 0, true
	case isTemporal(as) && isTemporal(bs):
		x, ok1 := a.AsDateTime()
		y, ok2 := b.AsDateTime()
		if !ok1 || !ok2 || !compatibleTemporal(x, y) {
			return false, true
		}
		cmp, ok := compareTemporal(x, y)
		return cmp == 0, ok
	case as == model.SystemQuantity && bs == model.SystemQuantity:
		x, ok1 := a.AsQuantity()
		y, ok2 := b.AsQuantity()
		if !ok1 || !ok2 {
			return false, true
		}
		cmp, ok := compareQuantities(x, y)
		return cmp == 0, ok
	}
	return false, true
}

// complexEqual compares complex values (or a complex value with a
// primitive, which is never equal).
func complexEqual(a, b Item) bool {
	switch x := a.v.(type) {
	case map[string]any:
		y, ok := b.v.(map[string]any)
		return ok && jsonEqual(x, y, false)
	case typeInfo:
		y, ok := b.v.(typeInfo)
		return ok && x == y
	case refTarget:
		y, ok := b.v.(refTarget)
		return ok && x == y && a.t == b.t
	}
	return false
}

// jsonEqual compares JSON values; equiv selects equivalence for strings and
// decimals. Numbers compare by value; object key order does not matter.
func jsonEqual(a, b any, equiv bool) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false
		}
		if len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			if equiv && k == "id" {
				continue
			}
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv, equiv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		if !equiv {
			for i := range x {
				if !jsonEqual(x[i], y[i], false) {
					return false
				}
			}
			return true
		}
		used := make([]bool, len(y))
	outer:
		for _, xv := range x {
			for j, yv := range y {
				if !used[j] && jsonEqual(xv, yv, true) {
					used[j] = true
					continue outer
				}
			}
			return false
		}
		return true
	case string:
		y, ok := b.(string)
		if !ok {
			return false
		}
		if equiv {
			return normalizeString(x) == normalizeString(y)
		}
		return x == y
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		dx, ok1 := ParseDecimal(string(x))
		dy, ok2 := ParseDecimal(string(y))
		if !ok1 || !ok2 {
			return false
		}
		if equiv {
			s := min(dx.Scale(), dy.Scale())
			return dx.Round(s).Cmp(dy.Round(s)) == 0
		}
		return dx.Cmp(dy) == 0
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}

// collectionsEquivalent implements ~: both empty is true; otherwise the
// collections must have the same size and each item an equivalent in the
// other, regardless of order.
func collectionsEquivalent(l, r []Item) bool {
	if len(l) != len(r) {
		return false
	}
	if len(l) == 1 {
		return itemsEquivalent(l[0], r[0])
	}
	used := make([]bool, len(r))
outer:
	for _, a := range l {
		for j, b := range r {
			if !used[j] && itemsEquivalent(a, b) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// itemsEquivalent implements ~ on single items.
func itemsEquivalent(a, b Item) bool {
	as, bs := a.sys, b.sys
	if (as == model.NoSystemType || bs == model.NoSystemType) ||
		(a.t != nil && b.t != nil && as == model.SystemQuantity && bs == model.SystemQuantity) {
		x, ok1 := a.v.(map[string]any)
		y, ok2 := b.v.(map[string]any)
		if ok1 && ok2 {
			return jsonEqual(x, y, true)
		}
		return complexEqual(a, b)
	}
	if a.v == nil || b.v == nil {
		return a.v == nil && b.v == nil
	}
	switch {
	case as == model.SystemString && bs == model.SystemString:
		x, _ := a.v.(string)
		y, _ := b.v.(string)
		return normalizeString(x) == normalizeString(y)
	case as == model.SystemBoolean && bs == model.SystemBoolean:
		return a.v == b.v
	case isNumeric(as) && isNumeric(bs):
		x, ok1 := a.AsDecimal()
		y, ok2 := b.AsDecimal()
		if !ok1 || !ok2 {
			return false
		}
		s := min(x.Scale(), y.Scale())
		return x.Round(s).Cmp(y.Round(s)) == 0
	case isTemporal(as) && isTemporal(bs):
		x, ok1 := a.AsDateTime()
		y, ok2 := b.AsDateTime()
		if !ok1 || !ok2 || !compatibleTemporal(x, y) {
			return false
		}
		cmp, ok := compareTemporal(x, y)
		return ok && cmp == 0
	case as == model.SystemQuantity && bs == model.SystemQuantity:
		x, ok1 := a.AsQuantity()
		y, ok2 := b.AsQuantity()
		return ok1 && ok2 && equivalentQuantities(x, y)
	}
	return false
}

// normalizeString lower-cases and collapses whitespace for string
// equivalence.
func normalizeString(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), unicode.IsSpace), " ")
}
