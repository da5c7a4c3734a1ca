package extract

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cpms-fhir/cpms/fhir/search"
)

// TestDedupeTail checks both ways of removing repeats (the scan of few
// values, the map of many) against the definition: the first of each
// value, in order, and what precedes start untouched.
func TestDedupeTail(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, dedupeScan - 1, dedupeScan, dedupeScan + 1, 200, 5000} {
		for _, distinct := range []int{1, 3, n/2 + 1, n + 1} {
			head := []search.Token{{Param: "code", Code: "x"}, {Param: "code", Code: "x"}}
			s := slices.Clone(head)
			for range n {
				s = append(s, search.Token{Param: "code", System: "http://s", Code: fmt.Sprint(r.IntN(distinct))})
			}
			var want []search.Token
			for _, v := range s[len(head):] {
				if !slices.Contains(want, v) {
					want = append(want, v)
				}
			}
			got := dedupeTail(s, len(head))
			if !slices.Equal(got[:len(head)], head) {
				t.Errorf("n=%d distinct=%d: the values before start changed: %v", n, distinct, got[:len(head)])
			}
			if !slices.Equal(got[len(head):], want) && !(len(want) == 0 && len(got) == len(head)) {
				t.Errorf("n=%d distinct=%d: kept %d values, want %d (first of each, in order)", n, distinct, len(got)-len(head), len(want))
			}
		}
	}
}

// TestExtractCodeSystemCodes extracts the codes of a CodeSystem with
// thousands of concepts, some repeated (a code nested under two parents
// is listed once per place): each code once.
func TestExtractCodeSystemCodes(t *testing.T) {
	x := New(search.NewTable(), Options{Base: "https://cpms.example/fhir"})
	idx, err := x.Extract("CodeSystem", codeSystem(3000, 2))
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	for _, tk := range idx.Tokens {
		if tk.Param == "code" {
			codes[tk.Code]++
		}
	}
	if len(codes) != 3000 {
		t.Errorf("%d distinct codes, want 3000", len(codes))
	}
	for c, k := range codes {
		if k != 1 {
			t.Errorf("code %s extracted %d times", c, k)
		}
	}
}

// codeSystem returns a CodeSystem of n concepts, each listed copies times.
func codeSystem(n, copies int) []byte {
	b := []byte(`{"resourceType":"CodeSystem","id":"big","url":"http://example.org/cs","status":"active","content":"complete","concept":[`)
	for c := range copies {
		for i := range n {
			if c > 0 || i > 0 {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, `{"code":"C%d","display":"Concept %d"}`, i, i)
		}
	}
	return append(b, "]}"...)
}
