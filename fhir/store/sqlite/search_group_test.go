package sqlite

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// TestGroupedFirstPages: unforced, the first page of a chain or reverse
// chain with many matches is read group by group, never from a list of
// every match, and its pages, followed both ways, list every match once.
func TestGroupedFirstPages(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	// 200 patients of 10 observations each: 7 patients named Kuhn, and
	// one observation of 13 coded A, few enough that the planner drives
	// from the chain or reverse chain.
	const patients, perPatient = 200, 10
	isKuhn := func(p int) bool { return p%33 == 1 }
	isCoded := func(p, j int) bool { return p%16 == 0 && j == 0 }
	kuhns, coded := 0, 0
	for p := range patients {
		if isKuhn(p) {
			kuhns++
		}
		if isCoded(p, 0) {
			coded++
		}
	}
	type put struct {
		r   *fhir.Resource
		idx *search.Index
	}
	var batch []put
	flush := func() {
		t.Helper()
		err := s.Write(ctx, func(tx engine.Tx) error {
			for _, p := range batch {
				p.r.Version, p.r.Method, p.r.LastUpdated, p.r.Body = 1, fhir.MethodPost, tx.Now(), []byte(`{}`)
				if err := tx.Put(ctx, p.r, p.idx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	observation := func(p, j int) {
		code := "B"
		if isCoded(p, j) {
			code = "A"
		}
		batch = append(batch, put{&fhir.Resource{Type: "Observation", ID: fhir.ID(fmt.Sprint("o", p, "-", j))}, &search.Index{
			References: []search.Reference{{Param: "subject", Type: "Patient", ID: fhir.ID(fmt.Sprint("p", p))}},
			Tokens:     []search.Token{{Param: "code", Code: code}},
		}})
	}
	// Half of each patient's observations before the patients, in
	// reverse, half after: the groups' order is not the rids'.
	for p := patients - 1; p >= 0; p-- {
		for j := range perPatient / 2 {
			observation(p, j)
		}
	}
	flush()
	for p := range patients {
		name := "Lowe"
		if isKuhn(p) {
			name = "Kuhn"
		}
		batch = append(batch, put{&fhir.Resource{Type: "Patient", ID: fhir.ID(fmt.Sprint("p", p))},
			&search.Index{Strings: []search.String{{Param: "name", Value: search.Fold(name), Exact: name}}}})
	}
	flush()
	for p := range patients {
		for j := perPatient / 2; j < perPatient; j++ {
			observation(p, j)
		}
	}
	flush()
	kuhn := search.Clause{Param: "name", Type: search.TypeString, Values: []search.Value{{Text: "kuhn"}}}
	code := search.Clause{Param: "code", Type: search.TypeToken, Values: []search.Value{{Code: "A"}}}
	cases := []struct {
		name string
		q    search.Query
		want int
	}{
		{"chain", search.Query{Types: []fhir.ResourceType{"Observation"}, Clauses: []search.Clause{{Param: "subject",
			Type: search.TypeReference, Chain: &search.Chain{Targets: []fhir.ResourceType{"Patient"}, Clause: kuhn}}}},
			kuhns * perPatient},
		{"reverse chain", search.Query{Types: []fhir.ResourceType{"Patient"}, Clauses: []search.Clause{{Param: "_has",
			Type: search.TypeSpecial, Has: &search.Has{Type: "Observation", Ref: "subject", Clause: code}}}}, coded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Count = 7
			var first *engine.SearchResult
			stmts, _ := traced(func() {
				var err error
				if first, err = s.Search(ctx, &q); err != nil {
					t.Fatal(err)
				}
			})
			for _, st := range stmts {
				if strings.Contains(st, "SELECT DISTINCT d.rid FROM") {
					t.Errorf("the first page lists every match:\n%s", st)
				}
			}
			if c, err := decodeCursor(first.Next, fingerprint(&q), 0); err != nil || !c.grouped {
				t.Errorf("the first page's cursor %q is not of a grouped page (%v)", first.Next, err)
			}
			if first.Total != -1 {
				t.Errorf("total %d, want none by default", first.Total)
			}
			seen := map[string]bool{}
			pages := []*engine.SearchResult{first}
			for res := first; ; {
				for _, r := range res.Resources {
					if seen[r.Ref()] {
						t.Fatalf("%s comes twice", r.Ref())
					}
					seen[r.Ref()] = true
				}
				if res.Next == "" {
					break
				}
				q.Cursor = res.Next
				var err error
				if res, err = s.Search(ctx, &q); err != nil {
					t.Fatal(err)
				}
				pages = append(pages, res)
			}
			if len(seen) != tc.want {
				t.Errorf("%d matches in the pages, want %d", len(seen), tc.want)
			}
			for i := len(pages) - 1; i > 0; i-- {
				q.Cursor = pages[i].Prev
				res, err := s.Search(ctx, &q)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := refsOf(res.Resources), refsOf(pages[i-1].Resources); got != want {
					t.Fatalf("the page before page %d holds %s, want %s", i+1, got, want)
				}
			}
		})
	}
}

func refsOf(rs []*fhir.Resource) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Ref() + " ")
	}
	return b.String()
}
