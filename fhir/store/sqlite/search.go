package sqlite

import (
	"context"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Search returns the current resources matching q.
func (s *Store) Search(ctx context.Context, q *search.Query, limit int) ([]*fhir.Resource, error) {
	return find(ctx, s.r, q, limit)
}

func find(ctx context.Context, db querier, q *search.Query, limit int) ([]*fhir.Resource, error) {
	var sb strings.Builder
	args := []any{string(q.Type)}
	sb.WriteString(`SELECT r.id, r.version, v.updated, v.method, v.body
		FROM resource r JOIN version v ON v.seq = r.seq
		WHERE r.type = ? AND r.deleted = 0`)
	if len(q.IDs) > 0 {
		sb.WriteString(` AND r.id IN (`)
		for i, id := range q.IDs {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('?')
			args = append(args, string(id))
		}
		sb.WriteByte(')')
	}
	for _, c := range q.Tokens {
		sb.WriteString(` AND r.rid IN (SELECT rid FROM token WHERE type = ? AND param = ? AND (`)
		args = append(args, string(q.Type), c.Param)
		for i, v := range c.Values {
			if i > 0 {
				sb.WriteString(` OR `)
			}
			switch {
			case v.System == nil:
				sb.WriteString(`code = ?`)
				args = append(args, v.Code)
			case v.Code == "":
				sb.WriteString(`system = ?`)
				args = append(args, *v.System)
			default:
				sb.WriteString(`(code = ? AND system = ?)`)
				args = append(args, v.Code, *v.System)
			}
		}
		sb.WriteString(`))`)
	}
	if limit > 0 {
		sb.WriteString(` LIMIT ?`)
		args = append(args, limit)
	}
	rows, err := db.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, storeErr("search", err)
	}
	defer rows.Close()
	var out []*fhir.Resource
	for rows.Next() {
		r := &fhir.Resource{Type: q.Type}
		var updated int64
		var method string
		if err := rows.Scan(&r.ID, &r.Version, &updated, &method, &r.Body); err != nil {
			return nil, storeErr("search", err)
		}
		r.LastUpdated, r.Method = fromMillis(updated), fhir.Method(method)
		out = append(out, r)
	}
	return out, storeErr("search", rows.Err())
}
