package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// op is what one transaction of a test batch does.
type op int

const (
	opPut       op = iota // writes the next version of its resource
	opFailClean           // reads its resource, then fails
	opFailDirty           // writes the next version, then fails
	opSearchPut           // searches (which writes the batch's counts), then writes
)

// batchReq is a transaction of a test batch and the times its function
// ran.
type batchReq struct {
	req   *writeReq
	op    op
	id    string
	calls int
}

// runTestBatch runs the transactions as one group commit, as Write does
// when they were queued together.
func runTestBatch(t *testing.T, s *Store, reqs []*batchReq) {
	t.Helper()
	runBatchLocked(s, makeBatch(t, reqs))
}

func runBatchLocked(s *Store, batch []*writeReq) {
	s.writer <- struct{}{}
	s.runBatch(batch)
	<-s.writer
}

// makeBatch makes the write requests of reqs.
func makeBatch(t *testing.T, reqs []*batchReq) []*writeReq {
	ctx := t.Context()
	batch := make([]*writeReq, len(reqs))
	for i, br := range reqs {
		br.req = newWriteReq(ctx, func(tx engine.Tx) error {
			br.calls++
			cur, err := tx.Read(ctx, "Patient", fhir.ID(br.id))
			var version int64
			switch {
			case err == nil:
				version = cur.Version
			case !fhir.IsKind(err, fhir.KindNotFound):
				return err
			}
			if br.op == opFailClean {
				return errors.New("clean failure")
			}
			if br.op == opSearchPut {
				if _, err := tx.Search(ctx, &search.Query{Types: []fhir.ResourceType{"Patient"}, Count: 1}); err != nil {
					return err
				}
			}
			r := &fhir.Resource{Type: "Patient", ID: fhir.ID(br.id), Version: version + 1, Method: fhir.MethodPut,
				LastUpdated: tx.Now(), Body: []byte(`{}`)}
			idx := &search.Index{Tokens: []search.Token{{Param: "gender", Code: fmt.Sprint(version % 3)}}}
			if err := tx.Put(ctx, r, idx); err != nil {
				return err
			}
			if br.op == opFailDirty {
				return errors.New("dirty failure")
			}
			return nil
		})
		batch[i] = br.req
	}
	return batch
}

// TestGroupCommitFailures runs batches of transactions that succeed or
// fail, before or after they wrote, and checks that exactly the
// successful ones are committed, each answered once, with counts exact,
// and that a batch reruns (with savepoints) only when a transaction
// fails after writing with a successful one before it.
func TestGroupCommitFailures(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	version := map[string]int64{}
	check := func(name string, reqs []*batchReq, rerun bool) {
		t.Helper()
		for _, br := range reqs {
			if !br.req.done {
				t.Fatalf("%s: %s (op %d) not answered", name, br.id, br.op)
			}
			fails := br.op == opFailClean || br.op == opFailDirty
			if (br.req.err != nil) != fails {
				t.Fatalf("%s: %s (op %d): error %v", name, br.id, br.op, br.req.err)
			}
			if !fails {
				version[br.id]++
			}
			maxCalls := 1
			if rerun {
				maxCalls = 2
			}
			if br.calls < 1 || br.calls > maxCalls {
				t.Errorf("%s: %s (op %d) ran %d times, want 1..%d", name, br.id, br.op, br.calls, maxCalls)
			}
		}
		for id, v := range version {
			r, err := s.Read(ctx, "Patient", fhir.ID(id))
			if err != nil || r.Version != v {
				t.Fatalf("%s: Patient/%s: %v, version %v, want %d", name, id, err, r, v)
			}
		}
		checkCounts(t, s)
	}

	// Fixed cases: which need the rerun.
	for _, c := range []struct {
		name  string
		ops   []op
		rerun bool
	}{
		{"successes", []op{opPut, opPut, opSearchPut}, false},
		{"clean failure between successes", []op{opPut, opFailClean, opPut}, false},
		{"dirty failure first", []op{opFailDirty, opPut, opSearchPut}, false},
		{"dirty failures first", []op{opFailDirty, opFailClean, opFailDirty, opPut}, false},
		{"lone dirty failure", []op{opFailDirty}, false},
		{"dirty failure after a success", []op{opPut, opFailDirty, opPut}, true},
		{"dirty failure last", []op{opPut, opSearchPut, opFailDirty}, true},
	} {
		var reqs []*batchReq
		for i, o := range c.ops {
			reqs = append(reqs, &batchReq{op: o, id: fmt.Sprintf("%s-%d", c.name, i)})
		}
		runTestBatch(t, s, reqs)
		check(c.name, reqs, c.rerun)
		if !c.rerun {
			for _, br := range reqs {
				if br.calls != 1 {
					t.Errorf("%s: %s ran %d times without a rerun", c.name, br.id, br.calls)
				}
			}
		}
	}

	// Random batches on a few resources, several transactions on one.
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 200 {
		var reqs []*batchReq
		for range 1 + rng.IntN(6) {
			reqs = append(reqs, &batchReq{op: op(rng.IntN(4)), id: fmt.Sprint("r", rng.IntN(4))})
		}
		runTestBatch(t, s, reqs)
		check(fmt.Sprint("batch ", i), reqs, true)
	}
}

// TestGroupCommitCancelled: a transaction whose request ended before its
// turn does not run, and the others are committed.
func TestGroupCommitCancelled(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	cancelled := newWriteReq(ctx, func(engine.Tx) error { t.Error("a cancelled transaction ran"); return nil })
	reqs := []*batchReq{{op: opPut, id: "a"}, {op: opFailDirty, id: "b"}}
	runBatchLocked(s, append([]*writeReq{cancelled}, makeBatch(t, reqs)...))
	if !cancelled.done || !errors.Is(cancelled.err, context.Canceled) {
		t.Errorf("cancelled request: done %v, %v", cancelled.done, cancelled.err)
	}
	if !reqs[0].req.done || reqs[0].req.err != nil || !reqs[1].req.done || reqs[1].req.err == nil {
		t.Fatalf("answers: %+v %+v", reqs[0].req, reqs[1].req)
	}
	if r, err := s.Read(t.Context(), "Patient", "a"); err != nil || r.Version != 1 {
		t.Fatalf("Patient/a: %v %v", r, err)
	}
	if _, err := s.Read(t.Context(), "Patient", "b"); !fhir.IsKind(err, fhir.KindNotFound) {
		t.Fatalf("Patient/b: %v", err)
	}
	checkCounts(t, s)
}

// TestGroupCommitConcurrent writes from eight goroutines at once, so that
// group commits form as they do under load, with transactions that fail
// before and after writing: every resource ends at the version its
// successful writes make, and the counts are exact.
func TestGroupCommitConcurrent(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	const writers, perWriter = 8, 150
	var mu sync.Mutex
	succeeded := map[string]int64{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for range perWriter {
				o := op(rng.IntN(4))
				id := fmt.Sprint("c", rng.IntN(10))
				br := &batchReq{op: o, id: id}
				req := makeBatch(t, []*batchReq{br})[0]
				err := s.Write(ctx, req.fn)
				fails := o == opFailClean || o == opFailDirty
				if (err != nil) != fails {
					t.Errorf("op %d on %s: %v", o, id, err)
					return
				}
				if !fails {
					mu.Lock()
					succeeded[id]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for id, n := range succeeded {
		r, err := s.Read(ctx, "Patient", fhir.ID(id))
		if err != nil || r.Version != n {
			t.Errorf("Patient/%s: %v, version %v, want %d", id, err, r, n)
		}
	}
	checkCounts(t, s)
}

// BenchmarkGroupRerun measures the slow path of a group commit: two large
// transactions (1,000 resources of 24 index rows each) succeed and a third
// fails after writing, so the group runs again, each transaction in a
// savepoint. Its cost must grow with the rows written, not with their
// square (see insertSQL).
func BenchmarkGroupRerun(b *testing.B) {
	s := openTest(b, b.TempDir())
	defer s.Close()
	ctx := b.Context()
	const resources = 1000
	n := 0
	large := func(fail bool) *writeReq {
		n++
		prefix := fmt.Sprint(n, "-")
		return newWriteReq(ctx, func(tx engine.Tx) error {
			for i := range resources {
				r := &fhir.Resource{Type: "Observation", ID: fhir.ID(prefix + fmt.Sprint(i)), Version: 1,
					Method: fhir.MethodPut, LastUpdated: tx.Now(), Body: []byte(`{}`)}
				idx := &search.Index{}
				for j := range 12 {
					v := fmt.Sprint(i, "-", j)
					idx.Tokens = append(idx.Tokens, search.Token{Param: "code", System: "http://loinc.org", Code: v})
					idx.Strings = append(idx.Strings, search.String{Param: "name", Value: v, Exact: v})
				}
				if err := tx.Put(ctx, r, idx); err != nil {
					return err
				}
			}
			if fail {
				return errors.New("dirty failure")
			}
			return nil
		})
	}
	for b.Loop() {
		batch := []*writeReq{large(false), large(false), large(true)}
		runBatchLocked(s, batch)
		if batch[0].err != nil || batch[1].err != nil || batch[2].err == nil {
			b.Fatalf("outcomes: %v, %v, %v", batch[0].err, batch[1].err, batch[2].err)
		}
	}
	b.ReportMetric(float64(3*resources*b.N)/b.Elapsed().Seconds(), "resources/s")
}
