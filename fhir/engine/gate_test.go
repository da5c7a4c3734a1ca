package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGateBoundsPreparations: no more preparations run at once than there
// are slots, however many ask.
func TestGateBoundsPreparations(t *testing.T) {
	g := newGate(3)
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if err := g.enter(t.Context()); err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			g.leave()
		})
	}
	wg.Wait()
	if m := most.Load(); m != 3 {
		t.Errorf("%d preparations ran at once, want 3", m)
	}
	if g.busy != 0 || len(g.wait) != 0 {
		t.Errorf("after all left: %d busy, %d waiting", g.busy, len(g.wait))
	}
}

// TestGateWriterFirst: the writer enters while every slot is taken, and
// the preparations that wait then start only once it has left.
func TestGateWriterFirst(t *testing.T) {
	g := newGate(2)
	ctx := t.Context()
	for range 2 {
		if err := g.enter(ctx); err != nil {
			t.Fatal(err)
		}
	}
	entered := make(chan struct{})
	go func() {
		g.enterWriter()
		close(entered)
	}()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the writer waited for a slot")
	}
	started := make(chan struct{})
	go func() {
		if err := g.enter(ctx); err == nil {
			close(started)
		}
	}()
	g.leave() // a preparation ends: the writer still holds its slot
	select {
	case <-started:
		t.Fatal("a preparation started while the writer and another preparation held the slots")
	case <-time.After(50 * time.Millisecond):
	}
	g.leave() // the writer ends
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting preparation did not start when the writer left")
	}
}

// TestGateCancel: a preparation whose context ends while it waits gives
// up without taking a slot.
func TestGateCancel(t *testing.T) {
	g := newGate(2)
	for range 2 {
		if err := g.enter(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := g.enter(ctx); err == nil {
		t.Fatal("enter returned without a free slot")
	}
	g.leave()
	g.leave()
	if g.busy != 0 || len(g.wait) != 0 {
		t.Errorf("after the cancelled wait: %d busy, %d waiting", g.busy, len(g.wait))
	}
}
