package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/internal/synthea"
	"github.com/cpms-fhir/cpms/server"
)

// SearchOptions configure the search benchmark.
type SearchOptions struct {
	// Archive is the Synthea archive (synthea-r4.tar.gz) the patients are
	// made from.
	Archive string
	// Patients lists the data set sizes to measure, e.g. 1000 and 10000.
	Patients []int
	// Dir keeps the loaded stores (one subdirectory per size) for later
	// runs; empty means a temporary directory removed at the end.
	Dir string
	// Requests is the number of sequential requests per query for the
	// latency percentiles.
	Requests int
	// Clients and Duration drive the throughput run of each query.
	Clients  int
	Duration time.Duration
	// MongoURI, when set, runs the benchmark on MongoDB (one database per
	// size, kept with Dir's marker) instead of the embedded store.
	MongoURI string
	// Log receives the server's log; Progress the loading progress.
	Log, Progress *slog.Logger
}

// maxObservations is how many Observations of each Synthea patient are
// kept: the data set has about 60 resources per patient.
const maxObservations = 30

// pools are values taken from the loaded data to vary the queries.
type pools struct {
	identifiers, families, conditionCodes, observationCodes []string
}

// Search runs the search benchmark and writes its table to w. Every size
// is loaded and served at once, and the latency runs interleave their
// requests (the same query to each size in turn), so that the growth from
// one size to the next is measured under the same conditions on a shared
// machine; the throughput runs follow, one size at a time.
func Search(ctx context.Context, opts SearchOptions, w io.Writer) error {
	if _, err := os.Stat(opts.Archive); err != nil {
		return fmt.Errorf("the Synthea archive is needed: %w", err)
	}
	dir := opts.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "cpms-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	var targets []*target
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	var p *pools
	for _, n := range opts.Patients {
		t, pn, err := serve(ctx, opts, filepath.Join(dir, strconv.Itoa(n)), n)
		if err != nil {
			return fmt.Errorf("%d patients: %w", n, err)
		}
		targets, p = append(targets, t), pn
	}
	c := newClient(opts.Clients)
	for _, t := range targets {
		page50, err := followNext(ctx, c, t.base+"Observation?_sort=-date", 49)
		if err != nil {
			return fmt.Errorf("%d patients: %w", t.patients, err)
		}
		t.page50 = strings.TrimPrefix(page50, t.base)
	}
	results := map[int]map[string]Stats{}
	for _, t := range targets {
		results[t.patients] = map[string]Stats{}
	}
	for _, m := range searchMix(p) {
		paths := make([]func(t *target) string, opts.Requests)
		for i := range paths {
			paths[i] = m.path()
		}
		// One warm-up pass, as a running server has.
		for _, t := range targets {
			if _, err := c.get(ctx, t.base+paths[0](t)); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		lat, err := c.latencies(ctx, targets, paths)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		for i, t := range targets {
			st := lat[i]
			st.PerSec, err = c.throughput(ctx, opts.Clients, opts.Duration, func(i int) string {
				return t.base + paths[i%len(paths)](t)
			})
			if err != nil {
				return fmt.Errorf("%s at %d patients: %w", m.name, t.patients, err)
			}
			results[t.patients][m.name] = st
		}
	}
	return printSearch(w, opts.Patients, results)
}

// target is one data set served for the benchmark.
type target struct {
	patients int
	base     string // the FHIR base URL, ending in "/"
	page50   string // the path of page 50 of Observation?_sort=-date
	close    func()
}

// serve opens (loading when needed) the store of the given size in dir
// and serves it over HTTP.
func serve(ctx context.Context, opts SearchOptions, dir string, patients int) (*target, *pools, error) {
	log := opts.Log
	_, err := os.Stat(filepath.Join(dir, "loaded"))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, err
	}
	store, err := openStore(ctx, log, opts.MongoURI, dir, err == nil)
	if err != nil {
		return nil, nil, err
	}
	eng, err := engine.New(store, engine.Options{Logger: log})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	p, err := loadPatients(ctx, eng, opts, dir, patients)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	ts := httptest.NewServer(server.New(eng, server.Options{Logger: log}))
	return &target{patients: patients, base: ts.URL + "/fhir/", close: func() {
		ts.Close()
		store.Close()
	}}, p, nil
}

// mixQuery is a query of the mix: path draws the next request's path
// (relative to the FHIR base), the same for every data set.
type mixQuery struct {
	name string
	path func() func(t *target) string
}

// searchMix returns the query mix, with values from p drawn by a
// fixed seed.
func searchMix(p *pools) []mixQuery {
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func(xs []string) string { return xs[rnd.IntN(len(xs))] }
	q := url.QueryEscape
	same := func(f func() string) func() func(t *target) string {
		return func() func(t *target) string {
			path := f()
			return func(*target) string { return path }
		}
	}
	return []mixQuery{
		{"Patient?identifier", same(func() string { return "Patient?identifier=" + q(pick(p.identifiers)) })},
		{"Patient?name", same(func() string { return "Patient?name=" + q(pick(p.families)) })},
		{"Patient?birthdate range", same(func() string {
			y := 1920 + rnd.IntN(90)
			return fmt.Sprintf("Patient?birthdate=ge%d-01-01&birthdate=lt%d-01-01", y, y+1)
		})},
		{"Observation?code&date range", same(func() string {
			y := 2000 + rnd.IntN(20)
			return fmt.Sprintf("Observation?code=%s&date=ge%d&date=lt%d", q(pick(p.observationCodes)), y, y+1)
		})},
		{"Condition?code", same(func() string { return "Condition?code=" + q(pick(p.conditionCodes)) })},
		{"Observation?subject:Patient.name", same(func() string {
			return "Observation?subject:Patient.name=" + q(pick(p.families))
		})},
		{"Patient?_revinclude=Condition:subject", same(func() string { return "Patient?_revinclude=Condition:subject" })},
		{"Patient?_has:Condition:subject:code", same(func() string {
			return "Patient?_has:Condition:subject:code=" + q(pick(p.conditionCodes))
		})},
		{"Observation?_sort=-date page 50", func() func(t *target) string {
			return func(t *target) string { return t.page50 }
		}},
		{"Observation?_summary=count", same(func() string { return "Observation?_summary=count" })},
		// Beyond the mix: a patient list in name order, a sort
		// by a union among its own parts (search.Stored).
		{"Patient?_sort=name", same(func() string { return "Patient?_sort=name" })},
	}
}

// followNext follows n next links from url and returns the link reached
// (the last page's, when there are fewer).
func followNext(ctx context.Context, c *client, u string, n int) (string, error) {
	for i := range n {
		body, err := c.get(ctx, u)
		if err != nil {
			return "", err
		}
		var b struct {
			Link []struct{ Relation, URL string } `json:"link"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			return "", err
		}
		next := ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
		if next == "" {
			if i == 0 {
				return "", fmt.Errorf("only one page")
			}
			// A small data set (a few dozen patients) has fewer pages:
			// the last one stands for the deep page.
			return u, nil
		}
		u = next
	}
	return u, nil
}

// loadPatients fills the store with patients made from the Synthea
// archive (copies under fresh ids beyond the 200 originals), unless a
// previous run did, and returns value pools for the queries.
func loadPatients(ctx context.Context, eng *engine.Engine, opts SearchOptions, dir string, patients int) (*pools, error) {
	marker := filepath.Join(dir, "loaded")
	_, err := os.Stat(marker)
	loaded := err == nil
	var bundles [][]synthea.Resource
	err = synthea.ReadArchive(opts.Archive, func(_ string, data []byte) error {
		rs, err := synthea.Resources(data)
		if err != nil {
			return err
		}
		bundles = append(bundles, keepForBench(rs))
		return nil
	})
	if err != nil {
		return nil, err
	}
	p := poolsOf(bundles)
	if loaded {
		return p, nil
	}
	start := time.Now()
	resources := 0
	for i := 0; i < patients; i++ {
		rs := synthea.Replicate(bundles[i%len(bundles)], i/len(bundles))
		items := make([]engine.ImportItem, len(rs))
		for j, r := range rs {
			items[j] = engine.ImportItem{Type: r.Type, ID: r.ID, Body: r.Body}
		}
		errs, err := eng.Import(ctx, items, engine.ImportOptions{SkipValidation: true})
		if err != nil {
			return nil, err
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		resources += len(rs)
		if (i+1)%1000 == 0 {
			opts.Progress.Info("loading", "patients", i+1, "resources", resources, "per_second", int(float64(resources)/time.Since(start).Seconds()))
		}
	}
	opts.Progress.Info("loaded", "patients", patients, "resources", resources, "seconds", int(time.Since(start).Seconds()))
	return p, os.WriteFile(marker, []byte(strconv.Itoa(resources)), 0o640)
}

// keepForBench keeps a patient's Patient, Conditions, Encounters and first
// Observations.
func keepForBench(rs []synthea.Resource) []synthea.Resource {
	var out []synthea.Resource
	obs := 0
	for _, r := range rs {
		switch r.Type {
		case "Patient", "Condition", "Encounter":
		case "Observation":
			if obs++; obs > maxObservations {
				continue
			}
		default:
			continue
		}
		out = append(out, r)
	}
	return out
}

func poolsOf(bundles [][]synthea.Resource) *pools {
	p := &pools{}
	seen := map[string]bool{}
	add := func(list *[]string, v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			*list = append(*list, v)
		}
	}
	type coding struct{ System, Code string }
	for _, rs := range bundles {
		for _, r := range rs {
			var m struct {
				Identifier []struct{ System, Value string }
				Name       []struct{ Family string }
				Code       struct{ Coding []coding }
			}
			if json.Unmarshal(r.Body, &m) != nil {
				continue
			}
			switch r.Type {
			case "Patient":
				if len(m.Identifier) > 0 {
					add(&p.identifiers, m.Identifier[0].System+"|"+m.Identifier[0].Value)
				}
				if len(m.Name) > 0 {
					add(&p.families, m.Name[0].Family)
				}
			case "Condition":
				for _, c := range m.Code.Coding {
					add(&p.conditionCodes, c.System+"|"+c.Code)
				}
			case "Observation":
				for _, c := range m.Code.Coding {
					add(&p.observationCodes, c.System+"|"+c.Code)
				}
			}
		}
	}
	return p
}

func printSearch(w io.Writer, sizes []int, results map[int]map[string]Stats) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "query\t")
	for _, n := range sizes {
		fmt.Fprintf(tw, "p50 ms @%d\tp99 ms @%d\treq/s @%d\t", n, n, n)
	}
	if len(sizes) > 1 {
		fmt.Fprintf(tw, "p50 growth %d→%d\t", sizes[0], sizes[len(sizes)-1])
	}
	fmt.Fprintln(tw)
	for _, name := range queryOrder(results[sizes[0]]) {
		fmt.Fprintf(tw, "%s\t", name)
		for _, n := range sizes {
			st := results[n][name]
			fmt.Fprintf(tw, "%.2f\t%.2f\t%.0f\t", ms(st.P50), ms(st.P99), st.PerSec)
		}
		if len(sizes) > 1 {
			first, last := results[sizes[0]][name], results[sizes[len(sizes)-1]][name]
			fmt.Fprintf(tw, "%.2fx\t", ms(last.P50)/ms(first.P50))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// queryOrder returns the query names in the order of the mix.
func queryOrder(m map[string]Stats) []string {
	order := []string{"Patient?identifier", "Patient?name", "Patient?birthdate range", "Observation?code&date range",
		"Condition?code", "Observation?subject:Patient.name", "Patient?_revinclude=Condition:subject",
		"Patient?_has:Condition:subject:code", "Observation?_sort=-date page 50", "Observation?_summary=count",
		"Patient?_sort=name"}
	var out []string
	for _, n := range order {
		if _, ok := m[n]; ok {
			out = append(out, n)
		}
	}
	return out
}
