package engine

import (
	"context"
	"slices"
	"sync"
)

// gate orders the CPU between the preparation of resources (parsing,
// validation, search values), which runs in parallel, and the store's
// writer, which runs one transaction at a time: preparations take one of
// as many slots as there are CPUs, and the writer's work takes one ahead
// of them all, never waiting.
//
// Without it a writer that shares two CPUs with sixteen goroutines
// validating (eight transactions of a bulk load, each preparing its
// entries on two) gets a ninth of a CPU: the transactions that are ready
// pile up behind it, the validations run out, and the CPUs idle until the
// writer catches up. Measured on 100 Synthea bundles over HTTP, the
// writer spent half of the run runnable but not running.
type gate struct {
	mu    sync.Mutex
	slots int
	busy  int
	wait  []chan struct{} // preparations waiting for a slot, first come first
}

func newGate(slots int) *gate { return &gate{slots: max(slots, 2)} }

// enter takes a slot for a preparation, waiting for one if none is free
// (or until ctx ends). The caller calls leave when done.
func (g *gate) enter(ctx context.Context) error {
	g.mu.Lock()
	if g.busy < g.slots && len(g.wait) == 0 {
		g.busy++
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	g.wait = append(g.wait, ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		if i := slices.Index(g.wait, ch); i >= 0 {
			g.wait = slices.Delete(g.wait, i, i+1)
			g.mu.Unlock()
			return ctx.Err()
		}
		g.mu.Unlock()
		g.leave() // the slot came with the cancellation
		return ctx.Err()
	}
}

// enterWriter takes a slot for the writer's work at once, even beyond the
// number of slots: preparations then wait until it leaves.
func (g *gate) enterWriter() {
	g.mu.Lock()
	g.busy++
	g.mu.Unlock()
}

// leave frees a slot, handing it to the first preparation waiting.
func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy--
	for g.busy < g.slots && len(g.wait) > 0 {
		close(g.wait[0])
		g.wait = g.wait[1:]
		g.busy++
	}
}
