// Package teststore opens the store that tests run on, so that the same
// REST, search and bundle tests run on every adapter:
//
//	CPMS_TEST_STORE=sqlite   (default) the embedded store, in t.TempDir()
//	CPMS_TEST_STORE=mongodb  the MongoDB adapter, on CPMS_TEST_MONGODB_URI
//	                         when set (a real MongoDB), else on an embedded
//	                         FerretDB started once per test binary
//
// Each store gets a new, empty database.
package teststore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/store/mongo"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
	"github.com/cpms-fhir/cpms/internal/ferret"
)

// Kind returns the adapter the tests run on: "sqlite" or "mongodb".
func Kind() string {
	if os.Getenv("CPMS_TEST_STORE") == "mongodb" {
		return "mongodb"
	}
	return "sqlite"
}

// OnFerretDB reports whether the tests run on the embedded FerretDB.
func OnFerretDB() bool { return Kind() == "mongodb" && os.Getenv("CPMS_TEST_MONGODB_URI") == "" }

// SkipOnFerretDB skips the test when it runs on FerretDB, which lacks
// what the test relies on (why).
func SkipOnFerretDB(t testing.TB, why string) {
	t.Helper()
	if OnFerretDB() {
		t.Skip("FerretDB: " + why)
	}
}

var (
	ferretOnce sync.Once
	ferretSrv  *ferret.Server
	ferretErr  error
	databases  atomic.Int64
)

// MongoURI returns the URI of the MongoDB the tests use: the real one of
// CPMS_TEST_MONGODB_URI, or the embedded FerretDB (started on first use,
// stopped when the process exits).
func MongoURI(t testing.TB) string {
	t.Helper()
	if uri := os.Getenv("CPMS_TEST_MONGODB_URI"); uri != "" {
		return uri
	}
	ferretOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cpms-ferretdb-")
		if err != nil {
			ferretErr = err
			return
		}
		ferretSrv, ferretErr = ferret.StartIn(dir, slog.New(slog.DiscardHandler))
	})
	if ferretErr != nil {
		t.Fatalf("FerretDB: %v", ferretErr)
	}
	return ferretSrv.URI()
}

// Database returns a database name not used before by this process.
func Database() string {
	return fmt.Sprintf("test%d_%d", os.Getpid(), databases.Add(1))
}

// Open opens a new, empty store of the kind the tests run on. The caller
// closes it.
func Open(t testing.TB, log *slog.Logger) engine.Store {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if Kind() == "mongodb" {
		s, err := mongo.Open(ctx, MongoURI(t), mongo.Options{Logger: log, Database: Database()})
		if err != nil {
			t.Fatalf("open the MongoDB store: %v", err)
		}
		return s
	}
	s, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Logger: log})
	if err != nil {
		t.Fatalf("open the SQLite store: %v", err)
	}
	return s
}
