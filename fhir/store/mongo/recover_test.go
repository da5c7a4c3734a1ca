package mongo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/internal/ferret"
)

// TestRecoverCommitted stops transactions at their commit point, as a
// server killed there would: one small (its record inline) and one large
// (its record in chunks). A store opened afterwards on the database
// applies both whole, and the transaction log is empty.
func TestRecoverCommitted(t *testing.T) {
	f := ferret.Start(t)
	ctx := t.Context()
	quiet := slog.New(slog.DiscardHandler)
	a, err := Open(ctx, f.URI(), Options{Logger: quiet, Database: "recover"})
	if err != nil {
		t.Fatal(err)
	}
	errKilled := errors.New("killed at the commit point")
	a.crashAfterCommit = func() error { return errKilled }
	write := func(prefix string, n, size int) {
		t.Helper()
		err := a.Write(ctx, func(tx engine.Tx) error {
			for i := range n {
				id := fhir.ID(fmt.Sprintf("%s%d", prefix, i))
				body := fmt.Sprintf(`{"resourceType":"Patient","id":%q,"text":{"div":%q}}`, id, strings.Repeat("x", size))
				r := &fhir.Resource{Type: "Patient", ID: id, Version: 1, Method: fhir.MethodPost,
					LastUpdated: tx.Now(), Body: []byte(body)}
				idx := &search.Index{Tokens: []search.Token{{Param: "identifier", System: "urn:r", Code: prefix}}}
				if err := tx.Put(ctx, r, idx); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, errKilled) {
			t.Fatalf("Write: %v, want it stopped at the commit point", err)
		}
	}
	write("small", 20, 100)
	write("large", 12, 1<<20) // 12 MiB: two chunks
	if n, err := a.chunks.CountDocuments(ctx, bson.D{}); err != nil || n < 2 {
		t.Fatalf("the large transaction wrote %d chunks (%v), want several", n, err)
	}
	if _, err := a.Read(ctx, "Patient", "small0"); !fhir.IsKind(err, fhir.KindNotFound) {
		t.Fatalf("a transaction stopped at its commit point is applied already: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	b, err := Open(ctx, f.URI(), Options{Logger: quiet, Database: "recover"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, c := range []struct {
		prefix string
		n      int
	}{{"small", 20}, {"large", 12}} {
		for i := range c.n {
			r, err := b.Read(ctx, "Patient", fhir.ID(fmt.Sprintf("%s%d", c.prefix, i)))
			if err != nil || r.Version != 1 {
				t.Fatalf("%s%d after recovery: %v", c.prefix, i, err)
			}
		}
		sys := c.prefix
		res, err := b.Search(ctx, &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 1, Total: search.TotalAccurate,
			Clauses: []search.Clause{{Param: "identifier", Type: search.TypeToken, Values: []search.Value{{System: ptr("urn:r"), Code: sys}}}}})
		if err != nil || res.Total != c.n {
			t.Errorf("search for the %s transaction after recovery: %v, %v; want %d", c.prefix, res, err, c.n)
		}
	}
	page, err := b.History(ctx, engine.HistoryQuery{Count: 100})
	if err != nil || len(page.Versions) != 32 {
		t.Errorf("history after recovery: %v versions (%v), want 32", len(page.Versions), err)
	}
	for _, coll := range []string{collTxLog, collTxChunks} {
		if n, err := b.db.Collection(coll).CountDocuments(ctx, bson.D{}); err != nil || n != 0 {
			t.Errorf("%s holds %d documents after recovery (%v), want none", coll, n, err)
		}
	}
	// A lock left by a killed writer is broken once its lease has run out.
	if _, err := b.locks.InsertOne(ctx, &lockDoc{ID: "Patient/small0", Kind: lockResource, Owner: "killed", Tx: "gone",
		Exp: time.Now().Add(-time.Second).UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err = b.Write(wctx, func(tx engine.Tx) error {
		r := &fhir.Resource{Type: "Patient", ID: "small0", Version: 2, Method: fhir.MethodPut, LastUpdated: tx.Now(),
			Body: []byte(`{"resourceType":"Patient","id":"small0"}`)}
		return tx.Put(wctx, r, &search.Index{})
	})
	if err != nil {
		t.Fatalf("a write past an expired lock: %v", err)
	}
}

func ptr(s string) *string { return &s }
