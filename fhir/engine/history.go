package engine

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/parse"
)

// HistoryRequest is a history interaction: Type and ID narrow the scope
// (both empty for the whole system), Params are the request's parameters
// (_since, _at, _count and the paging cursor).
type HistoryRequest struct {
	Type   fhir.ResourceType
	ID     fhir.ID
	Params url.Values
}

// History paging defaults.
const (
	DefaultHistoryCount = 50
	MaxHistoryCount     = 1000
)

// CursorParam is the parameter that carries a history page's position in
// next links.
const CursorParam = "_cursor"

// History returns a page of versions, newest first; the first page
// counts the versions the request selects (HistoryPage.Total).
func (e *Engine) History(ctx context.Context, req HistoryRequest) (*HistoryPage, error) {
	in := InteractionHistorySystem
	if req.Type != "" {
		if err := CheckType(req.Type); err != nil {
			return nil, err
		}
		in = InteractionHistoryType
		if req.ID != "" {
			in = InteractionHistoryInst
		}
	}
	if err := e.allow(ctx, in, req.Type, req.ID, nil); err != nil {
		return nil, err
	}
	q, err := parseHistory(req)
	if err != nil {
		return nil, err
	}
	if in == InteractionHistoryInst {
		// An unknown resource has no history: say so rather than answer an
		// empty Bundle.
		if _, err := e.store.Read(ctx, req.Type, req.ID); err != nil {
			if fhir.IsKind(err, fhir.KindNotFound) {
				return nil, notFound(req.Type, req.ID)
			}
			return nil, err
		}
	}
	// The first page says how many versions there are, as a search's
	// total does; the pages after it need not count them again.
	q.Total = q.Cursor == ""
	page, err := e.store.History(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, r := range page.Versions {
		if err := e.allow(ctx, in, r.Type, r.ID, r); err != nil {
			return nil, err
		}
	}
	return page, nil
}

func parseHistory(req HistoryRequest) (HistoryQuery, error) {
	q := HistoryQuery{Type: req.Type, ID: req.ID, Count: DefaultHistoryCount}
	if !req.ID.Valid() && req.ID != "" {
		return q, notFound(req.Type, req.ID)
	}
	for name, values := range req.Params {
		if len(values) == 0 {
			continue
		}
		v := values[len(values)-1]
		if name == "_at" {
			// An unescaped "+" of a time zone arrives as a space.
			v = strings.ReplaceAll(v, " ", "+")
		}
		switch name {
		case "_count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return q, invalid(fhir.IssueInvalid, "_count", "_count must be a non-negative integer, got %s", quoteShort(v))
			}
			q.Count = min(n, MaxHistoryCount)
		case "_since":
			since, err := parseSince(v)
			if err != nil {
				return q, err
			}
			q.Since = since
		case "_at":
			start, end, err := parseAt(v)
			if err != nil {
				return q, err
			}
			q.AtStart, q.AtEnd = start, end
		case CursorParam:
			q.Cursor = v
		case "_format", "_pretty", "_summary", "_elements":
			// Shape the response; handled by the HTTP layer.
		case "_list":
			return q, &fhir.Error{Kind: fhir.KindNotImplemented, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueNotSupported, Diagnostics: "_list is not supported in history", Expression: []string{"_list"}}}}
		}
	}
	if req.Params.Get("_summary") == "count" {
		// As in a search: the total alone.
		q.Count = 0
	}
	return q, nil
}

// parseSince reads _since (of history and $everything). The
// specification asks for an instant; a date or a dateTime of any
// precision is taken from its start.
func parseSince(v string) (time.Time, error) {
	// An unescaped "+" of a time zone arrives as a space.
	v = strings.ReplaceAll(v, " ", "+")
	r, err := fhir.ParseDateRange(v)
	if err != nil {
		return time.Time{}, invalid(fhir.IssueInvalid, "_since", "_since must be a FHIR instant (yyyy-mm-ddThh:mm:ss[.fff]Z), got %s", quoteShort(v))
	}
	return r.Start, nil
}

// atBeginning and atEnd stand for the open ends of an _at range: no
// version is written before the first or after the second.
var (
	atBeginning = time.Time{}
	atEnd       = time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
)

// parseAt reads _at, a date search value, into the range of instants
// [start, end) at some instant of which a version must have been current.
// Without a prefix, and with eq or ap, that is the span of the value (a
// day for a date); ge takes from the start of the span on, gt and sa
// after its end, le up to its end, lt and eb before its start. ne, which
// would select the instants outside the span, is not supported.
func parseAt(v string) (start, end time.Time, err error) {
	pfx, rest, err := parse.CutPrefix(v)
	var r fhir.DateRange
	if err == nil {
		r, err = fhir.ParseDateRange(rest)
	}
	if err != nil {
		return start, end, invalid(fhir.IssueInvalid, "_at", "_at must be a FHIR date or dateTime, with a prefix eq, gt, ge, lt, le, sa, eb or ap or none, got %s", quoteShort(v))
	}
	switch pfx {
	case search.PrefixEq, search.PrefixAp:
		return r.Start, r.End, nil
	case search.PrefixGe:
		return r.Start, atEnd, nil
	case search.PrefixGt, search.PrefixSa:
		return r.End, atEnd, nil
	case search.PrefixLe:
		return atBeginning, r.End, nil
	case search.PrefixLt, search.PrefixEb:
		return atBeginning, r.Start, nil
	}
	return start, end, &fhir.Error{Kind: fhir.KindNotImplemented, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueNotSupported, Diagnostics: "_at does not support the prefix " + string(pfx), Expression: []string{"_at"}}}}
}
