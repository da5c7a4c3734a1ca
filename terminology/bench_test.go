package terminology

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

// The benchmarks run the operations in-process on the embedded seed, the
// server's figures without HTTP (cpms bench terminology measures through
// HTTP). Run with
//
//	go test -run '^$' -bench . ./terminology/

var benchSeed = sync.OnceValue(func() *Service {
	s := New()
	if err := LoadSeed(s); err != nil {
		panic(err)
	}
	s.Warm()
	return s
})

// prefixes are three-letter word starts drawn from the displays of sys,
// as a clinician types them.
func prefixes(sys *System, n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []string
	for len(out) < n {
		_, d := sys.Concept(rng.IntN(sys.Len()))
		for _, w := range strings.FieldsFunc(d, func(r rune) bool { return !unicode.IsLetter(r) }) {
			if len(w) >= 3 && w[0] < 0x80 && w[1] < 0x80 && w[2] < 0x80 {
				out = append(out, strings.ToLower(w[:3]))
				break
			}
		}
	}
	return out
}

func BenchmarkExpandFilter(b *testing.B) {
	s := benchSeed()
	for _, url := range []string{HPOURL, OrphaURL, ICD10URL, LOINCURL} {
		sys, _ := s.System(url, "")
		words := prefixes(sys, 500)
		b.Run(sys.Name, func(b *testing.B) {
			var lat []time.Duration
			i := 0
			for b.Loop() {
				start := time.Now()
				if _, err := s.Expand(ExpandRequest{URL: url + "?fhir_vs", Filter: words[i%len(words)], Count: 20, CountSet: true}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				i++
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
