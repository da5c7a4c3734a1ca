package sqlite

import (
	"strings"
)

// sq is SQL text being written with its arguments, in order.
type sq struct {
	b    strings.Builder
	args []any
}

// w appends text and its arguments.
func (q *sq) w(text string, args ...any) *sq {
	q.b.WriteString(text)
	q.args = append(q.args, args...)
	return q
}

// in appends "(?, ?, ...)" with one argument per value.
func (q *sq) in(values []any) *sq {
	q.b.WriteByte('(')
	for i, v := range values {
		if i > 0 {
			q.b.WriteString(", ")
		}
		q.b.WriteByte('?')
		q.args = append(q.args, v)
	}
	q.b.WriteByte(')')
	return q
}

// join writes the parts separated by sep; an empty list writes empty.
func (q *sq) join(sep string, parts []func(q *sq)) *sq {
	for i, p := range parts {
		if i > 0 {
			q.b.WriteString(sep)
		}
		p(q)
	}
	return q
}

// or writes the parts joined by OR, in parentheses; none writes false.
// Many parts nest in a balanced tree, within SQLite's limit on the depth
// of expressions (1000).
func (q *sq) or(parts []func(q *sq)) *sq {
	if len(parts) == 0 {
		return q.w("0")
	}
	if len(parts) > 64 {
		half := len(parts) / 2
		return q.or([]func(q *sq){
			func(q *sq) { q.or(parts[:half]) },
			func(q *sq) { q.or(parts[half:]) },
		})
	}
	q.w("(")
	q.join(" OR ", parts)
	return q.w(")")
}

// maxCompound is how many SELECTs one compound SELECT joins at most
// (SQLite allows 500).
const maxCompound = 400

// union writes the selects joined by UNION (which also removes
// duplicates); more than maxCompound nest in subqueries.
func (q *sq) union(selects []func(q *sq)) *sq {
	if len(selects) <= maxCompound {
		return q.join(" UNION ", selects)
	}
	var groups []func(q *sq)
	for len(selects) > 0 {
		n := min(len(selects), maxCompound)
		group := selects[:n]
		selects = selects[n:]
		groups = append(groups, func(q *sq) {
			q.w("SELECT rid FROM (")
			q.union(group)
			q.w(")")
		})
	}
	return q.union(groups)
}

func (q *sq) String() string { return q.b.String() }

// prefixEnd returns the least string greater than every string that
// starts with p, and false when there is none (p empty or all 0xff).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// startsWith writes a condition on column col that holds when it starts
// with p, as an index range.
func startsWith(q *sq, col, p string) {
	end, ok := prefixEnd(p)
	if !ok {
		q.w(col+" >= ?", p)
		return
	}
	q.w("("+col+" >= ? AND "+col+" < ?)", p, end)
}
