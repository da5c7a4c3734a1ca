package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Search returns the current resources matching q.
func (s *Store) Search(ctx context.Context, q *search.Query) (*engine.SearchResult, error) {
	return find(ctx, s.r, q)
}

func find(ctx context.Context, db querier, q *search.Query) (*engine.SearchResult, error) {
	if len(q.Types) != 1 {
		return nil, fhir.Errorf(fhir.KindNotImplemented, "searching several resource types at once is not supported yet")
	}
	typ := q.Types[0]
	var sb strings.Builder
	args := []any{string(typ)}
	sb.WriteString(`SELECT r.id, r.version, v.updated, v.method, v.body
		FROM resource r JOIN version v ON v.seq = r.seq
		WHERE r.type = ? AND r.deleted = 0`)
	for _, c := range q.Clauses {
		if c.Type != search.TypeToken || c.Modifier != search.ModNone || c.Missing != nil || c.Chain != nil || c.Has != nil {
			return nil, fhir.Errorf(fhir.KindNotImplemented, "the search parameter %s is not supported yet", c.Param)
		}
		if c.Param == "_id" {
			sb.WriteString(` AND r.id IN (`)
			for i, v := range c.Values {
				if i > 0 {
					sb.WriteByte(',')
				}
				sb.WriteByte('?')
				args = append(args, v.Code)
			}
			sb.WriteByte(')')
			continue
		}
		sb.WriteString(` AND r.rid IN (SELECT rid FROM token WHERE type = ? AND param = ? AND (`)
		args = append(args, string(typ), c.Param)
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
	sb.WriteString(` ORDER BY r.rid`)
	if q.Count > 0 {
		fmt.Fprintf(&sb, ` LIMIT %d`, q.Count)
	}
	rows, err := db.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, storeErr("search", err)
	}
	defer rows.Close()
	res := &engine.SearchResult{Total: -1}
	for rows.Next() {
		r := &fhir.Resource{Type: typ}
		var updated int64
		var method string
		if err := rows.Scan(&r.ID, &r.Version, &updated, &method, &r.Body); err != nil {
			return nil, storeErr("search", err)
		}
		r.LastUpdated, r.Method = fromMillis(updated), fhir.Method(method)
		res.Resources = append(res.Resources, r)
	}
	return res, storeErr("search", rows.Err())
}
