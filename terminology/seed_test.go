package terminology

import (
	"runtime"
	"testing"
	"time"
)

func TestLoadSeed(t *testing.T) {
	start := time.Now()
	s := New()
	if err := LoadSeed(s); err != nil {
		t.Fatal(err)
	}
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	t.Logf("seed loaded in %v, %d systems, heap %d MB", time.Since(start), len(s.Systems()), m.HeapAlloc>>20)
	sys, ok := s.System("http://hl7.org/fhir/administrative-gender", "")
	if !ok || !sys.Has("female") {
		t.Fatalf("administrative-gender: %v", ok)
	}
}
