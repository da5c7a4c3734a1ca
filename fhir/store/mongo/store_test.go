package mongo_test

import (
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/store/mongo"
	"github.com/cpms-fhir/cpms/fhir/store/storetest"
	"github.com/cpms-fhir/cpms/internal/ferret"
)

// server is the FerretDB every test of the package uses, one database per
// store.
var server *ferret.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cpms-ferret-")
	if err != nil {
		panic(err)
	}
	server, err = ferret.StartIn(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	code := m.Run()
	server.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var databases atomic.Int64

// open opens a store on a new, empty database.
func open(t testing.TB) *mongo.Store {
	t.Helper()
	s, err := mongo.Open(t.Context(), server.URI(), mongo.Options{
		Database: "t" + strconv.FormatInt(databases.Add(1), 10)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestContract runs the store contract suite on FerretDB.
func TestContract(t *testing.T) {
	opts := storetest.Options{
		SkipAtomicVisibility: "no multi-document transactions: a transaction's versions become visible one by one while it is applied (never after its caller is answered)",
	}
	if testing.Short() {
		// CI runs the package again under the race detector with -short:
		// the search vectors (80% of the suite's time, 20 minutes under
		// the race detector on FerretDB) run sequential code already
		// tested without it, while writes, locks and recovery keep theirs.
		opts.Skip = map[string]string{"Search": "short mode: the search vectors run in the full suite (go test without -short)"}
	}
	storetest.Run(t, func(t *testing.T) engine.Store { return open(t) }, opts)
}
