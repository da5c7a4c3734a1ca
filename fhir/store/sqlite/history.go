package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// History returns versions newest first. Pages are keyed by sequence
// number, so a page costs the same at any depth and versions written while
// a client pages through do not shift the pages.
func (s *Store) History(ctx context.Context, q engine.HistoryQuery) (*engine.HistoryPage, error) {
	p, err := s.history(ctx, q)
	return visible(s, p, err)
}

func (s *Store) history(ctx context.Context, q engine.HistoryQuery) (*engine.HistoryPage, error) {
	page := &engine.HistoryPage{Total: -1}
	where, args := historyWhere(q)
	var db querier = s.r
	if q.Total {
		// One read transaction, so that the total counts the versions
		// the page lists.
		tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, storeErr("read history", err)
		}
		defer tx.Rollback()
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM version v WHERE `+where, args...).Scan(&page.Total); err != nil {
			return nil, storeErr("count history", err)
		}
		db = tx
	}
	if err := s.historyPage(ctx, db, q, where, args, page); err != nil {
		return nil, err
	}
	return page, nil
}

// historyWhere returns the condition on versions (v) that q selects,
// whatever its cursor, and its arguments.
func historyWhere(q engine.HistoryQuery) (string, []any) {
	var sb strings.Builder
	var args []any
	sb.WriteString(`1`)
	switch {
	case q.ID != "":
		sb.WriteString(` AND v.rid = (SELECT rid FROM resource WHERE type = ? AND id = ?)`)
		args = append(args, string(q.Type), string(q.ID))
	case q.Type != "":
		sb.WriteString(` AND v.type = ?`)
		args = append(args, string(q.Type))
	}
	if !q.Since.IsZero() {
		// lastUpdated never decreases along seq, so the first version at
		// or after Since bounds the range of sequence numbers.
		sb.WriteString(` AND v.seq >= COALESCE((SELECT MIN(seq) FROM version WHERE updated >= ?), 9223372036854775807)`)
		args = append(args, ceilMillis(q.Since))
	}
	if !q.AtEnd.IsZero() {
		// Current at some instant of [AtStart, AtEnd): written before the
		// end and not replaced before the start.
		sb.WriteString(` AND v.updated < ? AND NOT EXISTS (SELECT 1 FROM version n
			WHERE n.rid = v.rid AND n.version = v.version + 1 AND n.updated <= ?)`)
		args = append(args, ceilMillis(q.AtEnd), q.AtStart.UnixMilli())
	}
	return sb.String(), args
}

// historyPage reads the page of q into page, from the read pool or a
// read transaction.
func (s *Store) historyPage(ctx context.Context, db querier, q engine.HistoryQuery, where string, args []any, page *engine.HistoryPage) error {
	if q.Count <= 0 {
		return nil
	}
	if q.Cursor != "" {
		before, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || before < 1 {
			return &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueInvalid, Diagnostics: "the paging cursor is not valid", Expression: []string{engine.CursorParam}}}}
		}
		where += ` AND v.seq < ?`
		args = append(args, before)
	}
	rows, err := db.QueryContext(ctx, `SELECT v.seq, r.type, r.id, v.version, v.updated, v.method, v.body
		FROM version v JOIN resource r ON r.rid = v.rid WHERE `+where+` ORDER BY v.seq DESC LIMIT ?`, append(args, q.Count+1)...)
	if err != nil {
		return storeErr("read history", err)
	}
	defer rows.Close()
	var lastSeq int64
	for rows.Next() {
		if len(page.Versions) == q.Count {
			page.Next = strconv.FormatInt(lastSeq, 10)
			break
		}
		r := &fhir.Resource{}
		var updated int64
		var method string
		if err := rows.Scan(&lastSeq, &r.Type, &r.ID, &r.Version, &updated, &method, &r.Body); err != nil {
			return storeErr("read history", err)
		}
		r.LastUpdated, r.Method, r.Deleted = fromMillis(updated), fhir.Method(method), r.Body == nil
		page.Versions = append(page.Versions, r)
	}
	return storeErr("read history", rows.Err())
}

// ceilMillis returns t in Unix milliseconds rounded up. Stored times are
// whole milliseconds, so "updated >= t" and "updated < t" hold exactly
// when they hold for t rounded up (and "updated <= t" for t rounded down,
// which UnixMilli gives).
func ceilMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}
