package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cpms-fhir/cpms/internal/bench"
)

// benchCmd runs "cpms bench <name>".
func benchCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "ingest" {
		return benchIngest(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "terminology" {
		return benchTerminology(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "search" {
		fmt.Fprintln(stderr, "usage: cpms bench search|ingest|terminology [flags]   (cpms bench search -h for the flags)")
		return 2
	}
	fs := flag.NewFlagSet("bench search", flag.ContinueOnError)
	fs.SetOutput(stderr)
	archive := fs.String("synthea", "../shared/data/fhir/synthea-r4.tar.gz", "the Synthea sample archive the patients are made from")
	sizes := fs.String("patients", "1000,10000", "data set sizes to measure, comma-separated")
	dir := fs.String("dir", "", "keep the loaded stores here and reuse them on later runs (default: a temporary directory)")
	requests := fs.Int("requests", 200, "requests per query and data set for the latency percentiles, sent one at a time to each data set in turn")
	clients := fs.Int("clients", 8, "concurrent clients for the throughput run")
	duration := fs.Duration("duration", 3*time.Second, "length of each throughput run")
	mongoURI := fs.String("mongodb-uri", "", "run on MongoDB (a database per size) instead of the embedded store")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var patients []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "cpms bench search: bad size %q\n", s)
			return 2
		}
		patients = append(patients, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	progress := slog.New(slog.NewTextHandler(stderr, nil))
	err := bench.Search(ctx, bench.SearchOptions{Archive: *archive, Patients: patients, Dir: *dir,
		Requests: *requests, Clients: *clients, Duration: *duration, MongoURI: *mongoURI, Log: log, Progress: progress}, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "cpms bench search:", err)
		return 1
	}
	return 0
}

// benchIngest runs "cpms bench ingest": the Synthea bundles loaded as
// HTTP transactions, with the bulk importer, and straight into the store.
func benchIngest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	archive := fs.String("synthea", "../shared/data/fhir/synthea-r4.tar.gz", "the Synthea sample archive")
	clients := fs.Int("clients", 8, "concurrent HTTP clients, and concurrent writers to the store alone")
	bundles := fs.Int("bundles", 0, "load only the first N bundles of the archive (0: all)")
	mongoURI := fs.String("mongodb-uri", "", "run on MongoDB (a database per way, emptied first) instead of the embedded store")
	ways := fs.String("ways", "abc", "the ways to run: a (HTTP transactions), b (cpms import), c (store only)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of each way to `PREFIX`-a.pprof, ...")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if strings.Trim(*ways, "abc") != "" || *ways == "" {
		fmt.Fprintf(stderr, "cpms bench ingest: --ways %q: give some of a, b and c\n", *ways)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	progress := slog.New(slog.NewTextHandler(stderr, nil))
	err := bench.Ingest(ctx, bench.IngestOptions{Archive: *archive, Clients: *clients, Bundles: *bundles,
		MongoURI: *mongoURI, Ways: *ways, CPUProfile: *cpuProfile, Log: log, Progress: progress}, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "cpms bench ingest:", err)
		return 1
	}
	return 0
}

// benchTerminology runs "cpms bench terminology": start-up and memory
// with the terminology seed, and the latency of the terminology
// operations.
func benchTerminology(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench terminology", flag.ContinueOnError)
	fs.SetOutput(stderr)
	requests := fs.Int("requests", 500, "requests per operation for the latency percentiles")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "cpms bench terminology:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	progress := slog.New(slog.NewTextHandler(stderr, nil))
	if err := bench.Terminology(ctx, bench.TerminologyOptions{Binary: self, Requests: *requests, Progress: progress}, stdout); err != nil {
		fmt.Fprintln(stderr, "cpms bench terminology:", err)
		return 1
	}
	return 0
}
