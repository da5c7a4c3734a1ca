package match_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/extract"
	"github.com/cpms-fhir/cpms/fhir/search/match"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// TestUnionsAgreeWithSQLite checks the SQLite store's unions on real
// data. The store keeps a union's values under its parts (search.Stored:
// a Patient's family names under family only, not under name and
// phonetic too); Match reads all the values extraction gives. On the R4
// examples of every type with unions, extracted as the server extracts
// them, the store must find for each clause on a union what Match finds:
// each value by prefix, :exact and :contains (strings), by code,
// system|code, system|, :not and :text (tokens), :missing, and with a
// clause on a part. And sorted by a union, it must order the resources by
// their lowest (highest) value.
func TestUnionsAgreeWithSQLite(t *testing.T) {
	x := extract.New(search.NewTable(), extract.Options{Base: "http://hl7.org/fhir"})
	seen := map[string]bool{}
	var cs []*match.Candidate
	add := func(name string, body []byte) {
		var head struct {
			ResourceType fhir.ResourceType `json:"resourceType"`
			ID           fhir.ID           `json:"id"`
		}
		if json.Unmarshal(body, &head) != nil || search.Unions(head.ResourceType) == nil || head.ResourceType == "Observation" {
			return // Observation's unions: TestAgreesWithSQLite and the store tests
		}
		if head.ID == "" || seen[string(head.ResourceType)+"/"+string(head.ID)] {
			head.ID = fhir.ID(fmt.Sprintf("x%d", len(cs)))
		}
		seen[string(head.ResourceType)+"/"+string(head.ID)] = true
		idx, err := x.Extract(head.ResourceType, body)
		if err != nil {
			return // TestExamples in package extract reports it
		}
		cs = append(cs, &match.Candidate{Type: head.ResourceType, ID: head.ID, Index: idx, LastUpdated: int64(len(cs)) * 1000})
	}
	add("the Patient fixture", testfixture.Patient)
	testfixture.Examples(t, func(name string, body []byte) {
		add(name, body)
		var bundle struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if json.Unmarshal(body, &bundle) == nil {
			for _, e := range bundle.Entry {
				add(name+"#entry", e.Resource)
			}
		}
	})
	s := openSQLite(t, cs)
	now := time.Now()
	r := resolver(cs, now)
	n := 0
	check := func(typ fhir.ResourceType, name string, clauses ...search.Clause) {
		t.Helper()
		n++
		m, err := match.Compile(t.Context(), typ, clauses, now, r)
		if err != nil {
			t.Fatalf("%s %s: %v", typ, name, err)
		}
		want := matches(m, cs)
		got, err := searchSQLite(t.Context(), s, typ, clauses)
		if err != nil {
			t.Fatalf("%s %s: %v", typ, name, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s %s: Match finds %v\n SQLite finds %v", typ, name, want, got)
		}
	}
	types := map[fhir.ResourceType]bool{}
	for _, c := range cs {
		types[c.Type] = true
	}
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		for _, u := range slices.Sorted(maps.Keys(search.Unions(typ))) {
			parts := search.UnionOf(typ, u)
			strs, toks := unionValues(cs, typ, u)
			for _, v := range strs {
				folded := []rune(search.Fold(v.Exact))
				check(typ, u+" starts with "+v.Exact, stringClause(u, search.ModNone, string(folded[:min(3, len(folded))])))
				check(typ, u+":exact "+v.Exact, stringClause(u, search.ModExact, v.Exact))
				if len(folded) > 2 {
					check(typ, u+":contains "+v.Exact, stringClause(u, search.ModContains, string(folded[1:len(folded)-1])))
				}
				for _, p := range parts {
					check(typ, u+" "+v.Exact+" and "+p, stringClause(u, search.ModNone, v.Value), stringClause(p, search.ModNone, v.Value))
				}
			}
			for _, v := range toks {
				check(typ, u+" "+v.Code, tokenClause(u, search.ModNone, code(v.Code)))
				check(typ, u+" "+v.System+"|"+v.Code, tokenClause(u, search.ModNone, sc(v.System, v.Code)))
				check(typ, u+" "+v.System+"|", tokenClause(u, search.ModNone, sc(v.System, "")))
				check(typ, u+":not "+v.Code, tokenClause(u, search.ModNot, code(v.Code)))
				if v.Text != "" {
					check(typ, u+":text "+v.Text, tokenClause(u, search.ModText, text(v.Text)))
				}
				for _, p := range parts {
					check(typ, u+" "+v.Code+" and "+p, tokenClause(u, search.ModNone, code(v.Code)), tokenClause(p, search.ModNone, code(v.Code)))
				}
			}
			if len(strs)+len(toks) == 0 {
				continue
			}
			pt := search.TypeString
			if len(toks) > 0 {
				pt = search.TypeToken
			}
			check(typ, u+":missing=true", missing(u, pt, true))
			check(typ, u+":missing=false", missing(u, pt, false))
			if pt == search.TypeString {
				checkUnionSort(t, s, cs, typ, u, false)
				checkUnionSort(t, s, cs, typ, u, true)
			}
		}
	}
	if n < 500 {
		t.Errorf("%d clauses checked; the examples should give more", n)
	}
	t.Logf("%d clauses on unions checked over %d resources", n, len(cs))
}

// unionValues returns the distinct string and token values of union u
// among the resources of cs of type typ, sorted, at most 25 of each.
func unionValues(cs []*match.Candidate, typ fhir.ResourceType, u string) ([]search.String, []search.Token) {
	strs, toks := map[search.String]bool{}, map[search.Token]bool{}
	for _, c := range cs {
		if c.Type != typ {
			continue
		}
		for _, v := range c.Index.Strings {
			if v.Param == u && v.Exact != "" {
				strs[v] = true
			}
		}
		for _, v := range c.Index.Tokens {
			if v.Param == u && v.Code != "" {
				toks[v] = true
			}
		}
	}
	s := slices.SortedFunc(maps.Keys(strs), func(a, b search.String) int { return strings.Compare(a.Exact, b.Exact) })
	k := slices.SortedFunc(maps.Keys(toks), func(a, b search.Token) int {
		return strings.Compare(a.System+"|"+a.Code+"|"+a.Text, b.System+"|"+b.Code+"|"+b.Text)
	})
	return s[:min(25, len(s))], k[:min(25, len(k))]
}

// checkUnionSort checks that the store, sorting the resources of typ by
// string union u, orders them by their lowest (highest, desc) value of u
// as extraction gives it, those without one last, in pages of 7.
func checkUnionSort(t *testing.T, s *sqlite.Store, cs []*match.Candidate, typ fhir.ResourceType, u string, desc bool) {
	t.Helper()
	key := map[fhir.ID]string{}
	var all []fhir.ID
	for _, c := range cs {
		if c.Type != typ {
			continue
		}
		all = append(all, c.ID)
		for _, v := range c.Index.Strings {
			if v.Param != u {
				continue
			}
			if k, ok := key[c.ID]; !ok || (v.Value < k) != desc && v.Value != k {
				key[c.ID] = v.Value
			}
		}
	}
	q := &search.Query{Types: []fhir.ResourceType{typ}, Count: 7, Sort: []search.Sort{{Param: u, Type: search.TypeString, Desc: desc}}}
	var got []fhir.ID
	for {
		res, err := s.Search(t.Context(), q)
		if err != nil {
			t.Fatalf("%s sorted by %s: %v", typ, u, err)
		}
		for _, r := range res.Resources {
			got = append(got, r.ID)
		}
		if res.Next == "" {
			break
		}
		q.Cursor = res.Next
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(all))) {
		t.Fatalf("%s sorted by %s (desc %v) gives %v, not each of %v once", typ, u, desc, got, all)
	}
	for i := 1; i < len(got); i++ {
		a, aok := key[got[i-1]]
		b, bok := key[got[i]]
		switch {
		case !aok && bok:
			t.Errorf("%s sorted by %s (desc %v): %s, which has no value, before %s (%q)", typ, u, desc, got[i-1], got[i], b)
		case aok && bok && a != b && (a < b) == desc:
			t.Errorf("%s sorted by %s (desc %v): %s (%q) before %s (%q)", typ, u, desc, got[i-1], a, got[i], b)
		}
	}
}
