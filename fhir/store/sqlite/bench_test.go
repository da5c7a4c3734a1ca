package sqlite

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/extract"
	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// The store benchmarks measure the embedded store alone (no validation, no
// HTTP): the floor under the server's figures. Run with
//
//	go test -run '^$' -bench . ./fhir/store/sqlite/

// tempStore opens a store in a temporary directory, closed at the end of
// the test or benchmark.
func tempStore(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(context.Background(), tb.TempDir(), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// benchIndex is the search index of the fixture Patient, as the engine
// extracts it: 38 rows (12 tokens, 24 strings, a date, a reference).
var benchIndex = func() *search.Index {
	idx, err := extract.New(search.NewTable(), extract.Options{}).Extract("Patient", testfixture.Patient)
	if err != nil {
		panic(err)
	}
	return idx
}()

// put writes the next version of Patient/id with the fixture body.
func put(ctx context.Context, s *Store, id fhir.ID) error {
	return s.Write(ctx, func(tx engine.Tx) error {
		var v int64 = 1
		if cur, err := tx.Read(ctx, "Patient", id); err == nil {
			v = cur.Version + 1
		} else if !fhir.IsKind(err, fhir.KindNotFound) {
			return err
		}
		r := &fhir.Resource{Type: "Patient", ID: id, Version: v, Method: fhir.MethodPut, LastUpdated: tx.Now(), Body: testfixture.Patient}
		return tx.Put(ctx, r, benchIndex)
	})
}

func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

func BenchmarkStoreCreate(b *testing.B) {
	s := tempStore(b)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := put(ctx, s, fhir.ID(fmt.Sprint("p", n.Add(1)))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, start)
}

func BenchmarkStoreUpdate(b *testing.B) {
	s := tempStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if err := put(ctx, s, "p"); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, start)
}

func preload(b *testing.B, s *Store, n int) {
	ctx := context.Background()
	for i := range n {
		if err := put(ctx, s, fhir.ID(fmt.Sprint("p", i))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreRead(b *testing.B) {
	s := tempStore(b)
	const n = 10000
	preload(b, s, n)
	ctx := context.Background()
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Read(ctx, "Patient", fhir.ID(fmt.Sprint("p", rand.IntN(n)))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, start)
}

func BenchmarkStoreVRead(b *testing.B) {
	s := tempStore(b)
	const n = 10000
	preload(b, s, n)
	ctx := context.Background()
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.VRead(ctx, "Patient", fhir.ID(fmt.Sprint("p", rand.IntN(n))), 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, start)
}
