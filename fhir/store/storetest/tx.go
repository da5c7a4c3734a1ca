package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

var txTests = []test{
	{name: "CommitMakesEverythingVisible", run: testCommitMakesEverythingVisible},
	{name: "ErrorDiscardsEverything", run: testErrorDiscardsEverything},
	{name: "ReadsSeeOwnWrites", run: testReadsSeeOwnWrites},
	{name: "Now", run: testNow},
	{name: "NowNotBeforeStoredVersions", run: testNowNotBeforeStoredVersions},
	{name: "PanicReleasesStore", run: testPanicReleasesStore},
}

// testCommitMakesEverythingVisible checks that all the puts of one
// transaction (new resources of two types, two versions of one resource,
// a deletion) are visible after it commits, stamped with its one time.
func testCommitMakesEverythingVisible(t *testing.T, s engine.Store) {
	d1 := mustCreate(t, s, patient, "d", 1, ident("urn:s", "d"))
	var written []*fhir.Resource
	var now time.Time
	mustWrite(t, s, func(tx engine.Tx) error {
		written = nil
		now = tx.Now()
		a1, ia1 := newVersion(patient, "a", 1, ident("urn:s", "a1"))
		a2, ia2 := newVersion(patient, "a", 2, ident("urn:s", "a2"))
		o1, io1 := newVersion(organization, "o", 1, ident("urn:s", "o1"))
		d2 := tombstone(patient, "d", 2)
		for _, p := range []struct {
			r   *fhir.Resource
			idx *search.Index
		}{{a1, ia1}, {a2, ia2}, {o1, io1}, {d2, nil}} {
			if err := stampPut(t.Context(), tx, p.r, p.idx); err != nil {
				return err
			}
			written = append(written, p.r)
		}
		return nil
	})
	a1, a2, o1, d2 := written[0], written[1], written[2], written[3]
	for _, r := range written {
		if !r.LastUpdated.Equal(now) {
			t.Errorf("%s was stamped %v, not the transaction's time %v", key(r), r.LastUpdated, now)
		}
	}
	checkVersion(t, "Read a", mustRead(t, s, patient, "a"), a2)
	checkVersion(t, "Read o", mustRead(t, s, organization, "o"), o1)
	checkVersion(t, "Read d", mustRead(t, s, patient, "d"), d2)
	if got, err := s.VRead(t.Context(), patient, "a", 1); err != nil {
		t.Errorf("VRead a 1: %v", err)
	} else {
		checkVersion(t, "VRead a 1", got, a1)
	}
	checkSearch(t, s, "identifier of a's first version", query(t, patient, "identifier=urn:s|a1"))
	checkSearch(t, s, "identifier of a's second version", query(t, patient, "identifier=urn:s|a2"), a2)
	checkSearch(t, s, "identifier of o", query(t, organization, "identifier=urn:s|o1"), o1)
	checkSearch(t, s, "identifier of d", query(t, patient, "identifier=urn:s|d"))
	got := walk(t, s, engine.HistoryQuery{Count: 100})
	want := []*fhir.Resource{a1, a2, o1, d2, d1}
	if len(got) != len(want) {
		t.Fatalf("system history: %v, want the versions %v", keys(got), keys(want))
	}
	checkVersion(t, "oldest in history", got[4], d1)
	checkSameSet(t, "history of the transaction", got[:4], want[:4])
}

// testErrorDiscardsEverything checks that nothing a transaction put is
// visible when its function returns an error: no resource, version,
// history entry or index value; the error is returned; the versions it
// would have used are free for the next transaction.
func testErrorDiscardsEverything(t *testing.T, s engine.Store) {
	b1 := mustCreate(t, s, patient, "b", 1, ident("urn:s", "b1"))
	c1 := mustCreate(t, s, patient, "c", 1, ident("urn:s", "c1"))
	before := walk(t, s, engine.HistoryQuery{Count: 100})
	errBoom := errors.New("boom")
	err := s.Write(t.Context(), func(tx engine.Tx) error {
		a1, ia := newVersion(patient, "a", 1, ident("urn:s", "a1"))
		b2, ib := newVersion(patient, "b", 2, ident("urn:s", "b2"))
		o1, io := newVersion(organization, "o", 1, ident("urn:s", "o1"))
		for _, p := range []struct {
			r   *fhir.Resource
			idx *search.Index
		}{{a1, ia}, {b2, ib}, {o1, io}, {tombstone(patient, "c", 2), nil}} {
			if err := stampPut(t.Context(), tx, p.r, p.idx); err != nil {
				return fmt.Errorf("unexpected: %w", err)
			}
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Write returned %v, want the function's error", err)
	}
	checkNotFound(t, s, patient, "a")
	checkNotFound(t, s, organization, "o")
	checkVersion(t, "Read b", mustRead(t, s, patient, "b"), b1)
	checkVersion(t, "Read c", mustRead(t, s, patient, "c"), c1)
	for _, v := range []struct {
		typ fhir.ResourceType
		id  fhir.ID
		n   int64
	}{{patient, "a", 1}, {patient, "b", 2}, {organization, "o", 1}, {patient, "c", 2}} {
		_, err := s.VRead(t.Context(), v.typ, v.id, v.n)
		checkKind(t, fmt.Sprintf("VRead %s/%s %d", v.typ, v.id, v.n), err, fhir.KindNotFound)
	}
	checkSearch(t, s, "identifier of a", query(t, patient, "identifier=urn:s|a1"))
	checkSearch(t, s, "new identifier of b", query(t, patient, "identifier=urn:s|b2"))
	checkSearch(t, s, "old identifier of b", query(t, patient, "identifier=urn:s|b1"), b1)
	checkSearch(t, s, "identifier of o", query(t, organization, "identifier=urn:s|o1"))
	checkSearch(t, s, "_id of the undeleted c", query(t, patient, "_id=c"), c1)
	checkVersions(t, "system history", walk(t, s, engine.HistoryQuery{Count: 100}), before)
	// The next transaction takes the versions the failed one did not.
	b2 := mustCreate(t, s, patient, "b", 2, ident("urn:s", "b2"))
	a1 := mustCreate(t, s, patient, "a", 1)
	checkVersions(t, "system history after the next writes", walk(t, s, engine.HistoryQuery{Count: 100}),
		append([]*fhir.Resource{a1, b2}, before...))
}

// testReadsSeeOwnWrites checks that Read and Search inside a transaction
// see what it put (new resources, new versions, replaced index values,
// deletions), while the store's readers see none of it until it commits.
func testReadsSeeOwnWrites(t *testing.T, s engine.Store) {
	b1 := mustCreate(t, s, patient, "b", 1, ident("urn:s", "b1"))
	var a2 *fhir.Resource
	mustWrite(t, s, func(tx engine.Tx) error {
		ctx := t.Context()
		a1, idx := newVersion(patient, "a", 1, ident("urn:s", "a1"))
		if err := stampPut(ctx, tx, a1, idx); err != nil {
			return err
		}
		got, err := tx.Read(ctx, patient, "a")
		if err != nil {
			return fmt.Errorf("tx.Read of its own new resource: %w", err)
		}
		checkVersion(t, "tx.Read of its own new resource", got, a1)
		checkTxSearch(t, tx, "tx.Search by _id", query(t, patient, "_id=a"), a1)
		checkTxSearch(t, tx, "tx.Search by identifier", query(t, patient, "identifier=urn:s|a1"), a1)

		a2, idx = newVersion(patient, "a", 2, ident("urn:s", "a2"))
		if err := stampPut(ctx, tx, a2, idx); err != nil {
			return err
		}
		got, err = tx.Read(ctx, patient, "a")
		if err != nil {
			return fmt.Errorf("tx.Read of its own second version: %w", err)
		}
		checkVersion(t, "tx.Read of its own second version", got, a2)
		checkTxSearch(t, tx, "tx.Search by the replaced identifier", query(t, patient, "identifier=urn:s|a1"))
		checkTxSearch(t, tx, "tx.Search by the new identifier", query(t, patient, "identifier=urn:s|a2"), a2)

		b2 := tombstone(patient, "b", 2)
		if err := stampPut(ctx, tx, b2, nil); err != nil {
			return err
		}
		got, err = tx.Read(ctx, patient, "b")
		if err != nil {
			return fmt.Errorf("tx.Read of its own deletion: %w", err)
		}
		checkVersion(t, "tx.Read of its own deletion", got, b2)
		checkTxSearch(t, tx, "tx.Search for the deleted resource", query(t, patient, "_id=a,b"), a2)
		checkTxSearch(t, tx, "tx.Search by the deleted identifier", query(t, patient, "identifier=urn:s|b1"))

		// The store's readers still see the last committed state.
		outside := make(chan error, 1)
		go func() {
			defer close(outside)
			if _, err := s.Read(ctx, patient, "a"); !fhir.IsKind(err, fhir.KindNotFound) {
				outside <- fmt.Errorf("Read outside the transaction of a resource it created: %v, want KindNotFound", err)
				return
			}
			got, err := s.Read(ctx, patient, "b")
			if err != nil {
				outside <- fmt.Errorf("Read outside the transaction: %w", err)
				return
			}
			if d := sameVersion(got, b1); d != "" {
				outside <- fmt.Errorf("Read outside the transaction: %s", d)
			}
		}()
		for err := range outside {
			t.Error(err)
		}
		return nil
	})
	checkVersion(t, "Read after commit", mustRead(t, s, patient, "a"), a2)
	if got := mustRead(t, s, patient, "b"); !got.Deleted || got.Version != 2 {
		t.Errorf("Read after commit: %s deleted=%v, want the deletion as version 2", key(got), got.Deleted)
	}
}

// checkTxSearch fails the test unless q, run in tx, finds exactly want.
func checkTxSearch(t *testing.T, tx engine.Tx, what string, q *search.Query, want ...*fhir.Resource) {
	t.Helper()
	found, err := searchAll(t.Context(), tx, q)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	checkSameSet(t, what, found, want)
}

// testNow checks Tx.Now: UTC, millisecond precision, one value for the
// whole transaction, never decreasing from one transaction to the next,
// and the lastUpdated of what the transaction puts.
func testNow(t *testing.T, s engine.Store) {
	var prev time.Time
	for i := range 20 {
		var first, second time.Time
		r, idx := newVersion(patient, "now", int64(i+1))
		mustWrite(t, s, func(tx engine.Tx) error {
			first = tx.Now()
			if err := stampPut(t.Context(), tx, r, idx); err != nil {
				return err
			}
			second = tx.Now()
			return nil
		})
		if !first.Equal(second) {
			t.Errorf("transaction %d: Now changed within the transaction: %v then %v", i, first, second)
		}
		if first.Location() != time.UTC || first.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("transaction %d: Now %s is not UTC to the millisecond", i, first.Format(time.RFC3339Nano))
		}
		if wall := time.Now(); first.After(wall.Add(time.Second)) || first.Before(wall.Add(-time.Minute)) {
			t.Errorf("transaction %d: Now %v is far from the clock %v", i, first, wall)
		}
		if first.Before(prev) {
			t.Errorf("transaction %d: Now %v is before the previous transaction's %v", i, first, prev)
		}
		prev = first
		checkVersion(t, "Read", mustRead(t, s, patient, "now"), r)
	}
	// lastUpdated never decreases along history, newest first.
	versions := walk(t, s, engine.HistoryQuery{Count: 100})
	for i := 1; i < len(versions); i++ {
		if versions[i].LastUpdated.After(versions[i-1].LastUpdated) {
			t.Errorf("%s (%v) is older in history than %s but has a later lastUpdated (%v)",
				key(versions[i]), versions[i].LastUpdated, key(versions[i-1]), versions[i-1].LastUpdated)
		}
	}
}

// testNowNotBeforeStoredVersions checks that Now is never before the
// lastUpdated of a stored version, even one stamped ahead of this
// machine's clock (written by a server whose clock ran fast), so that
// lastUpdated never decreases along history.
func testNowNotBeforeStoredVersions(t *testing.T, s engine.Store) {
	ahead := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	r, idx := newVersion(patient, "ahead", 1)
	r.LastUpdated = ahead
	mustWrite(t, s, func(tx engine.Tx) error { return tx.Put(t.Context(), r, idx) })
	checkVersion(t, "Read of the version stamped ahead", mustRead(t, s, patient, "ahead"), r)
	later := mustCreate(t, s, patient, "later", 1)
	if later.LastUpdated.Before(ahead) {
		t.Errorf("Now is %v, before the stored lastUpdated %v", later.LastUpdated, ahead)
	}
	checkVersion(t, "Read of the next version", mustRead(t, s, patient, "later"), later)
	checkVersions(t, "system history", walk(t, s, engine.HistoryQuery{Count: 10}), []*fhir.Resource{later, r})
}

// testPanicReleasesStore checks that a transaction whose function panics
// leaves nothing behind and does not block the writes that follow.
func testPanicReleasesStore(t *testing.T, s engine.Store) {
	panicked, err := func() (p any, err error) {
		defer func() { p = recover() }()
		err = s.Write(t.Context(), func(tx engine.Tx) error {
			r, idx := newVersion(patient, "p", 1)
			if err := stampPut(t.Context(), tx, r, idx); err != nil {
				return err
			}
			panic("fn panics")
		})
		return nil, err
	}()
	if panicked == nil && err == nil {
		t.Fatal("Write of a function that panicked neither panicked nor failed")
	}
	checkNotFound(t, s, patient, "p")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	r, idx := newVersion(patient, "p", 1)
	if err := s.Write(ctx, func(tx engine.Tx) error { return stampPut(ctx, tx, r, idx) }); err != nil {
		t.Fatalf("Write after a panicking transaction: %v", err)
	}
	checkVersion(t, "Read", mustRead(t, s, patient, "p"), r)
}
