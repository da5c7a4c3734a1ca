// Command ferretdb runs an embedded FerretDB (a MongoDB wire-protocol
// server with its data in SQLite files) until interrupted, for running the
// server or the benchmarks on the MongoDB adapter on a machine without
// MongoDB:
//
//	go run ./internal/cmd/ferretdb -dir /tmp/ferret &
//	cpms bench ingest --mongodb-uri mongodb://127.0.0.1:27017/ --bundles 5 --clients 1
//
// FerretDB is a test server: it never uses an index, and its SQLite
// backend refuses concurrent writers at times ("database is locked"), so
// its figures say nothing of MongoDB's speed.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cpms-fhir/cpms/internal/ferret"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:27017", "listen address")
	dir := flag.String("dir", "./ferretdb-data", "data directory (created if absent)")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o750); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	s, err := ferret.StartAt(*addr, *dir, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "ferretdb: serving %s from %s\n", s.URI(), *dir)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	s.Stop()
}
