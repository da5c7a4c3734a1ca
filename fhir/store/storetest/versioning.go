package storetest

import (
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

var versioningTests = []test{
	{name: "WrongVersionConflicts", run: testWrongVersionConflicts},
	{name: "ConflictWritesNothing", run: testConflictWritesNothing},
	{name: "DeletionIsAVersion", run: testDeletionIsAVersion},
	{name: "RecreateAfterDeletion", run: testRecreateAfterDeletion},
}

// testWrongVersionConflicts checks that Put accepts only the current
// version plus one (1 for a new resource) and that any other version fails
// with KindConflict and leaves the resource, its history and its index as
// they were.
func testWrongVersionConflicts(t *testing.T, s engine.Store) {
	cases := []struct {
		name    string
		live    int64 // versions written before
		deleted bool  // a deletion follows them
		put     int64
	}{
		{"new resource, version 0", 0, false, 0},
		{"new resource, version 2", 0, false, 2},
		{"new resource, version -1", 0, false, -1},
		{"at 2, version 1", 2, false, 1},
		{"at 2, version 2", 2, false, 2},
		{"at 2, version 4", 2, false, 4},
		{"deleted at 3, version 2", 2, true, 2},
		{"deleted at 3, version 3", 2, true, 3},
		{"deleted at 3, version 5", 2, true, 5},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fhir.ID("r" + itoa(int64(i)))
			var last *fhir.Resource
			for v := int64(1); v <= c.live; v++ {
				last = mustCreate(t, s, patient, id, v, ident("urn:s", "old"+string(id)))
			}
			current := c.live
			if c.deleted {
				current++
				last = mustDelete(t, s, patient, id, current)
			}
			r, idx := newVersion(patient, id, c.put, ident("urn:s", "new"+string(id)))
			var putErr error
			err := s.Write(t.Context(), func(tx engine.Tx) error {
				putErr = stampPut(t.Context(), tx, r, idx)
				return putErr
			})
			checkKind(t, "Put", putErr, fhir.KindConflict)
			checkKind(t, "Write returning the Put's error", err, fhir.KindConflict)
			if last == nil {
				checkNotFound(t, s, patient, id)
			} else {
				checkVersion(t, "Read after the conflict", mustRead(t, s, patient, id), last)
			}
			if c.put > current {
				_, err := s.VRead(t.Context(), patient, id, c.put)
				checkKind(t, "VRead of the refused version", err, fhir.KindNotFound)
			}
			checkSearch(t, s, "search by the refused version's identifier", query(t, patient, "identifier=urn:s|new"+string(id)))
			page, err := s.History(t.Context(), engine.HistoryQuery{Type: patient, ID: id, Count: 100})
			if err != nil {
				t.Fatalf("History: %v", err)
			}
			if n := int64(len(page.Versions)); n != current {
				t.Errorf("history has %d versions after the conflict, want %d", n, current)
			}
		})
	}
}

// testConflictWritesNothing checks that a Put refused for its version
// writes nothing even when the transaction goes on and commits what else
// it put.
func testConflictWritesNothing(t *testing.T, s engine.Store) {
	c1 := mustCreate(t, s, patient, "c", 1, ident("urn:s", "c1"))
	var a *fhir.Resource
	mustWrite(t, s, func(tx engine.Tx) error {
		r, idx := newVersion(patient, "a", 1, ident("urn:s", "a1"))
		if err := stampPut(t.Context(), tx, r, idx); err != nil {
			return err
		}
		a = r
		bad, idx := newVersion(patient, "c", 3, ident("urn:s", "c3"))
		err := stampPut(t.Context(), tx, bad, idx)
		checkKind(t, "Put of version 3 over version 1", err, fhir.KindConflict)
		bad, idx = newVersion(patient, "b", 2, ident("urn:s", "b2"))
		err = stampPut(t.Context(), tx, bad, idx)
		checkKind(t, "Put of version 2 of a new resource", err, fhir.KindConflict)
		// The transaction goes on, and commits.
		return nil
	})
	checkVersion(t, "Read a", mustRead(t, s, patient, "a"), a)
	checkVersion(t, "Read c", mustRead(t, s, patient, "c"), c1)
	checkNotFound(t, s, patient, "b")
	checkSearch(t, s, "identifier of the refused version of c", query(t, patient, "identifier=urn:s|c3"))
	checkSearch(t, s, "identifier of c", query(t, patient, "identifier=urn:s|c1"), c1)
	checkSearch(t, s, "identifier of the refused b", query(t, patient, "identifier=urn:s|b2"))
	page, err := s.History(t.Context(), engine.HistoryQuery{Count: 100})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	checkVersions(t, "system history", page.Versions, []*fhir.Resource{a, c1})
}

// testDeletionIsAVersion checks that a deletion is stored as a version of
// its own, with no body, that Read returns it as the current version, that
// older versions stay readable, and that the deleted resource leaves the
// index.
func testDeletionIsAVersion(t *testing.T, s engine.Store) {
	v1 := mustCreate(t, s, patient, "d", 1, ident("urn:s", "d"))
	v2 := mustCreate(t, s, patient, "d", 2, ident("urn:s", "d"))
	v3 := mustDelete(t, s, patient, "d", 3)
	got := mustRead(t, s, patient, "d")
	checkVersion(t, "Read of the deleted resource", got, v3)
	if !got.Deleted || len(got.Body) != 0 || got.Method != fhir.MethodDelete || got.LastUpdated.IsZero() {
		t.Errorf("Read of the deleted resource: %+v, want a tombstone (Deleted, no body, DELETE, a lastUpdated)", got)
	}
	for _, want := range []*fhir.Resource{v1, v2, v3} {
		got, err := s.VRead(t.Context(), patient, "d", want.Version)
		if err != nil {
			t.Fatalf("VRead version %d after the deletion: %v", want.Version, err)
		}
		checkVersion(t, "VRead after the deletion", got, want)
	}
	checkSearch(t, s, "_id of the deleted resource", query(t, patient, "_id=d"))
	checkSearch(t, s, "identifier of the deleted resource", query(t, patient, "identifier=urn:s|d"))
	// Another version after the tombstone must still be its successor.
	r, idx := newVersion(patient, "d", 3)
	err := s.Write(t.Context(), func(tx engine.Tx) error { return stampPut(t.Context(), tx, r, idx) })
	checkKind(t, "Put of version 3 over the deletion (version 3)", err, fhir.KindConflict)
}

// testRecreateAfterDeletion checks that a deleted resource can be created
// again, as the version after its deletion, and is found again.
func testRecreateAfterDeletion(t *testing.T, s engine.Store) {
	v1 := mustCreate(t, s, patient, "r", 1, ident("urn:s", "before"))
	v2 := mustDelete(t, s, patient, "r", 2)
	v3 := mustCreate(t, s, patient, "r", 3, ident("urn:s", "after"))
	checkVersion(t, "Read of the re-created resource", mustRead(t, s, patient, "r"), v3)
	checkSearch(t, s, "_id", query(t, patient, "_id=r"), v3)
	checkSearch(t, s, "new identifier", query(t, patient, "identifier=urn:s|after"), v3)
	checkSearch(t, s, "identifier from before the deletion", query(t, patient, "identifier=urn:s|before"))
	page, err := s.History(t.Context(), engine.HistoryQuery{Type: patient, ID: "r", Count: 10})
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	checkVersions(t, "instance history", page.Versions, []*fhir.Resource{v3, v2, v1})
	// A second deletion and a second re-creation go on counting.
	v4 := mustDelete(t, s, patient, "r", 4)
	checkVersion(t, "Read after the second deletion", mustRead(t, s, patient, "r"), v4)
	v5 := mustCreate(t, s, patient, "r", 5)
	checkVersion(t, "Read after the second re-creation", mustRead(t, s, patient, "r"), v5)
}
