package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// BenchmarkEngineCreate measures a create without HTTP: JSON rules,
// validation, indexing and the store, from 8 goroutines. Set beside the
// server's BenchmarkHTTPCreate it shows what HTTP adds.
func BenchmarkEngineCreate(b *testing.B) {
	e := newEngine(b, nil)
	ctx := context.Background()
	b.SetParallelism(4)
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Create(ctx, "Patient", testfixture.Patient, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}
