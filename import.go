package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/importers/bulk"
)

// importCmd runs "cpms import PATH...": load Bundles and NDJSON files
// into the embedded store (the server stopped) or, with --url, into a
// running server. The exit status is 0 when every resource loaded, 1 when
// some did not (each is reported), 2 for bad usage.
func importCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var where storeFlags
	where.add(fs, "data directory of the embedded store; the server must be stopped")
	base := fs.String("base-url", env("CPMS_BASE_URL", ""), "public base URL of the FHIR API, as the server runs with (CPMS_BASE_URL)")
	url := fs.String("url", "", "FHIR base URL of a running server to load into (http://host:8080/fhir) instead of --data")
	chunk := fs.Int("chunk", 500, "NDJSON lines loaded together")
	workers := fs.Int("workers", 4, "files or chunks loaded at once")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: cpms import [flags] PATH...

Loads FHIR Bundles (.json) and NDJSON files (.ndjson, one resource per
line), gzip (.gz) or bzip2 (.bz2) compressed or not, and directories of
them. Resources keep their ids (or get one from their Bundle entry's
uuid, their first identifier or their content), so importing the same
files again stores no duplicates. Into an embedded store smaller than the
files, the search indexes are built at the end of the load (a killed
import leaves them to be built when the store next opens).

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	files, total, err := bulk.Files(fs.Args())
	if err != nil {
		fmt.Fprintln(stderr, "cpms import:", err)
		return 2
	}
	log, err := newLogger(stderr, "info", "text")
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	sink, closeSink, err := openSink(ctx, log, *url, &where, *base)
	if err != nil {
		fmt.Fprintln(stderr, "cpms import:", err)
		return 1
	}
	defer closeSink()
	var p bulk.Progress
	problems := 0
	const listed = 200
	// On a terminal the problems wait for the end, not to break the bar.
	terminal := isTerminal(stderr)
	var later []string
	opts := bulk.Options{Chunk: *chunk, Workers: *workers, Problem: func(pr bulk.Problem) {
		if problems++; problems > listed {
			return
		}
		if terminal {
			later = append(later, pr.Error())
			return
		}
		fmt.Fprintln(stderr, "not loaded:", pr.Error())
	}}
	start := time.Now()
	done := make(chan struct{})
	shown := make(chan struct{})
	go func() {
		showProgress(stderr, terminal, &p, total, start, done)
		close(shown)
	}()
	defer bulk.TuneGC()()
	es, direct := sink.(bulk.EngineSink)
	if direct {
		err = es.Begin(ctx, files)
	}
	if err == nil {
		err = bulk.Load(ctx, files, sink, opts, &p)
	}
	close(done)
	<-shown
	if direct {
		// The search indexes a large load deferred are built even when
		// the load stopped; if interrupted, when the store next opens.
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "cpms import: interrupted; search indexes it deferred are built when the store next opens")
		} else {
			err = errors.Join(err, es.End(ctx))
		}
	}
	for _, l := range later {
		fmt.Fprintln(stderr, "not loaded:", l)
	}
	elapsed := time.Since(start)
	n := p.Resources.Load()
	fmt.Fprintf(stdout, "loaded %d resources from %d files in %s (%.0f resources/s); %d not loaded\n",
		n, len(files), elapsed.Round(time.Millisecond), float64(n)/max(elapsed.Seconds(), 1e-9), p.Problems.Load())
	if problems > listed {
		fmt.Fprintf(stderr, "(%d more not loaded; the first %d are listed)\n", problems-listed, listed)
	}
	if err != nil {
		fmt.Fprintln(stderr, "cpms import: stopped:", err)
		return 1
	}
	if p.Problems.Load() > 0 {
		return 1
	}
	return 0
}

// openSink returns where an import writes: the running server at url,
// or else the store itself: the embedded store in the data directory (the
// server stopped) or MongoDB (servers may run). The returned function
// closes what was opened.
func openSink(ctx context.Context, log *slog.Logger, url string, where *storeFlags, base string) (bulk.Sink, func(), error) {
	if url != "" {
		return bulk.HTTPSink{Base: url, Client: &http.Client{Timeout: 30 * time.Minute}}, func() {}, nil
	}
	store, err := where.open(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	eng, err := engine.New(store, engine.Options{Logger: log, Base: base})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	sink := bulk.EngineSink{Engine: eng}
	sink.Indexes, _ = store.(bulk.IndexDeferrer)
	return sink, func() { store.Close() }, nil
}

// showProgress draws a progress bar on a terminal (input consumed,
// resources, resources/s, problems, time left), or logs a line every 10
// seconds otherwise, until done.
func showProgress(w io.Writer, terminal bool, p *bulk.Progress, total int64, start time.Time, done <-chan struct{}) {
	rate := func() float64 { return float64(p.Resources.Load()) / max(time.Since(start).Seconds(), 1e-9) }
	if terminal {
		bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(), progressbar.OptionSetPredictTime(true))
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				bar.Set64(total)
				bar.Finish()
				return
			case <-tick.C:
				bar.Describe(fmt.Sprintf("%d resources, %.0f/s, %d not loaded", p.Resources.Load(), rate(), p.Problems.Load()))
				bar.Set64(p.Read.Load())
			}
		}
	}
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			read := p.Read.Load()
			eta := "unknown"
			if read > 0 && total > 0 {
				el := time.Since(start)
				eta = (time.Duration(float64(el) * float64(total-read) / float64(read))).Round(time.Second).String()
			}
			fmt.Fprintf(w, "import: %d resources (%.0f/s), %d not loaded, %.0f%% of the input read, about %s left\n",
				p.Resources.Load(), rate(), p.Problems.Load(), 100*float64(read)/float64(max(total, 1)), eta)
		}
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
