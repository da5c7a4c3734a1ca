package sqlite

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// The search benchmarks run the query mix at the store level on
// the synthetic data set (bench_data_test.go), and report the mean, the
// 50th and the 99th percentile of each query's latency. Run with
//
//	go test -run '^$' -bench Search -benchtime 200x ./fhir/store/sqlite/
//
// (-searchbench.patients=1000 for the smaller set, -searchbench.total to
// set the searches' _total).

// benchPage is the page size of the mix, a client's usual _count.
const benchPage = 20

var benchTotal = flag.String("searchbench.total", "", "the _total of the mix's searches: \"\" (the store's default), none, estimate or accurate")

// mixQuery is one query of the mix, drawing its values at random.
type mixQuery struct {
	name string
	make func(rng *rand.Rand, set *benchSet) *search.Query
}

func ptrTo[T any](v T) *T { return &v }

// benchMix is the query mix (the _revinclude of the issue is the
// engine's: its store part is a search of Conditions by the page's 20
// patients, measured as RevIncludePart).
var benchMix = []mixQuery{
	{"PatientByIdentifier", func(rng *rand.Rand, set *benchSet) *search.Query {
		return typeQuery("Patient", search.Clause{Param: "identifier", Type: search.TypeToken, Values: []search.Value{
			{System: ptrTo("urn:oid:1.2.36.146.595.217.0.1"), Code: fmt.Sprintf("MRN%08d", rng.IntN(set.patients))}}})
	}},
	{"PatientByName", func(rng *rand.Rand, set *benchSet) *search.Query {
		family := set.families[rng.IntN(len(set.families))]
		return typeQuery("Patient", search.Clause{Param: "name", Type: search.TypeString,
			Values: []search.Value{{Text: search.Fold(family[:4])}}})
	}},
	{"PatientByBirthdateRange", func(rng *rand.Rand, set *benchSet) *search.Query {
		y := 1935 + rng.IntN(80)
		return typeQuery("Patient",
			search.Clause{Param: "birthdate", Type: search.TypeDate, Values: []search.Value{dateValue(search.PrefixGe, y, 1)}},
			search.Clause{Param: "birthdate", Type: search.TypeDate, Values: []search.Value{dateValue(search.PrefixLe, y+9, 12)}})
	}},
	{"ObservationByCodeAndDate", func(rng *rand.Rand, set *benchSet) *search.Query {
		y := 2015 + rng.IntN(10)
		return typeQuery("Observation",
			search.Clause{Param: "code", Type: search.TypeToken, Values: []search.Value{
				{System: ptrTo("http://loinc.org"), Code: set.obsCodes[rng.IntN(len(set.obsCodes))]}}},
			search.Clause{Param: "date", Type: search.TypeDate, Values: []search.Value{dateValue(search.PrefixGe, y, 1)}},
			search.Clause{Param: "date", Type: search.TypeDate, Values: []search.Value{dateValue(search.PrefixLe, y, 12)}})
	}},
	{"ConditionByCode", func(rng *rand.Rand, set *benchSet) *search.Query {
		return typeQuery("Condition", search.Clause{Param: "code", Type: search.TypeToken, Values: []search.Value{
			{Code: set.conCodes[rng.IntN(len(set.conCodes))]}}})
	}},
	{"ObservationBySubjectName", func(rng *rand.Rand, set *benchSet) *search.Query {
		family := set.families[rng.IntN(len(set.families))]
		return typeQuery("Observation", search.Clause{Param: "subject", Type: search.TypeReference, Chain: &search.Chain{
			Targets: []fhir.ResourceType{"Patient"},
			Clause:  search.Clause{Param: "name", Type: search.TypeString, Values: []search.Value{{Text: search.Fold(family)}}}}})
	}},
	{"PatientHasCondition", func(rng *rand.Rand, set *benchSet) *search.Query {
		return typeQuery("Patient", search.Clause{Param: "_has", Type: search.TypeSpecial, Has: &search.Has{Type: "Condition", Ref: "subject",
			Clause: search.Clause{Param: "code", Type: search.TypeToken, Values: []search.Value{{Code: set.conCodes[rng.IntN(len(set.conCodes))]}}}}})
	}},
	{"RevIncludePart", func(rng *rand.Rand, set *benchSet) *search.Query {
		c := search.Clause{Param: "subject", Type: search.TypeReference}
		for range benchPage {
			c.Values = append(c.Values, search.Value{Type: "Patient", ID: uuid(fmt.Sprint("patient", rng.IntN(set.patients)))})
		}
		q := typeQuery("Condition", c)
		q.Count = 1000
		return q
	}},
	{"ObservationSortDate", func(rng *rand.Rand, set *benchSet) *search.Query {
		q := typeQuery("Observation")
		q.Sort = []search.Sort{{Param: "date", Type: search.TypeDate, Desc: true}}
		return q
	}},
	{"PatientSortName", func(rng *rand.Rand, set *benchSet) *search.Query {
		// A patient list in name order: name is a union among its own
		// parts (search.Stored), which must still walk one index.
		q := typeQuery("Patient")
		q.Sort = []search.Sort{{Param: "name", Type: search.TypeString}}
		return q
	}},
	{"ObservationCount", func(rng *rand.Rand, set *benchSet) *search.Query {
		q := typeQuery("Observation")
		q.Count, q.Total = 0, search.TotalAccurate
		return q
	}},
}

func typeQuery(t fhir.ResourceType, clauses ...search.Clause) *search.Query {
	return &search.Query{Types: []fhir.ResourceType{t}, Clauses: clauses, Count: benchPage, Total: search.Total(*benchTotal)}
}

// dateValue is the search value of a month at day precision: the first
// day of it (ge) or the last (le).
func dateValue(p search.Prefix, year, month int) search.Value {
	t := time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC)
	if p == search.PrefixLe {
		t = t.AddDate(0, 1, -1)
	}
	return search.Value{Prefix: p, DateLo: t.UnixMilli(), DateHi: t.AddDate(0, 0, 1).UnixMilli()}
}

func BenchmarkSearch(b *testing.B) {
	set := openBenchSet(b, *benchPatients)
	ctx := context.Background()
	for _, m := range benchMix {
		b.Run(m.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			measure(b, func() (int, error) {
				res, err := set.s.Search(ctx, m.make(rng, set))
				if err != nil {
					return 0, err
				}
				return len(res.Resources), nil
			})
		})
	}
	// Page 50 of the sort: the cursor of page 49 is followed once, then
	// page 50 is read again and again.
	b.Run("ObservationSortDatePage50", func(b *testing.B) {
		q := typeQuery("Observation")
		q.Sort = []search.Sort{{Param: "date", Type: search.TypeDate, Desc: true}}
		for range 49 {
			res, err := set.s.Search(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			q.Cursor = res.Next
		}
		measure(b, func() (int, error) {
			res, err := set.s.Search(ctx, q)
			if err != nil {
				return 0, err
			}
			return len(res.Resources), nil
		})
	})
}

// measure runs fn in the benchmark loop and reports its latency
// percentiles and the mean number of results.
func measure(b *testing.B, fn func() (int, error)) {
	var lat []time.Duration
	results := 0
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		n, err := fn()
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		results += n
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(results)/float64(len(lat)), "results/op")
}

// BenchmarkStoreIngest writes patients of the data set, each with its 59
// other resources in one transaction (as a transaction Bundle would), into
// a store that grows: resources/s is the write rate with the whole index.
func BenchmarkStoreIngest(b *testing.B) {
	s := tempStore(b)
	ctx := context.Background()
	set := newBenchSet(0)
	rng := rand.New(rand.NewPCG(9, 9))
	var batch []benchPut
	add := func(t fhir.ResourceType, id fhir.ID, body string, idx *search.Index) {
		batch = append(batch, benchPut{&fhir.Resource{Type: t, ID: id, Version: 1, Method: fhir.MethodPost, Body: []byte(body)}, idx})
	}
	resources := 0
	b.ReportAllocs()
	start := time.Now()
	i := 0
	for b.Loop() {
		batch = batch[:0]
		set.patient(rng, i, add)
		i++
		if err := writeBatch(ctx, s, batch); err != nil {
			b.Fatal(err)
		}
		resources += len(batch)
	}
	b.ReportMetric(float64(resources)/time.Since(start).Seconds(), "resources/s")
}
