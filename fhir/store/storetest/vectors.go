package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// A search vector is a query and what it must find among fixtures written
// before it: the references (Type/id) of its matches, in any order, or
// the kind of error it must fail with.
type vector struct {
	name string
	q    *search.Query
	want []string
	// fails, when set, is the kind of error the search must fail with.
	fails *fhir.Kind
}

// failsWith is the fails of a vector.
func failsWith(k fhir.Kind) *fhir.Kind { return &k }

// refs prefixes ids with their type: refs(patient, "a", "b") is
// Patient/a, Patient/b.
func refs(t fhir.ResourceType, ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(t) + "/" + id
	}
	return out
}

// writeFixtures writes each fixture as version 1 in a transaction of its
// own and returns the stored versions by reference.
func writeFixtures(t *testing.T, s engine.Store, fixtures []*fixture) map[string]*fhir.Resource {
	t.Helper()
	cur := map[string]*fhir.Resource{}
	for _, f := range fixtures {
		r, idx := f.version(1)
		cur[r.Ref()] = mustPut(t, s, r, idx)
	}
	return cur
}

// runVectors writes the fixtures and checks every vector: all its
// matches found, each once, whether read in one page or in pages of two;
// an accurate total equal to their number; the same matches from
// Tx.Search.
func runVectors(t *testing.T, s engine.Store, fixtures []*fixture, vectors []vector) {
	t.Helper()
	cur := writeFixtures(t, s, fixtures)
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) { checkVector(t, s, cur, v) })
	}
	mustWrite(t, s, func(tx engine.Tx) error {
		for _, v := range vectors {
			found, err := searchAll(t.Context(), tx, v.q)
			if v.fails != nil {
				checkKind(t, "Tx.Search "+v.name, err, *v.fails)
				continue
			}
			if err != nil {
				t.Errorf("Tx.Search %s: %v", v.name, err)
				continue
			}
			checkRefs(t, "Tx.Search "+v.name, found, v.want)
		}
		return nil
	})
}

// checkVector checks one vector against the stored fixtures cur.
func checkVector(t *testing.T, s engine.Store, cur map[string]*fhir.Resource, v vector) {
	t.Helper()
	found, err := searchAll(t.Context(), s, v.q)
	if v.fails != nil {
		checkKind(t, "search", err, *v.fails)
		return
	}
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	var want []*fhir.Resource
	for _, ref := range v.want {
		r, ok := cur[ref]
		if !ok {
			t.Fatalf("the vector wants %s, which is not a fixture", ref)
		}
		want = append(want, r)
	}
	checkSameSet(t, "search", found, want)
	paged := pageAll(t, s, v.q, 2)
	checkRefs(t, "search in pages of 2", paged, v.want)
	total := *v.q
	total.Count, total.Total = 0, search.TotalAccurate
	res, err := s.Search(t.Context(), &total)
	if err != nil {
		t.Fatalf("search for the total: %v", err)
	}
	if res.Total != len(v.want) || len(res.Resources) != 0 || res.Next != "" {
		t.Errorf("search for the accurate total: total %d, %d resources, next %q; want total %d, no resources",
			res.Total, len(res.Resources), res.Next, len(v.want))
	}
}

// pageAll reads every page of q of size n and fails the test if a
// resource comes twice. It then pages back from the last page by the
// previous-page cursors, which must give the same pages, and the first
// page last, with no previous page.
func pageAll(t testing.TB, s engine.Store, q *search.Query, n int) []*fhir.Resource {
	t.Helper()
	p := limited(q, n)
	var out []*fhir.Resource
	var pages []*engine.SearchResult
	seen := map[string]bool{}
	for range 10000 {
		res, err := s.Search(t.Context(), p)
		if err != nil {
			t.Fatalf("search page %d: %v", len(pages)+1, err)
		}
		if len(res.Resources) > n {
			t.Fatalf("a page of %d holds %d resources", n, len(res.Resources))
		}
		for _, r := range res.Resources {
			if seen[r.Ref()] {
				t.Errorf("%s comes twice in the pages", r.Ref())
			}
			seen[r.Ref()] = true
		}
		out = append(out, res.Resources...)
		pages = append(pages, res)
		if res.Next == "" {
			pageBack(t, s, q, n, pages)
			return out
		}
		if len(res.Resources) == 0 {
			t.Fatalf("an empty page has a next cursor")
		}
		p.Cursor = res.Next
	}
	t.Fatalf("more than 10000 pages")
	return nil
}

// pageBack follows the previous-page cursors from the last of pages, the
// pages of q of size n read forwards.
func pageBack(t testing.TB, s engine.Store, q *search.Query, n int, pages []*engine.SearchResult) {
	t.Helper()
	if pages[0].Prev != "" {
		t.Errorf("the first page has a previous page")
	}
	p := limited(q, n)
	for i := len(pages) - 1; i > 0; i-- {
		prev := pages[i].Prev
		if prev == "" {
			t.Fatalf("page %d of %d has no previous page", i+1, len(pages))
		}
		p.Cursor = prev
		res, err := s.Search(t.Context(), p)
		if err != nil {
			t.Fatalf("the page before page %d: %v", i+1, err)
		}
		want := pages[i-1]
		if got, w := keys(res.Resources), keys(want.Resources); !slices.Equal(got, w) {
			t.Fatalf("the page before page %d holds %v, want page %d: %v", i+1, got, i, w)
		}
		if (res.Prev == "") != (i == 1) {
			t.Errorf("the page before page %d: previous cursor %q, want one unless it is the first page", i+1, res.Prev)
		}
		if res.Next == "" {
			t.Errorf("the page before page %d has no next page", i+1)
		} else {
			p.Cursor = res.Next
			again, err := s.Search(t.Context(), p)
			if err != nil {
				t.Fatalf("the page after the page before page %d: %v", i+1, err)
			}
			if got, w := keys(again.Resources), keys(pages[i].Resources); !slices.Equal(got, w) {
				t.Fatalf("back then forth from page %d gives %v, want %v", i+1, got, w)
			}
		}
		pages[i-1] = res // its previous cursor leads on
	}
}

// checkRefs fails the test unless found holds the resources want names,
// in any order, each once.
func checkRefs(t testing.TB, what string, found []*fhir.Resource, want []string) {
	t.Helper()
	got := make([]string, len(found))
	for i, r := range found {
		got[i] = r.Ref()
	}
	slices.Sort(got)
	w := slices.Sorted(slices.Values(want))
	if !slices.Equal(got, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, strings.Join(got, " "), strings.Join(w, " "))
	}
}
