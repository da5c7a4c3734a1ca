package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/extract"
	"github.com/cpms-fhir/cpms/importers/bulk"
	"github.com/cpms-fhir/cpms/internal/synthea"
	"github.com/cpms-fhir/cpms/server"
)

// IngestOptions configure the ingest benchmark.
type IngestOptions struct {
	// Archive is the Synthea archive (synthea-r4.tar.gz).
	Archive string
	// Clients is the number of concurrent HTTP clients (and of writers
	// to the store alone).
	Clients int
	// Bundles, when positive, limits the bundles read from the archive
	// (for a slow store such as FerretDB).
	Bundles int
	// MongoURI, when set, runs the benchmark on MongoDB (one database per
	// way, emptied first) instead of the embedded store.
	MongoURI string
	// Ways, when not empty, names the ways to run ("ac": (a) and (c));
	// the ratios are printed when (c) ran.
	Ways string
	// CPUProfile, when set, is the path prefix of a CPU profile per way
	// (PREFIX-a.pprof, ...).
	CPUProfile string
	// Log receives the servers' and stores' logs; Progress the steps.
	Log, Progress *slog.Logger
}

// ingestRun is the result of one way of ingesting.
type ingestRun struct {
	way, name string
	resources int
	elapsed   time.Duration
	// units are the durations of the run's units, shortest first: a
	// bundle's transaction over HTTP (a), the importer's load of a bundle's
	// file, validation included (b), a bundle's store transaction (c).
	units []time.Duration
}

func (r ingestRun) perSec() float64 { return float64(r.resources) / r.elapsed.Seconds() }

// Ingest loads the Synthea bundles three ways, each into a fresh store:
// (a) as transaction Bundles over HTTP from several clients, (b) with
// the bulk importer of "cpms import", and (c) straight into the store,
// without validation or FHIR processing (the index values computed before
// the clock starts): the limit the other two are measured against. (b)
// and (c) load as the importer does (the collector tuned for a load, the
// embedded store's search indexes built at the end); (a) runs the server
// as "cpms serve" does. Besides resources/s, each way prints the latency
// percentiles of its bundles (units): how long an EHR waits for one.
func Ingest(ctx context.Context, opts IngestOptions, w io.Writer) error {
	var bundles [][]byte
	resources := 0
	err := synthea.ReadArchive(opts.Archive, func(_ string, data []byte) error {
		if opts.Bundles > 0 && len(bundles) >= opts.Bundles {
			return nil
		}
		var b struct {
			Entry []json.RawMessage `json:"entry"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			return err
		}
		bundles, resources = append(bundles, data), resources+len(b.Entry)
		return nil
	})
	if err != nil {
		return err
	}
	opts.Progress.Info("read the Synthea bundles", "bundles", len(bundles), "resources", resources)
	tmp, err := os.MkdirTemp("", "cpms-ingest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var runs []ingestRun
	for _, step := range []struct {
		way, name string
		run       func(ctx context.Context, dir string) (ingestRun, error)
	}{
		{"a", "(a) transactions over HTTP", func(ctx context.Context, dir string) (ingestRun, error) {
			return ingestHTTP(ctx, opts, dir, bundles)
		}},
		{"b", "(b) cpms import", func(ctx context.Context, dir string) (ingestRun, error) {
			return ingestImport(ctx, opts, dir, bundles)
		}},
		{"c", "(c) store only", func(ctx context.Context, dir string) (ingestRun, error) {
			return ingestStore(ctx, opts, dir, bundles)
		}},
	} {
		if opts.Ways != "" && !strings.Contains(opts.Ways, step.way) {
			continue
		}
		dir := filepath.Join(tmp, step.way)
		opts.Progress.Info("ingesting", "way", step.name)
		stopProfile, err := startCPUProfile(opts.CPUProfile, step.way)
		if err != nil {
			return err
		}
		r, err := step.run(ctx, dir)
		stopProfile()
		if err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
		r.name, r.way = step.name, step.way
		opts.Progress.Info("ingested", "way", step.name, "resources", r.resources, "seconds", r.elapsed.Seconds())
		runs = append(runs, r)
		os.RemoveAll(dir)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "way\tresources\tseconds\tresources/s\tunits\tp50 ms\tp95 ms\tp99 ms\t")
	for _, r := range runs {
		ms := func(p int) float64 { return float64(quantile(r.units, p)) / float64(time.Millisecond) }
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.0f\t%d\t%.1f\t%.1f\t%.1f\t\n", r.name, r.resources, r.elapsed.Seconds(), r.perSec(),
			len(r.units), ms(50), ms(95), ms(99))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	unit := map[string]string{"a": "its transaction over HTTP (a)", "b": "its file loaded by the importer (b)",
		"c": "its store transaction (c)"}
	var units []string
	for _, r := range runs {
		units = append(units, unit[r.way])
	}
	if _, err := fmt.Fprintf(w, "a unit is a bundle: %s\n", strings.Join(units, ", ")); err != nil {
		return err
	}
	var limit float64
	for _, r := range runs {
		if r.way == "c" {
			limit = r.perSec()
		}
	}
	if limit == 0 {
		return nil
	}
	for _, r := range runs {
		if r.way != "c" {
			if _, err := fmt.Fprintf(w, "%s/c = %.2f   ", r.way, r.perSec()/limit); err != nil {
				return err
			}
		}
	}
	_, err = fmt.Fprintln(w)
	return err
}

// startCPUProfile starts a CPU profile of one way into prefix-way.pprof
// when prefix is set, and returns what stops it.
func startCPUProfile(prefix, way string) (stop func(), err error) {
	if prefix == "" {
		return func() {}, nil
	}
	f, err := os.Create(prefix + "-" + way + ".pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// openEngine opens a fresh store in dir and an engine over it.
func openEngine(ctx context.Context, opts IngestOptions, dir string) (*engine.Engine, engine.Store, error) {
	store, err := openStore(ctx, opts.Log, opts.MongoURI, dir, false)
	if err != nil {
		return nil, nil, err
	}
	eng, err := engine.New(store, engine.Options{Logger: opts.Log})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return eng, store, nil
}

// ingestHTTP posts every bundle as a transaction, from opts.Clients
// clients at once.
func ingestHTTP(ctx context.Context, opts IngestOptions, dir string, bundles [][]byte) (ingestRun, error) {
	eng, store, err := openEngine(ctx, opts, dir)
	if err != nil {
		return ingestRun{}, err
	}
	defer store.Close()
	ts := httptest.NewServer(server.New(eng, server.Options{Logger: opts.Log}))
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.Clients}, Timeout: 10 * time.Minute}
	var stored atomic.Int64
	var units timings
	start := time.Now()
	err = fanOut(opts.Clients, bundles, func(b []byte) error {
		return units.time(func() error {
			n, err := postTransaction(ctx, client, ts.URL+"/fhir", b)
			stored.Add(int64(n))
			return err
		})
	})
	return ingestRun{resources: int(stored.Load()), elapsed: time.Since(start), units: units.sorted()}, err
}

// fanOut calls fn on every item from workers goroutines and returns the
// first error.
func fanOut[T any](workers int, items []T, fn func(T) error) error {
	next := make(chan T)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for it := range next {
				if err := fn(it); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, it := range items {
		next <- it
	}
	close(next)
	wg.Wait()
	return first
}

// postTransaction posts one transaction and returns how many entries it
// stored.
func postTransaction(ctx context.Context, client *http.Client, url string, bundle []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bundle))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Prefer", "return=minimal")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("transaction answered %s: %.300s", resp.Status, body)
	}
	var out struct {
		Entry []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, err
	}
	return len(out.Entry), nil
}

// ingestImport writes the bundles to files and loads them as "cpms
// import" does.
func ingestImport(ctx context.Context, opts IngestOptions, dir string, bundles [][]byte) (ingestRun, error) {
	files := filepath.Join(dir, "files")
	if err := os.MkdirAll(files, 0o750); err != nil {
		return ingestRun{}, err
	}
	for i, b := range bundles {
		if err := os.WriteFile(filepath.Join(files, fmt.Sprintf("%03d.json", i)), b, 0o600); err != nil {
			return ingestRun{}, err
		}
	}
	eng, store, err := openEngine(ctx, opts, filepath.Join(dir, "store"))
	if err != nil {
		return ingestRun{}, err
	}
	defer store.Close()
	list, _, err := bulk.Files([]string{files})
	if err != nil {
		return ingestRun{}, err
	}
	var p bulk.Progress
	var problem error
	// As cpms import does: the search indexes deferred when the store is
	// small compared with the load, and built in the time measured.
	sink := bulk.EngineSink{Engine: eng}
	sink.Indexes, _ = store.(bulk.IndexDeferrer)
	timed := &timedSink{Sink: sink}
	defer bulk.TuneGC()()
	start := time.Now()
	err = sink.Begin(ctx, list)
	if err == nil {
		err = bulk.Load(ctx, list, timed, bulk.Options{Problem: func(pr bulk.Problem) {
			if problem == nil {
				problem = pr
			}
		}}, &p)
	}
	err = errors.Join(err, sink.End(ctx))
	elapsed := time.Since(start)
	if err == nil {
		err = problem
	}
	return ingestRun{resources: int(p.Resources.Load()), elapsed: elapsed, units: timed.units.sorted()}, err
}

// timedSink records how long its sink takes to load each unit.
type timedSink struct {
	bulk.Sink
	units timings
}

func (t *timedSink) Load(ctx context.Context, items []bulk.Item) (errs []error, err error) {
	t.units.time(func() error {
		errs, err = t.Sink.Load(ctx, items)
		return err
	})
	return errs, err
}

// put is a resource for the store alone, with its search values.
type put struct {
	r   *fhir.Resource
	idx *search.Index
}

// ingestStore writes the resources straight into the store, a bundle per
// transaction from opts.Clients writers, with their search values
// computed beforehand.
func ingestStore(ctx context.Context, opts IngestOptions, dir string, bundles [][]byte) (ingestRun, error) {
	store, err := openStore(ctx, opts.Log, opts.MongoURI, dir, false)
	if err != nil {
		return ingestRun{}, err
	}
	defer store.Close()
	x := extract.New(search.NewTable(), extract.Options{})
	prepared := make([][]put, len(bundles))
	total := 0
	seen := map[string]bool{} // the Organizations and Practitioners bundles share
	for i, data := range bundles {
		rs, err := synthea.Resources(data)
		if err != nil {
			return ingestRun{}, err
		}
		for _, r := range rs {
			if ref := string(r.Type) + "/" + string(r.ID); seen[ref] {
				continue
			} else {
				seen[ref] = true
			}
			total++
			idx, err := x.Extract(r.Type, r.Body)
			if err != nil {
				return ingestRun{}, err
			}
			idx.Tokens = append(idx.Tokens, search.Token{Param: "_id", Code: string(r.ID)})
			prepared[i] = append(prepared[i], put{&fhir.Resource{Type: r.Type, ID: r.ID, Version: 1, Method: fhir.MethodPost, Body: r.Body}, idx})
		}
	}
	// The store's fastest bulk write, as cpms import's: the collector
	// tuned for a load, and the search indexes built at the end.
	defer bulk.TuneGC()()
	var size int64
	for _, b := range bundles {
		size += int64(len(b))
	}
	deferrer, _ := store.(bulk.IndexDeferrer)
	start := time.Now()
	if deferrer != nil {
		if _, err := deferrer.DeferIndexes(ctx, size); err != nil {
			return ingestRun{}, err
		}
	}
	var units timings
	err = fanOut(opts.Clients, prepared, func(ps []put) error {
		return units.time(func() error { return writeBundle(ctx, store, ps) })
	})
	if deferrer != nil {
		err = errors.Join(err, deferrer.BuildIndexes(ctx))
	}
	return ingestRun{resources: total, elapsed: time.Since(start), units: units.sorted()}, err
}

// writeBundle writes the resources of one bundle in one store transaction.
func writeBundle(ctx context.Context, store engine.Store, ps []put) error {
	return store.Write(ctx, func(tx engine.Tx) error {
		now := tx.Now()
		for _, p := range ps {
			p.r.LastUpdated = now
			ms := now.UnixMilli()
			idx := *p.idx
			idx.Dates = append(idx.Dates[:len(idx.Dates):len(idx.Dates)], search.Date{Param: "_lastUpdated", Lo: ms, Hi: ms + 1})
			if err := tx.Put(ctx, p.r, &idx); err != nil {
				return err
			}
		}
		return nil
	})
}
