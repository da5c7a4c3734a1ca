package fhirpath

import (
	"github.com/cpms-fhir/cpms/fhir/model"
)

// compareItems orders two single items for <, >, <=, >=. ok is false when
// the result is empty (date/time precision, unit incompatibility).
func compareItems(a, b Item) (int, bool, error) {
	as, bs := a.sys, b.sys
	switch {
	case isNumeric(as) && isNumeric(bs):
		if as == model.SystemInteger && bs == model.SystemInteger {
			x, ok1 := intValue(a.v)
			y, ok2 := intValue(b.v)
			if ok1 && ok2 {
				return cmpInt(x, y), true, nil
			}
			return 0, false, nil
		}
		x, ok1 := a.AsDecimal()
		y, ok2 := b.AsDecimal()
		if !ok1 || !ok2 {
			return 0, false, nil
		}
		return x.Cmp(y), true, nil
	case as == model.SystemString && bs == model.SystemString:
		x, ok1 := a.AsString()
		y, ok2 := b.AsString()
		if !ok1 || !ok2 {
			return 0, false, nil
		}
		switch {
		case x < y:
			return -1, true, nil
		case x > y:
			return 1, true, nil
		}
		return 0, true, nil
	case isTemporal(as) && isTemporal(bs):
		x, ok1 := a.AsDateTime()
		y, ok2 := b.AsDateTime()
		if !ok1 || !ok2 {
			return 0, false, nil
		}
		if !compatibleTemporal(x, y) {
			return 0, false, errIncomparable(a, b)
		}
		cmp, ok := compareTemporal(x, y)
		return cmp, ok, nil
	case as == model.SystemQuantity || bs == model.SystemQuantity:
		x, ok1 := asQuantity(a)
		y, ok2 := asQuantity(b)
		if !ok1 || !ok2 {
			return 0, false, errIncomparable(a, b)
		}
		cmp, ok := compareQuantities(x, y)
		return cmp, ok, nil
	}
	return 0, false, errIncomparable(a, b)
}

func errIncomparable(a, b Item) error {
	return evalErrorf(-1, "cannot compare %s with %s", a.TypeName(), b.TypeName())
}

func cmpInt(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func isNumeric(s model.SystemType) bool {
	return s == model.SystemInteger || s == model.SystemDecimal
}

func isTemporal(s model.SystemType) bool {
	return s == model.SystemDate || s == model.SystemDateTime || s == model.SystemTime
}

// asQuantity converts a Quantity or a number (unit '1') to a Quantity.
func asQuantity(it Item) (Quantity, bool) {
	if it.sys == model.SystemQuantity {
		return it.AsQuantity()
	}
	if d, ok := it.AsDecimal(); ok {
		return Quantity{Value: d, Unit: "1"}, true
	}
	return Quantity{}, false
}

// arithmetic implements *, /, div, mod, + and - on single items. ok is false
// for an empty result (division by zero, overflow).
func arithmetic(op binaryOp, a, b Item) (Item, bool, error) {
	as, bs := a.sys, b.sys
	switch {
	case op == opAdd && as == model.SystemString && bs == model.SystemString:
		x, ok1 := a.AsString()
		y, ok2 := b.AsString()
		return strItem(x + y), ok1 && ok2, nil
	case isTemporal(as) && (op == opAdd || op == opSub):
		if bs != model.SystemQuantity {
			return Item{}, false, evalErrorf(-1, "cannot %s %s and %s", opNames[op], a.TypeName(), b.TypeName())
		}
		d, ok1 := a.AsDateTime()
		q, ok2 := b.AsQuantity()
		if !ok1 || !ok2 {
			return Item{}, false, nil
		}
		n, _ := q.Value.Truncate(0).Int64()
		if op == opSub {
			n = -n
		}
		r, err := d.addDuration(n, q.Unit)
		if err != nil {
			return Item{}, false, err
		}
		return dtItem(r), true, nil
	case as == model.SystemInteger && bs == model.SystemInteger && op != opDiv:
		x, ok1 := intValue(a.v)
		y, ok2 := intValue(b.v)
		if !ok1 || !ok2 {
			return Item{}, false, nil
		}
		switch op {
		case opAdd:
			return intItem(x + y), true, nil
		case opSub:
			return intItem(x - y), true, nil
		case opMul:
			return intItem(x * y), true, nil
		case opIntDiv:
			if y == 0 {
				return Item{}, false, nil
			}
			return intItem(x / y), true, nil
		case opMod:
			if y == 0 {
				return Item{}, false, nil
			}
			return intItem(x % y), true, nil
		}
	case isNumeric(as) && isNumeric(bs):
		x, ok1 := a.AsDecimal()
		y, ok2 := b.AsDecimal()
		if !ok1 || !ok2 {
			return Item{}, false, nil
		}
		switch op {
		case opAdd:
			return decItem(x.Add(y)), true, nil
		case opSub:
			return decItem(x.Sub(y)), true, nil
		case opMul:
			return decItem(x.Mul(y)), true, nil
		case opDiv:
			q, ok := x.Quo(y)
			return decItem(q), ok, nil
		case opIntDiv:
			q, ok := x.DivInt(y)
			if !ok {
				return Item{}, false, nil
			}
			n, fits := q.Int64()
			return intItem(n), fits, nil
		case opMod:
			m, ok := x.Mod(y)
			return decItem(m), ok, nil
		}
	case as == model.SystemQuantity || bs == model.SystemQuantity:
		x, ok1 := asQuantity(a)
		y, ok2 := asQuantity(b)
		if !ok1 || !ok2 {
			break
		}
		switch op {
		case opAdd, opSub:
			if as != bs {
				break
			}
			q, err := addQuantities(x, y, op == opSub)
			if err != nil {
				return Item{}, false, err
			}
			return qtyItem(q), true, nil
		case opMul:
			return qtyItem(mulQuantities(x, y)), true, nil
		case opDiv:
			q, ok := divQuantities(x, y)
			return qtyItem(q), ok, nil
		}
	}
	return Item{}, false, evalErrorf(-1, "operator %s cannot be applied to %s and %s", opNames[op], a.TypeName(), b.TypeName())
}
