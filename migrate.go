package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/store/mongo"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
)

// migrate runs "cpms migrate": copy the embedded store, every version of
// every resource and the server settings, into MongoDB, then compute the
// search values there. The server must be stopped (it holds the data
// directory); running the command again after an interruption completes
// the copy without duplicating anything.
func migrate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", env("CPMS_DATA", "./cpms-data"), "data directory of the embedded store to copy (CPMS_DATA); the server must be stopped")
	to := fs.String("to", env("CPMS_MONGODB_URI", ""), "MongoDB connection string to copy into, the database in its path (default \"cpms\") (CPMS_MONGODB_URI)")
	base := fs.String("base-url", env("CPMS_BASE_URL", ""), "public base URL of the FHIR API, as the server runs with (CPMS_BASE_URL)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: cpms migrate --data DIR --to mongodb://HOST/DB

Copies the embedded store into MongoDB: every version of every resource
(ids, versions and lastUpdated kept), and the server settings; then
computes the search values in MongoDB. Then run the servers with
--mongodb-uri. Running it again completes an interrupted copy.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *to == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	log, err := newLogger(stderr, "warn", "text")
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runMigrate(ctx, log, *data, *to, *base, stdout); err != nil {
		fmt.Fprintln(stderr, "cpms migrate:", err)
		return 1
	}
	return 0
}

// runMigrate copies the store in data into the MongoDB at uri.
func runMigrate(ctx context.Context, log *slog.Logger, data, uri, base string, stdout io.Writer) error {
	src, err := sqlite.Open(ctx, data, sqlite.Options{Logger: log})
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := mongo.Open(ctx, uri, mongo.Options{Logger: log})
	if err != nil {
		return err
	}
	defer dst.Close()
	start := time.Now()
	c := dst.NewCopier()
	versions := 0
	q := engine.HistoryQuery{Count: 1000}
	for {
		page, err := src.History(ctx, q)
		if err != nil {
			return err
		}
		if err := c.Copy(ctx, page.Versions); err != nil {
			return err
		}
		versions += len(page.Versions)
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	settings, err := src.Settings(ctx)
	if err != nil {
		return err
	}
	if err := c.CopySettings(ctx, settings); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d versions and %d settings in %s\n", versions, len(settings), time.Since(start).Round(time.Millisecond))
	eng, err := engine.New(dst, engine.Options{Logger: log, Base: base})
	if err != nil {
		return err
	}
	start = time.Now()
	n, err := eng.Backfill(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "indexed %d current resources in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
