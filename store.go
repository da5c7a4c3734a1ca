package main

import (
	"context"
	"flag"
	"log/slog"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/store/mongo"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
)

// storeFlags are the flags that choose the store: the embedded SQLite
// store in a data directory, or a MongoDB deployment.
type storeFlags struct {
	data     string
	mongoURI string
}

// add registers the flags on fs; what is the data directory's use in the
// command ("data directory of the embedded store, created if absent").
func (f *storeFlags) add(fs *flag.FlagSet, what string) {
	fs.StringVar(&f.data, "data", env("CPMS_DATA", "./cpms-data"), what+" (CPMS_DATA)")
	fs.StringVar(&f.mongoURI, "mongodb-uri", env("CPMS_MONGODB_URI", ""),
		"MongoDB connection string (mongodb:// or mongodb+srv://, the database in its path, default \"cpms\"): store everything in MongoDB instead of --data (CPMS_MONGODB_URI)")
}

// where describes the store for the log.
func (f *storeFlags) where() []any {
	if f.mongoURI != "" {
		return []any{"store", "mongodb"}
	}
	return []any{"store", "sqlite", "data", f.data}
}

// open opens the store the flags choose.
func (f *storeFlags) open(ctx context.Context, log *slog.Logger) (engine.Store, error) {
	if f.mongoURI != "" {
		return mongo.Open(ctx, f.mongoURI, mongo.Options{Logger: log})
	}
	return sqlite.Open(ctx, f.data, sqlite.Options{Logger: log})
}

// releaseIdle lets a store give back the memory its start-up scans used,
// when it can.
func releaseIdle(s engine.Store) {
	if r, ok := s.(interface{ ReleaseIdle() }); ok {
		r.ReleaseIdle()
	}
}
