package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// reindex runs "cpms reindex": recompute the search values of stored
// resources, with the server stopped (it holds the data directory).
func reindex(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var where storeFlags
	where.add(fs, "data directory of the embedded store")
	base := fs.String("base-url", env("CPMS_BASE_URL", ""), "public base URL of the FHIR API, as the server runs with (CPMS_BASE_URL)")
	typeList := fs.String("type", "", "resource types to reindex, comma-separated (default: all)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var types []fhir.ResourceType
	for _, t := range strings.Split(*typeList, ",") {
		if t = strings.TrimSpace(t); t != "" {
			if err := engine.CheckType(fhir.ResourceType(t)); err != nil {
				fmt.Fprintf(stderr, "cpms reindex: unknown resource type %q\n", t)
				return 2
			}
			types = append(types, fhir.ResourceType(t))
		}
	}
	log, err := newLogger(stderr, "info", "text")
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	store, err := where.open(ctx, log)
	if err != nil {
		fmt.Fprintln(stderr, "cpms reindex:", err)
		return 1
	}
	defer store.Close()
	eng, err := engine.New(store, engine.Options{Logger: log, Base: *base})
	if err != nil {
		fmt.Fprintln(stderr, "cpms reindex:", err)
		return 1
	}
	start := time.Now()
	n, err := eng.Backfill(ctx, types)
	if err != nil {
		fmt.Fprintln(stderr, "cpms reindex:", err)
		return 1
	}
	fmt.Fprintf(stdout, "reindexed %d resources in %s\n", n, time.Since(start).Round(time.Millisecond))
	return 0
}
