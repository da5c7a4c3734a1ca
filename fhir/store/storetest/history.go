package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

var historyTests = []test{
	{name: "Scopes", run: testHistoryScopes},
	{name: "Deletions", run: testHistoryDeletions},
	{name: "UnknownResource", run: testHistoryUnknownResource},
	{name: "Paging", run: testHistoryPaging},
	{name: "PagingIsStable", run: testHistoryPagingIsStable},
	{name: "Since", run: testHistorySince},
	{name: "At", run: testHistoryAt},
	{name: "CountZero", run: testHistoryCountZero},
	{name: "InvalidCursor", run: testHistoryInvalidCursor},
}

// walk fetches every page of q, starting from q.Cursor, and returns their
// versions. It fails the test on an error, on a page larger than q.Count,
// and on an empty page that is not the first.
func walk(t testing.TB, s engine.Store, q engine.HistoryQuery) []*fhir.Resource {
	t.Helper()
	var all []*fhir.Resource
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("history %+v: more than 10000 pages", q)
		}
		page, err := s.History(t.Context(), q)
		if err != nil {
			t.Fatalf("History %+v: %v", q, err)
		}
		if len(page.Versions) > q.Count {
			t.Fatalf("History %+v: a page of %d versions", q, len(page.Versions))
		}
		if pages > 0 && len(page.Versions) == 0 {
			t.Errorf("History %+v: an empty page follows a page whose Next was set", q)
		}
		all = append(all, page.Versions...)
		if page.Next == "" {
			return all
		}
		q.Cursor = page.Next
	}
}

// scope is the scope of a history query.
type scope struct {
	name string
	typ  fhir.ResourceType
	id   fhir.ID
}

func (sc scope) query(count int) engine.HistoryQuery {
	return engine.HistoryQuery{Type: sc.typ, ID: sc.id, Count: count}
}

// in reports whether r is in the scope.
func (sc scope) in(r *fhir.Resource) bool {
	return (sc.typ == "" || r.Type == sc.typ) && (sc.id == "" || r.ID == sc.id)
}

// scopes are the three scopes of history over the resources history
// tests write.
var scopes = []scope{{"system", "", ""}, {"type", patient, ""}, {"instance", patient, "a"}}

// expectHistory returns what q must return from the versions of log,
// which are in commit order: those in q's scope and time range, newest
// first. A version is current from its lastUpdated until the lastUpdated
// of the resource's next version.
func expectHistory(log []*fhir.Resource, q engine.HistoryQuery) []*fhir.Resource {
	sc := scope{typ: q.Type, id: q.ID}
	var out []*fhir.Resource
	for i, r := range log {
		if !sc.in(r) || r.LastUpdated.Before(q.Since) {
			continue
		}
		if !q.AtEnd.IsZero() {
			var next *fhir.Resource
			for _, n := range log[i+1:] {
				if n.Type == r.Type && n.ID == r.ID {
					next = n
					break
				}
			}
			if !r.LastUpdated.Before(q.AtEnd) || (next != nil && !next.LastUpdated.After(q.AtStart)) {
				continue
			}
		}
		out = append(out, r)
	}
	slices.Reverse(out)
	return out
}

// writeHistory writes versions of Patient/a, Patient/b and Organization/a,
// with updates, a deletion and a re-creation, each in a transaction of its
// own, sleeping pause between them, and returns them in commit order.
func writeHistory(t *testing.T, s engine.Store, pause time.Duration) []*fhir.Resource {
	steps := []func() *fhir.Resource{
		func() *fhir.Resource { return mustCreate(t, s, patient, "a", 1, ident("urn:s", "a")) },
		func() *fhir.Resource { return mustCreate(t, s, patient, "b", 1) },
		func() *fhir.Resource { return mustCreate(t, s, organization, "a", 1) },
		func() *fhir.Resource { return mustCreate(t, s, patient, "a", 2) },
		func() *fhir.Resource { return mustDelete(t, s, patient, "a", 3) },
		func() *fhir.Resource { return mustCreate(t, s, patient, "b", 2) },
		func() *fhir.Resource { return mustCreate(t, s, patient, "a", 4) },
		func() *fhir.Resource { return mustCreate(t, s, organization, "a", 2) },
		func() *fhir.Resource { return mustDelete(t, s, patient, "b", 3) },
	}
	var log []*fhir.Resource
	for i, step := range steps {
		if i > 0 {
			time.Sleep(pause)
		}
		log = append(log, step())
	}
	return log
}

// testHistoryScopes checks system, type and instance history: the
// versions in scope, newest first in commit order, even when several
// transactions share a millisecond.
func testHistoryScopes(t *testing.T, s engine.Store) {
	log := writeHistory(t, s, 0)
	// More versions in quick succession: many share a millisecond.
	for i := range 30 {
		id := fhir.ID([]string{"a", "b", "c"}[i%3])
		typ := []fhir.ResourceType{patient, organization}[i%2]
		var v int64 = 1
		if cur, err := s.Read(t.Context(), typ, id); err == nil {
			v = cur.Version + 1
		}
		log = append(log, mustCreate(t, s, typ, id, v))
	}
	for _, sc := range append(scopes, scope{"other type", organization, ""}, scope{"other instance", organization, "c"}) {
		got := walk(t, s, sc.query(1000))
		want := expectHistory(log, sc.query(1000))
		checkVersions(t, sc.name+" history", got, want)
		checkTotal(t, s, sc.name+" history", sc.query(1000), len(want))
	}
}

// checkTotal checks that q counts want versions when asked, with and
// without a page, on its first page and on the next.
func checkTotal(t *testing.T, s engine.Store, what string, q engine.HistoryQuery, want int) {
	t.Helper()
	q.Total = true
	for _, count := range []int{0, 2} {
		q.Count, q.Cursor = count, ""
		for page := 0; page < 2; page++ {
			p, err := s.History(t.Context(), q)
			if err != nil {
				t.Fatalf("%s, counted: %v", what, err)
			}
			if p.Total != want {
				t.Errorf("%s, Count %d, page %d: Total %d, want %d", what, count, page, p.Total, want)
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
	}
	q.Total, q.Count, q.Cursor = false, 2, ""
	if p, err := s.History(t.Context(), q); err != nil || p.Total != -1 {
		t.Errorf("%s, not counted: Total %v, %v; want -1", what, p, err)
	}
}

// testHistoryDeletions checks that deletions appear in history as
// versions of their own, marked deleted, with no body.
func testHistoryDeletions(t *testing.T, s engine.Store) {
	log := writeHistory(t, s, 0)
	got := walk(t, s, engine.HistoryQuery{Count: 100})
	checkVersions(t, "system history", got, expectHistory(log, engine.HistoryQuery{}))
	var deletions int
	for _, r := range got {
		if r.Deleted {
			deletions++
			if len(r.Body) != 0 || r.Method != fhir.MethodDelete {
				t.Errorf("deletion %s in history has a body of %d bytes and method %s", key(r), len(r.Body), r.Method)
			}
		}
	}
	if deletions != 2 {
		t.Errorf("history holds %d deletions, want 2", deletions)
	}
}

// testHistoryUnknownResource checks that the history of a resource that
// does not exist is empty (or KindNotFound), even when another type has a
// resource of that id.
func testHistoryUnknownResource(t *testing.T, s engine.Store) {
	writeHistory(t, s, 0)
	for _, q := range []engine.HistoryQuery{
		{Type: patient, ID: "nope", Count: 10},
		{Type: "Observation", ID: "a", Count: 10},
		{Type: patient, ID: "A", Count: 10},
	} {
		page, err := s.History(t.Context(), q)
		if err != nil {
			checkKind(t, fmt.Sprintf("History of %s/%s", q.Type, q.ID), err, fhir.KindNotFound)
			continue
		}
		if len(page.Versions) != 0 || page.Next != "" {
			t.Errorf("History of %s/%s: %v (next %q), want nothing", q.Type, q.ID, keys(page.Versions), page.Next)
		}
	}
}

// testHistoryPaging walks history page by page, for several page sizes
// and scopes, and checks that every version comes exactly once, in order,
// and that the last page has no Next.
func testHistoryPaging(t *testing.T, s engine.Store) {
	log := writeHistory(t, s, 0)
	for i := range 14 { // 23 versions in all
		log = append(log, mustCreate(t, s, organization, fhir.ID("o"+itoa(int64(i))), 1))
	}
	for _, sc := range scopes {
		want := expectHistory(log, sc.query(0))
		for _, count := range []int{1, 2, 3, 4, len(want) - 1, len(want), len(want) + 1, 1000} {
			if count < 1 {
				continue
			}
			t.Run(fmt.Sprintf("%s/count=%d", sc.name, count), func(t *testing.T) {
				got := walk(t, s, sc.query(count))
				checkVersions(t, "all pages", got, want)
				seen := map[string]bool{}
				for _, k := range keys(got) {
					if seen[k] {
						t.Errorf("%s comes twice", k)
					}
					seen[k] = true
				}
				first, err := s.History(t.Context(), sc.query(count))
				if err != nil {
					t.Fatal(err)
				}
				if (first.Next == "") != (count >= len(want)) {
					t.Errorf("first page of %d: Next %q with %d versions in all", count, first.Next, len(want))
				}
			})
		}
	}
}

// testHistoryPagingIsStable checks that versions written while a client
// pages through history do not shift the pages: later pages hold exactly
// the versions that followed the first page when it was fetched, and a
// cursor fetched twice gives the same page.
func testHistoryPagingIsStable(t *testing.T, s engine.Store) {
	log := writeHistory(t, s, 0)
	for i := range 6 {
		log = append(log, mustCreate(t, s, patient, "a", int64(5+i)))
	}
	next := int64(11) // the next version of Patient/a
	extra := 0
	for _, sc := range scopes {
		t.Run(sc.name, func(t *testing.T) {
			want := expectHistory(log, sc.query(0))
			q := sc.query(3)
			var got []*fhir.Resource
			for {
				page, err := s.History(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page.Versions...)
				if page.Next == "" {
					break
				}
				// Versions written between two fetches, in scope.
				log = append(log, mustCreate(t, s, patient, "a", next))
				next++
				extra++
				log = append(log, mustCreate(t, s, patient, fhir.ID("new"+itoa(int64(extra))), 1))
				q.Cursor = page.Next
				again, err := s.History(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				repeat, err := s.History(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				checkVersions(t, "the same cursor fetched twice", repeat.Versions, again.Versions)
				if repeat.Next != again.Next {
					t.Errorf("the same cursor fetched twice: Next %q then %q", again.Next, repeat.Next)
				}
			}
			checkVersions(t, "pages fetched while versions are written", got, want)
		})
	}
}

// testHistorySince checks Since: the versions written at or after it, for
// instants at, around and between the stored lastUpdated values, in every
// scope, in one page and page by page.
func testHistorySince(t *testing.T, s engine.Store) {
	log := writeHistory(t, s, 3*time.Millisecond)
	instants := []time.Time{{}, log[0].LastUpdated.Add(-time.Hour), time.Now().Add(time.Hour)}
	for _, r := range log {
		for _, d := range []time.Duration{-time.Millisecond, 0, 500 * time.Microsecond, time.Millisecond} {
			instants = append(instants, r.LastUpdated.Add(d))
		}
	}
	for _, sc := range scopes {
		for _, since := range instants {
			q := sc.query(1000)
			q.Since = since
			want := expectHistory(log, q)
			what := fmt.Sprintf("%s history since %s", sc.name, since.Format(time.RFC3339Nano))
			checkVersions(t, what, walk(t, s, q), want)
			checkTotal(t, s, what, q, len(want))
			q.Count = 2
			checkVersions(t, what+" by pages of 2", walk(t, s, q), want)
		}
	}
}

// testHistoryAt checks AtStart and AtEnd: the versions current at some
// instant of [AtStart, AtEnd), for ranges around and between the stored
// lastUpdated values, in every scope.
func testHistoryAt(t *testing.T, s engine.Store) {
	log := writeHistory(t, s, 3*time.Millisecond)
	first, last := log[0].LastUpdated, log[len(log)-1].LastUpdated
	ranges := [][2]time.Time{
		{first.Add(-time.Hour), first},                          // before everything
		{first.Add(-time.Hour), last.Add(time.Hour)},            // everything
		{last.Add(time.Millisecond), last.Add(time.Hour)},       // after everything: the current versions
		{time.Time{}, first.Add(time.Millisecond)},              // from the zero time
		{first.Truncate(24 * time.Hour), last.Add(time.Minute)}, // a day, as _at=yyyy-mm-dd
		// To the end of time, as _at=ge...
		{first.Add(time.Millisecond), time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)},
	}
	ms, us := time.Millisecond, time.Microsecond
	for _, r := range log {
		lu := r.LastUpdated
		ranges = append(ranges,
			[2]time.Time{lu, lu.Add(ms)},
			[2]time.Time{lu.Add(-ms), lu},
			[2]time.Time{lu.Add(-2 * ms), lu.Add(-ms)},
			[2]time.Time{lu.Add(ms), lu.Add(2 * ms)},
			[2]time.Time{lu.Add(200 * us), lu.Add(700 * us)},
			[2]time.Time{lu.Add(-700 * us), lu.Add(-200 * us)},
			[2]time.Time{lu.Add(-ms), lu.Add(ms)},
		)
	}
	for _, sc := range scopes {
		for _, rg := range ranges {
			q := sc.query(1000)
			q.AtStart, q.AtEnd = rg[0], rg[1]
			what := fmt.Sprintf("%s history at [%s, %s)", sc.name, rg[0].Format(time.RFC3339Nano), rg[1].Format(time.RFC3339Nano))
			want := expectHistory(log, q)
			checkVersions(t, what, walk(t, s, q), want)
			checkTotal(t, s, what, q, len(want))
			q.Count = 2
			checkVersions(t, what+" by pages of 2", walk(t, s, q), want)
		}
	}
	// The range after everything keeps the current version of every
	// resource, deletions included.
	q := engine.HistoryQuery{Count: 100, AtStart: last.Add(ms), AtEnd: last.Add(time.Hour)}
	var current []*fhir.Resource
	for _, ref := range []struct {
		typ fhir.ResourceType
		id  fhir.ID
	}{{organization, "a"}, {patient, "a"}, {patient, "b"}} {
		current = append(current, mustRead(t, s, ref.typ, ref.id))
	}
	checkSameSet(t, "history at a range after every write", walk(t, s, q), current)
}

// testHistoryCountZero checks that a Count of 0 returns no versions and
// no Next.
func testHistoryCountZero(t *testing.T, s engine.Store) {
	writeHistory(t, s, 0)
	for _, sc := range scopes {
		page, err := s.History(t.Context(), sc.query(0))
		if err != nil {
			t.Fatalf("%s history with Count 0: %v", sc.name, err)
		}
		if len(page.Versions) != 0 || page.Next != "" {
			t.Errorf("%s history with Count 0: %v, next %q; want nothing", sc.name, keys(page.Versions), page.Next)
		}
	}
}

// testHistoryInvalidCursor checks that a cursor the store did not make is
// refused with KindInvalid, in every scope.
func testHistoryInvalidCursor(t *testing.T, s engine.Store) {
	writeHistory(t, s, 0)
	for _, sc := range scopes {
		for _, cursor := range []string{"not a cursor", "~~~", "\x00", "-"} {
			q := sc.query(10)
			q.Cursor = cursor
			page, err := s.History(t.Context(), q)
			checkKind(t, fmt.Sprintf("%s history with cursor %q", sc.name, cursor), err, fhir.KindInvalid)
			if page != nil && len(page.Versions) > 0 {
				t.Errorf("%s history with cursor %q returned versions with its error", sc.name, cursor)
			}
		}
	}
}
