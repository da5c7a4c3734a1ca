package engine

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
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

// History returns a page of versions, newest first.
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
		if name == "_since" || name == "_at" {
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
			// The specification asks for an instant; a date or a
			// dateTime of any precision is taken from its start.
			r, err := fhir.ParseDateRange(v)
			if err != nil {
				return q, invalid(fhir.IssueInvalid, "_since", "_since must be a FHIR instant (yyyy-mm-ddThh:mm:ss[.fff]Z), got %s", quoteShort(v))
			}
			q.Since = r.Start
		case "_at":
			r, err := fhir.ParseDateRange(v)
			if err != nil {
				return q, invalid(fhir.IssueInvalid, "_at", "_at must be a FHIR date or dateTime, got %s", quoteShort(v))
			}
			q.AtStart, q.AtEnd = r.Start, r.End
		case CursorParam:
			q.Cursor = v
		case "_format", "_pretty", "_summary", "_elements":
			// Shape the response; handled by the HTTP layer.
		case "_list":
			return q, &fhir.Error{Kind: fhir.KindNotImplemented, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueNotSupported, Diagnostics: "_list is not supported in history", Expression: []string{"_list"}}}}
		}
	}
	return q, nil
}
