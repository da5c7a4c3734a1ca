package mongo

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// History returns versions newest first, by sequence number (lastUpdated,
// then the order of writes). A page's cursor is the sequence number and
// _id of its last version, so a page costs the same at any depth and no
// server-local state is kept.
func (s *Store) History(ctx context.Context, q engine.HistoryQuery) (*engine.HistoryPage, error) {
	page := &engine.HistoryPage{Total: -1}
	conds := historyConds(q)
	var newest *verDoc
	if q.Count > 0 {
		var err error
		if page.Versions, page.Next, newest, err = s.historyPage(ctx, conds, q); err != nil {
			return nil, err
		}
	}
	if s.afterHistoryPage != nil {
		s.afterHistoryPage()
	}
	if q.Total {
		// Counted after the page is read, up to the newest version of a
		// first page: a version committed in between, which the page
		// does not list, is not counted either.
		counted := conds
		if newest != nil && q.Cursor == "" {
			counted = append(slices.Clip(conds), bson.D{{Key: "$or", Value: bson.A{
				bson.D{{Key: "q", Value: bson.D{{Key: "$lt", Value: newest.Seq}}}},
				bson.D{{Key: "q", Value: newest.Seq}, {Key: "_id", Value: bson.D{{Key: "$lte", Value: newest.Key}}}},
			}}})
		}
		n, err := s.vers.CountDocuments(ctx, and(counted))
		if err != nil {
			return nil, storeErr("count history", err)
		}
		page.Total = int(n)
	}
	return page, nil
}

// historyPage reads the q.Count versions that conds select after q's
// cursor, newest first, the cursor of the page after them, and the
// newest of them (nil for none).
func (s *Store) historyPage(ctx context.Context, conds []bson.D, q engine.HistoryQuery) ([]*fhir.Resource, string, *verDoc, error) {
	if q.Cursor != "" {
		seq, id, ok := decodeHistoryCursor(q.Cursor)
		if !ok {
			return nil, "", nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueInvalid, Diagnostics: "the paging cursor is not valid", Expression: []string{engine.CursorParam}}}}
		}
		conds = append(slices.Clip(conds), bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "q", Value: bson.D{{Key: "$lt", Value: seq}}}},
			bson.D{{Key: "q", Value: seq}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: id}}}},
		}}})
	}
	cur, err := s.vers.Find(ctx, and(conds), options.Find().
		SetSort(bson.D{{Key: "q", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(q.Count+1)))
	if err != nil {
		return nil, "", nil, storeErr("read history", err)
	}
	var docs []verDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, "", nil, storeErr("read history", err)
	}
	var versions []*fhir.Resource
	next := ""
	for i := range docs {
		if len(versions) == q.Count {
			last := docs[i-1]
			next = encodeHistoryCursor(last.Seq, last.Key)
			break
		}
		versions = append(versions, docs[i].resource())
	}
	if len(docs) == 0 {
		return nil, "", nil, nil
	}
	return versions, next, &docs[0], nil
}

// historyConds returns the conditions on versions that q selects,
// whatever its cursor.
func historyConds(q engine.HistoryQuery) []bson.D {
	conds := []bson.D{}
	switch {
	case q.ID != "":
		conds = append(conds, bson.D{{Key: "r", Value: string(q.Type) + "/" + string(q.ID)}})
	case q.Type != "":
		conds = append(conds, bson.D{{Key: "t", Value: string(q.Type)}})
	}
	if !q.Since.IsZero() {
		conds = append(conds, bson.D{{Key: "ts", Value: bson.D{{Key: "$gte", Value: ceilMillis(q.Since.UnixMilli(), q.Since.Nanosecond())}}}})
	}
	if !q.AtEnd.IsZero() {
		// Current at some instant of [AtStart, AtEnd): written before the
		// end and not replaced at or before the start.
		conds = append(conds,
			bson.D{{Key: "ts", Value: bson.D{{Key: "$lt", Value: ceilMillis(q.AtEnd.UnixMilli(), q.AtEnd.Nanosecond())}}}},
			bson.D{{Key: "$or", Value: bson.A{
				bson.D{{Key: "te", Value: bson.D{{Key: "$exists", Value: false}}}},
				bson.D{{Key: "te", Value: bson.D{{Key: "$gt", Value: q.AtStart.UnixMilli()}}}},
			}}})
	}
	return conds
}

// ceilMillis returns Unix milliseconds ms rounded up when the instant has
// a fraction of a millisecond (ns, its nanoseconds within the second).
func ceilMillis(ms int64, ns int) int64 {
	if ns%1e6 != 0 {
		return ms + 1
	}
	return ms
}

// encodeHistoryCursor returns the cursor of the history page after the
// version with sequence number seq and _id key.
func encodeHistoryCursor(seq int64, key string) string {
	return "h1." + itoa(seq) + "." + base64.RawURLEncoding.EncodeToString([]byte(key))
}

// decodeHistoryCursor decodes a history cursor.
func decodeHistoryCursor(c string) (int64, string, bool) {
	rest, ok := strings.CutPrefix(c, "h1.")
	if !ok {
		return 0, "", false
	}
	n, k, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, "", false
	}
	seq, err := parseInt(n)
	key, err2 := base64.RawURLEncoding.DecodeString(k)
	if err != nil || err2 != nil || len(key) == 0 {
		return 0, "", false
	}
	return seq, string(key), true
}
