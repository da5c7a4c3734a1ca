package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

var concurrencyTests = []test{
	{"ReadModifyWrite", needAtomicConcurrency, testReadModifyWrite},
	{"ConditionalCreate", needAtomicConcurrency, testConditionalCreate},
	{"IndependentWriters", needNothing, testIndependentWriters},
	{"ReadersSeeCommittedStates", needNothing, testReadersSeeCommittedStates},
	{"ReadersSeeWholeTransactions", needAtomicVisibility, testReadersSeeWholeTransactions},
	{"CountsThroughFailures", needAtomicConcurrency, testCountsThroughFailures},
}

// testReadModifyWrite races writers that each read a resource and put its
// next version (or create it): no update may be lost, so the writers end
// with versions 1 to N, one each, all in history with their bodies.
func testReadModifyWrite(t *testing.T, s engine.Store) {
	const writers = 16
	ctx := t.Context()
	wrote := make([]*fhir.Resource, writers)
	errs := make([]error, writers)
	race(writers, func(g int) {
		errs[g] = writeRetry(ctx, s, func(tx engine.Tx) error {
			wrote[g] = nil
			v := int64(1)
			cur, err := tx.Read(ctx, patient, "counter")
			switch {
			case err == nil:
				v = cur.Version + 1
			case !fhir.IsKind(err, fhir.KindNotFound):
				return err
			}
			r, idx := newVersion(patient, "counter", v, ident("urn:writer", itoa(int64(g))))
			if err := stampPut(ctx, tx, r, idx); err != nil {
				return err
			}
			wrote[g] = r
			return nil
		})
	})
	byVersion := make([]*fhir.Resource, writers)
	for g, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", g, err)
		}
		v := wrote[g].Version
		if v < 1 || v > writers || byVersion[v-1] != nil {
			t.Fatalf("writers wrote versions %v, want each of 1 to %d once", keys(wrote), writers)
		}
		byVersion[v-1] = wrote[g]
	}
	checkVersion(t, "Read", mustRead(t, s, patient, "counter"), byVersion[writers-1])
	for _, want := range byVersion {
		got, err := s.VRead(ctx, patient, "counter", want.Version)
		if err != nil {
			t.Fatalf("VRead %d: %v", want.Version, err)
		}
		checkVersion(t, "VRead", got, want)
	}
	newestFirst := slices.Clone(byVersion)
	slices.Reverse(newestFirst)
	checkVersions(t, "instance history", walk(t, s, engine.HistoryQuery{Type: patient, ID: "counter", Count: 5}), newestFirst)
}

// testConditionalCreate races transactions that each search for an
// identifier and create a resource with it only if none matches, as a
// conditional create does: exactly one creates, the others find it.
func testConditionalCreate(t *testing.T, s engine.Store) {
	const racers, rounds = 8, 5
	ctx := t.Context()
	for round := range rounds {
		code := "r" + itoa(int64(round))
		q := query(t, patient, "identifier=urn:race|"+code)
		created := make([]bool, racers)
		matched := make([]fhir.ID, racers)
		errs := make([]error, racers)
		race(racers, func(g int) {
			errs[g] = writeRetry(ctx, s, func(tx engine.Tx) error {
				res, err := tx.Search(ctx, limited(q, 2))
				if err != nil {
					return err
				}
				found := res.Resources
				if len(found) > 0 {
					created[g], matched[g] = false, found[0].ID
					if len(found) > 1 {
						return fmt.Errorf("the search in the transaction found %v", keys(found))
					}
					return nil
				}
				id := fhir.ID(fmt.Sprintf("race-%d-%d", round, g))
				r, idx := newVersion(patient, id, 1, ident("urn:race", code))
				if err := stampPut(ctx, tx, r, idx); err != nil {
					return err
				}
				created[g], matched[g] = true, id
				return nil
			})
		})
		var winners []fhir.ID
		for g, err := range errs {
			if err != nil {
				t.Fatalf("round %d, racer %d: %v", round, g, err)
			}
			if created[g] {
				winners = append(winners, matched[g])
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d racers created a resource (%v), want exactly one", round, len(winners), winners)
		}
		for g, id := range matched {
			if id != winners[0] {
				t.Errorf("round %d, racer %d: found %s, not the created %s", round, g, id, winners[0])
			}
		}
		if found := mustSearch(t, s, q, 0); len(found) != 1 || found[0].ID != winners[0] {
			t.Errorf("round %d: the search finds %v, want only %s", round, keys(found), winners[0])
		}
	}
	if all := walk(t, s, engine.HistoryQuery{Count: 100}); len(all) != rounds {
		t.Errorf("system history holds %v, want one creation per round", keys(all))
	}
}

// testIndependentWriters runs writers on resources of their own at the
// same time: every version is stored once, and system history orders them
// by commit with lastUpdated never increasing, newest first.
func testIndependentWriters(t *testing.T, s engine.Store) {
	const writers, versions = 4, 12
	ctx := t.Context()
	errs := make([]error, writers)
	wrote := make([][]*fhir.Resource, writers)
	race(writers, func(g int) {
		id := fhir.ID("w" + itoa(int64(g)))
		for v := int64(1); v <= versions && errs[g] == nil; v++ {
			r, idx := newVersion(patient, id, v, ident("urn:w", string(id)))
			errs[g] = writeRetry(ctx, s, func(tx engine.Tx) error { return stampPut(ctx, tx, r, idx) })
			wrote[g] = append(wrote[g], r)
		}
	})
	var all []*fhir.Resource
	for g, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", g, err)
		}
		checkVersion(t, "Read", mustRead(t, s, patient, fhir.ID("w"+itoa(int64(g)))), wrote[g][versions-1])
		all = append(all, wrote[g]...)
	}
	history := walk(t, s, engine.HistoryQuery{Count: 7})
	checkSameSet(t, "system history", history, all)
	last := map[fhir.ID]int64{}
	for i, r := range history {
		if prev, ok := last[r.ID]; ok && r.Version != prev-1 {
			t.Errorf("history lists %s after version %d", key(r), prev)
		}
		last[r.ID] = r.Version
		if i > 0 && r.LastUpdated.After(history[i-1].LastUpdated) {
			t.Errorf("%s follows %s in history but has a later lastUpdated", key(r), key(history[i-1]))
		}
	}
}

// testCountsThroughFailures races writers of which some fail after
// writing and some count inside their transaction: the count of a type
// (which a store may keep rather than compute) always agrees with a count
// of the resources' indexed values, inside transactions and after.
func testCountsThroughFailures(t *testing.T, s engine.Store) {
	const racers, rounds = 12, 4
	ctx := t.Context()
	errFail := errors.New("the writer fails on purpose")
	all := query(t, patient, "")
	marked := query(t, patient, "identifier=urn:count|x")
	count := func(run func(*search.Query) (*engine.SearchResult, error), q *search.Query) (int, error) {
		c := *q
		c.Count, c.Total = 0, search.TotalAccurate
		res, err := run(&c)
		if err != nil {
			return 0, err
		}
		return res.Total, nil
	}
	kept := 0
	for round := range rounds {
		errs := make([]error, racers)
		race(racers, func(g int) {
			errs[g] = writeRetry(ctx, s, func(tx engine.Tx) error {
				id := fhir.ID(fmt.Sprintf("c-%d-%d", round, g))
				r, idx := newVersion(patient, id, 1, ident("urn:count", "x"))
				if err := stampPut(ctx, tx, r, idx); err != nil {
					return err
				}
				if g%3 == 1 {
					in := func(q *search.Query) (*engine.SearchResult, error) { return tx.Search(ctx, q) }
					n, err := count(in, all)
					if err != nil {
						return err
					}
					m, err := count(in, marked)
					if err != nil {
						return err
					}
					if n != m {
						return fmt.Errorf("inside a transaction, %d Patients but %d with the identifier", n, m)
					}
				}
				if g%3 == 0 {
					return errFail
				}
				return nil
			})
		})
		for g, err := range errs {
			switch {
			case g%3 == 0 && !errors.Is(err, errFail):
				t.Fatalf("round %d, racer %d: %v, want the writer's failure", round, g, err)
			case g%3 != 0 && err != nil:
				t.Fatalf("round %d, racer %d: %v", round, g, err)
			case g%3 != 0:
				kept++
			}
		}
		out := func(q *search.Query) (*engine.SearchResult, error) { return s.Search(ctx, q) }
		for _, q := range []*search.Query{all, marked} {
			if n, err := count(out, q); err != nil || n != kept {
				t.Fatalf("round %d: %d Patients counted (%v), want %d", round, n, err, kept)
			}
		}
	}
}

// race runs fn(0) to fn(n-1) in goroutines released together, and waits
// for them.
func race(n int, fn func(g int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			<-start
			fn(g)
		})
	}
	close(start)
	wg.Wait()
}

// genVersion returns version k of Patient/id as the generation writer
// writes it: a deletion every tenth version, otherwise a body and an
// identifier urn:gen|k naming the version.
func genVersion(id fhir.ID, k int64) (*fhir.Resource, *search.Index) {
	if k%10 == 0 {
		return tombstone(patient, id, k), nil
	}
	return newVersion(patient, id, k, ident("urn:gen", itoa(k)))
}

// checkGen returns an error unless r is a consistent version of the
// generation writer's: its body (or its absence) and method are those of
// its version number.
func checkGen(r *fhir.Resource) error {
	want, _ := genVersion(r.ID, r.Version)
	if r.Deleted != want.Deleted || r.Method != want.Method || !bytes.Equal(r.Body, want.Body) {
		return fmt.Errorf("%s (deleted %v, method %s) has body %.80q, want deleted %v, method %s, body %.80q",
			key(r), r.Deleted, r.Method, r.Body, want.Deleted, want.Method, want.Body)
	}
	return nil
}

// generations writes versions 2 to 60 of Patient/a and Patient/b, both in
// each transaction (version 1 is written before), while readers
// goroutines, each with its own check from newReader, call it until the
// writer is done, then once more. check returns an error to report; a
// reader stops at its first.
func generations(t *testing.T, s engine.Store, readers int, newReader func() func(ctx context.Context) error) {
	const last = 60
	ctx := t.Context()
	putGen := func(k int64) error {
		return s.Write(ctx, func(tx engine.Tx) error {
			for _, id := range []fhir.ID{"a", "b"} {
				r, idx := genVersion(id, k)
				if err := stampPut(ctx, tx, r, idx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := putGen(1); err != nil {
		t.Fatalf("Write of version 1: %v", err)
	}
	var done atomic.Bool
	var rounds atomic.Int64
	race(readers+1, func(g int) {
		if g == readers {
			defer done.Store(true)
			for k := int64(2); k <= last; k++ {
				if err := putGen(k); err != nil {
					t.Errorf("Write of version %d: %v", k, err)
					return
				}
			}
			return
		}
		check := newReader()
		for {
			finished := done.Load()
			rounds.Add(1)
			if err := check(ctx); err != nil {
				t.Errorf("reader %d: %v", g, err)
				return
			}
			if finished {
				return
			}
		}
	})
	t.Logf("%d reader rounds during %d transactions", rounds.Load(), last-1)
	for _, id := range []fhir.ID{"a", "b"} {
		got := mustRead(t, s, patient, id)
		if got.Version != last {
			t.Errorf("Read after the writer: %s, want version %d", key(got), last)
		}
		if err := checkGen(got); err != nil {
			t.Errorf("Read after the writer: %v", err)
		}
	}
}

// testReadersSeeCommittedStates checks that readers running during writes
// only ever see committed versions: whole bodies of the right version,
// tombstones without bodies, index values of the current version only,
// and versions that never go back.
func testReadersSeeCommittedStates(t *testing.T, s engine.Store) {
	generations(t, s, 3, func() func(ctx context.Context) error {
		var lastSeen int64
		return func(ctx context.Context) error {
			return checkCommittedStates(ctx, s, &lastSeen)
		}
	})
}

// checkCommittedStates is one round of a reader of
// testReadersSeeCommittedStates; lastSeen is the version of Patient/a it
// read in its previous round.
func checkCommittedStates(ctx context.Context, s engine.Store, lastSeen *int64) error {
	r, err := s.Read(ctx, patient, "a")
	if err != nil {
		return fmt.Errorf("Read: %w", err)
	}
	if err := checkGen(r); err != nil {
		return fmt.Errorf("Read: %w", err)
	}
	if r.Version < *lastSeen {
		return fmt.Errorf("Read returned version %d after version %d", r.Version, *lastSeen)
	}
	*lastSeen = r.Version
	v, err := s.VRead(ctx, patient, "a", r.Version)
	if err != nil {
		return fmt.Errorf("VRead of the version just read: %w", err)
	}
	if d := sameVersion(v, r); d != "" {
		return fmt.Errorf("VRead of the version just read: %s", d)
	}
	if !r.Deleted {
		q := tokenQuery(patient, "identifier", search.Value{System: ptr("urn:gen"), Code: itoa(r.Version)})
		found, err := searchAll(ctx, s, q)
		if err != nil {
			return fmt.Errorf("Search: %w", err)
		}
		for _, f := range found {
			if f.Version != r.Version {
				return fmt.Errorf("Search by the identifier of version %d found %s", r.Version, key(f))
			}
		}
	}
	q := tokenQuery(patient, "identifier", search.Value{System: ptr("urn:gen")})
	found, err := searchAll(ctx, s, q)
	if err != nil {
		return fmt.Errorf("Search: %w", err)
	}
	for _, f := range found {
		if f.Deleted {
			return fmt.Errorf("Search found the deletion %s", key(f))
		}
		if err := checkGen(f); err != nil {
			return fmt.Errorf("Search: %w", err)
		}
	}
	page, err := s.History(ctx, engine.HistoryQuery{Type: patient, ID: "a", Count: 3})
	if err != nil {
		return fmt.Errorf("History: %w", err)
	}
	for i, h := range page.Versions {
		if err := checkGen(h); err != nil {
			return fmt.Errorf("History: %w", err)
		}
		if i == 0 && h.Version < r.Version {
			return fmt.Errorf("History's newest version %d is older than the version %d read before", h.Version, r.Version)
		}
		if i > 0 && h.Version != page.Versions[i-1].Version-1 {
			return fmt.Errorf("History lists %v", keys(page.Versions))
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// testReadersSeeWholeTransactions checks that readers see all the puts of
// a committed transaction or none: Patient/a and Patient/b, written
// together, are always found at the same version.
func testReadersSeeWholeTransactions(t *testing.T, s engine.Store) {
	generations(t, s, 3, func() func(ctx context.Context) error { return checkWholeTransactions(s) })
}

// checkWholeTransactions returns one round of a reader of
// testReadersSeeWholeTransactions.
func checkWholeTransactions(s engine.Store) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		found, err := searchAll(ctx, s, tokenQuery(patient, "_id", search.Value{Code: "a"}, search.Value{Code: "b"}))
		if err != nil {
			return fmt.Errorf("Search: %w", err)
		}
		if len(found) == 1 || (len(found) == 2 && found[0].Version != found[1].Version) {
			return fmt.Errorf("Search by _id found %v: part of a transaction", keys(found))
		}
		page, err := s.History(ctx, engine.HistoryQuery{Count: 2})
		if err != nil {
			return fmt.Errorf("History: %w", err)
		}
		if len(page.Versions) != 2 || page.Versions[0].Version != page.Versions[1].Version ||
			page.Versions[0].ID == page.Versions[1].ID {
			return fmt.Errorf("the newest versions in history are %v: part of a transaction", keys(page.Versions))
		}
		a, err := s.Read(ctx, patient, "a")
		if err != nil {
			return fmt.Errorf("Read: %w", err)
		}
		b, err := s.Read(ctx, patient, "b")
		if err != nil {
			return fmt.Errorf("Read: %w", err)
		}
		if b.Version < a.Version {
			return fmt.Errorf("read %s, then %s: part of a transaction", key(a), key(b))
		}
		return nil
	}
}
