package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// The resource types the suite writes.
const (
	patient      fhir.ResourceType = "Patient"
	organization fhir.ResourceType = "Organization"
)

// ident returns an identifier token.
func ident(system, code string) search.Token {
	return search.Token{Param: "identifier", System: system, Code: code}
}

// newVersion returns version v of typ/id, with a body that names it and
// carries toks as identifiers, and the index of those identifiers. Its
// LastUpdated is left for the writer to stamp.
func newVersion(typ fhir.ResourceType, id fhir.ID, v int64, toks ...search.Token) (*fhir.Resource, *search.Index) {
	type identifier struct {
		System string `json:"system,omitempty"`
		Value  string `json:"value"`
	}
	doc := struct {
		ResourceType fhir.ResourceType `json:"resourceType"`
		ID           fhir.ID           `json:"id"`
		Meta         map[string]string `json:"meta"`
		Identifier   []identifier      `json:"identifier,omitempty"`
	}{typ, id, map[string]string{"versionId": fmt.Sprint(v)}, nil}
	for _, tok := range toks {
		doc.Identifier = append(doc.Identifier, identifier{tok.System, tok.Code})
	}
	body, err := json.Marshal(doc)
	if err != nil {
		panic(err) // cannot happen: plain strings and maps
	}
	method := fhir.MethodPut
	if v == 1 {
		method = fhir.MethodPost
	}
	r := &fhir.Resource{Type: typ, ID: id, Version: v, Method: method, Body: body}
	return r, &search.Index{Tokens: slices.Clone(toks)}
}

// tombstone returns the deletion of typ/id as its version v.
func tombstone(typ fhir.ResourceType, id fhir.ID, v int64) *fhir.Resource {
	return &fhir.Resource{Type: typ, ID: id, Version: v, Method: fhir.MethodDelete, Deleted: true}
}

// stampPut stamps r with the transaction's time and puts it, with the
// values the engine adds to every index.
func stampPut(ctx context.Context, tx engine.Tx, r *fhir.Resource, idx *search.Index) error {
	r.LastUpdated = tx.Now()
	return tx.Put(ctx, r, withMeta(r, idx))
}

// mustWrite runs fn in a write transaction and fails the test if it fails.
func mustWrite(t testing.TB, s engine.Store, fn func(tx engine.Tx) error) {
	t.Helper()
	if err := s.Write(t.Context(), fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// mustPut writes r with idx in a transaction of its own, stamped with the
// transaction's time, and returns r as it should now be stored.
func mustPut(t testing.TB, s engine.Store, r *fhir.Resource, idx *search.Index) *fhir.Resource {
	t.Helper()
	mustWrite(t, s, func(tx engine.Tx) error { return stampPut(t.Context(), tx, r, idx) })
	return r
}

// mustCreate writes version v of typ/id with identifiers toks in a
// transaction of its own and returns it.
func mustCreate(t testing.TB, s engine.Store, typ fhir.ResourceType, id fhir.ID, v int64, toks ...search.Token) *fhir.Resource {
	t.Helper()
	r, idx := newVersion(typ, id, v, toks...)
	return mustPut(t, s, r, idx)
}

// mustDelete writes the deletion of typ/id as version v in a transaction
// of its own and returns it.
func mustDelete(t testing.TB, s engine.Store, typ fhir.ResourceType, id fhir.ID, v int64) *fhir.Resource {
	t.Helper()
	return mustPut(t, s, tombstone(typ, id, v), nil)
}

// mustRead reads the current version of typ/id and fails the test if it
// cannot.
func mustRead(t testing.TB, s engine.Store, typ fhir.ResourceType, id fhir.ID) *fhir.Resource {
	t.Helper()
	r, err := s.Read(t.Context(), typ, id)
	if err != nil {
		t.Fatalf("Read %s/%s: %v", typ, id, err)
	}
	return r
}

// key names one version, as in Patient/a/_history/2.
func key(r *fhir.Resource) string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s/%s/_history/%d", r.Type, r.ID, r.Version)
}

// keys names the versions of rs, in order.
func keys(rs []*fhir.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = key(r)
	}
	return out
}

// sameVersion returns what differs between got and want, "" when got is
// want as the store must return it: same type, id, version, method,
// deletion, lastUpdated (UTC, millisecond precision) and body, byte for
// byte (none for a deletion).
func sameVersion(got, want *fhir.Resource) string {
	if got == nil {
		return "got no resource, want " + key(want)
	}
	var diffs []string
	if key(got) != key(want) {
		diffs = append(diffs, fmt.Sprintf("got %s, want %s", key(got), key(want)))
	}
	if got.Method != want.Method {
		diffs = append(diffs, fmt.Sprintf("Method %q, want %q", got.Method, want.Method))
	}
	if got.Deleted != want.Deleted {
		diffs = append(diffs, fmt.Sprintf("Deleted %v, want %v", got.Deleted, want.Deleted))
	}
	if !got.LastUpdated.Equal(want.LastUpdated) {
		diffs = append(diffs, fmt.Sprintf("LastUpdated %s, want %s", got.LastUpdated.Format(time.RFC3339Nano), want.LastUpdated.Format(time.RFC3339Nano)))
	}
	if got.LastUpdated.Location() != time.UTC {
		diffs = append(diffs, fmt.Sprintf("LastUpdated in %s, want UTC", got.LastUpdated.Location()))
	}
	if got.LastUpdated.Nanosecond()%int(time.Millisecond) != 0 {
		diffs = append(diffs, fmt.Sprintf("LastUpdated %s is finer than a millisecond", got.LastUpdated.Format(time.RFC3339Nano)))
	}
	switch {
	case want.Deleted && len(got.Body) != 0:
		diffs = append(diffs, fmt.Sprintf("a deletion has a body of %d bytes", len(got.Body)))
	case !want.Deleted && !bytes.Equal(got.Body, want.Body):
		diffs = append(diffs, fmt.Sprintf("body differs:\n got %.200q\nwant %.200q", got.Body, want.Body))
	}
	if len(diffs) == 0 {
		return ""
	}
	return key(want) + ": " + strings.Join(diffs, "; ")
}

// checkVersion fails the test unless got is want as the store must return
// it.
func checkVersion(t testing.TB, what string, got, want *fhir.Resource) {
	t.Helper()
	if d := sameVersion(got, want); d != "" {
		t.Errorf("%s: %s", what, d)
	}
}

// checkVersions fails the test unless got holds the versions of want, in
// order, each as the store must return it.
func checkVersions(t testing.TB, what string, got, want []*fhir.Resource) {
	t.Helper()
	if !slices.Equal(keys(got), keys(want)) {
		t.Errorf("%s:\n got %v\nwant %v", what, keys(got), keys(want))
		return
	}
	for i := range got {
		checkVersion(t, what, got[i], want[i])
	}
}

// checkKind fails the test unless err is a *fhir.Error of kind k.
func checkKind(t testing.TB, what string, err error, k fhir.Kind) {
	t.Helper()
	var fe *fhir.Error
	switch {
	case err == nil:
		t.Errorf("%s: no error, want a *fhir.Error of kind %d", what, k)
	case !errors.As(err, &fe):
		t.Errorf("%s: error %v (%T) is not a *fhir.Error", what, err, err)
	case fe.Kind != k:
		t.Errorf("%s: error %v has kind %d, want %d", what, err, fe.Kind, k)
	}
}

// checkNotFound fails the test unless Read of typ/id answers KindNotFound.
func checkNotFound(t testing.TB, s engine.Store, typ fhir.ResourceType, id fhir.ID) {
	t.Helper()
	r, err := s.Read(t.Context(), typ, id)
	checkKind(t, "Read "+string(typ)+"/"+string(id), err, fhir.KindNotFound)
	if r != nil {
		t.Errorf("Read %s/%s returned %s with its not-found error", typ, id, key(r))
	}
}

// ids returns the sorted ids of rs.
func ids(rs []*fhir.Resource) []fhir.ID {
	out := make([]fhir.ID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	slices.Sort(out)
	return out
}

// mustSearch runs q on s, with at most limit results (limit <= 0: all),
// and fails the test if it fails.
func mustSearch(t testing.TB, s engine.Store, q *search.Query, limit int) []*fhir.Resource {
	t.Helper()
	if limit <= 0 {
		found, err := searchAll(t.Context(), s, q)
		if err != nil {
			t.Fatalf("Search %+v: %v", q, err)
		}
		return found
	}
	res, err := s.Search(t.Context(), limited(q, limit))
	if err != nil {
		t.Fatalf("Search %+v: %v", q, err)
	}
	return res.Resources
}

// searchAll runs q on s and returns every match, following pages.
func searchAll(ctx context.Context, s interface {
	Search(context.Context, *search.Query) (*engine.SearchResult, error)
}, q *search.Query) ([]*fhir.Resource, error) {
	q = limited(q, 1000)
	var out []*fhir.Resource
	for {
		res, err := s.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Resources...)
		if res.Next == "" {
			return out, nil
		}
		q.Cursor = res.Next
	}
}

// limited returns a copy of q with page size n.
func limited(q *search.Query, n int) *search.Query {
	c := *q
	c.Count = n
	return &c
}

// tokenQuery returns a search of typ by token parameter param with the
// given alternative values.
func tokenQuery(typ fhir.ResourceType, param string, values ...search.Value) *search.Query {
	return &search.Query{Types: []fhir.ResourceType{typ},
		Clauses: []search.Clause{{Param: param, Type: search.TypeToken, Values: values}}}
}

// checkSearch fails the test unless q finds exactly the resources of want
// (in any order), each as its current version.
func checkSearch(t testing.TB, s engine.Store, what string, q *search.Query, want ...*fhir.Resource) {
	t.Helper()
	checkSameSet(t, what, mustSearch(t, s, q, 0), want)
}

// writeRetry runs fn in a write transaction as the engine does: again
// when the store reports a conflict, which a store without serialised
// transactions may do when a concurrent writer won.
func writeRetry(ctx context.Context, s engine.Store, fn func(tx engine.Tx) error) error {
	var err error
	for range 100 {
		err = s.Write(ctx, fn)
		if !fhir.IsKind(err, fhir.KindConflict) {
			return err
		}
	}
	return err
}

// itoa formats n in decimal.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// checkSameSet fails the test unless got holds the versions of want in any
// order, each as the store must return it.
func checkSameSet(t testing.TB, what string, got, want []*fhir.Resource) {
	t.Helper()
	byKey := func(a, b *fhir.Resource) int { return strings.Compare(key(a), key(b)) }
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, byKey)
	slices.SortFunc(want, byKey)
	checkVersions(t, what, got, want)
}
