package bulk

import (
	"os"
	"runtime/debug"
	"testing"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestTuneGC: a load collects at five times the live heap under a soft
// limit, and the settings come back after it; settings the environment
// gives are left alone.
func TestTuneGC(t *testing.T) {
	for _, name := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	percent, limit := gcPercent(), debug.SetMemoryLimit(-1)
	restore := TuneGC()
	if p, l := gcPercent(), debug.SetMemoryLimit(-1); p != loadGCPercent || l != loadMemoryLimit {
		t.Errorf("during a load: GOGC %d, limit %d", p, l)
	}
	restore()
	if p, l := gcPercent(), debug.SetMemoryLimit(-1); p != percent || l != limit {
		t.Errorf("after a load: GOGC %d, limit %d; want %d, %d", p, l, percent, limit)
	}

	t.Setenv("GOGC", "150")
	restore = TuneGC()
	if p := gcPercent(); p != percent {
		t.Errorf("with GOGC set, during a load: %d, want %d", p, percent)
	}
	restore()
}
