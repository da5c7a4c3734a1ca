package storetest

import (
	"errors"
	"testing"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

var settingTests = []test{
	{name: "RoundTrip", run: testSettingRoundTrip},
	{name: "DiscardedWithTransaction", run: testSettingDiscarded},
}

// setting reads a setting and fails the test if it cannot.
func setting(t *testing.T, s engine.Store, key string) string {
	t.Helper()
	v, err := s.Setting(t.Context(), key)
	if err != nil {
		t.Fatalf("Setting %q: %v", key, err)
	}
	return v
}

// testSettingRoundTrip: a setting reads as it was put, is replaced by the
// next put, and "" removes it; an unknown key reads "".
func testSettingRoundTrip(t *testing.T, s engine.Store) {
	if v := setting(t, s, "nope"); v != "" {
		t.Errorf("an unknown setting reads %q", v)
	}
	put := func(key, value string) {
		mustWrite(t, s, func(tx engine.Tx) error { return tx.PutSetting(t.Context(), key, value) })
	}
	put("a", "1")
	put("b", "two words\nand a line")
	put("a", "3")
	if v := setting(t, s, "a"); v != "3" {
		t.Errorf("a: %q, want 3", v)
	}
	if v := setting(t, s, "b"); v != "two words\nand a line" {
		t.Errorf("b: %q", v)
	}
	put("a", "")
	if v := setting(t, s, "a"); v != "" {
		t.Errorf("a after removal: %q", v)
	}
}

// testSettingDiscarded: a setting put by a transaction that fails is not
// kept, and one put with resources commits with them.
func testSettingDiscarded(t *testing.T, s engine.Store) {
	fail := errors.New("fail")
	err := s.Write(t.Context(), func(tx engine.Tx) error {
		if err := tx.PutSetting(t.Context(), "k", "v"); err != nil {
			return err
		}
		return fail
	})
	if !errors.Is(err, fail) {
		t.Fatalf("Write: %v, want the function's error", err)
	}
	if v := setting(t, s, "k"); v != "" {
		t.Errorf("a setting of a failed transaction reads %q", v)
	}
	mustWrite(t, s, func(tx engine.Tx) error {
		r, idx := newVersion(patient, "a", 1)
		if err := stampPut(t.Context(), tx, r, idx); err != nil {
			return err
		}
		return tx.PutSetting(t.Context(), "k", "w")
	})
	if v := setting(t, s, "k"); v != "w" {
		t.Errorf("a setting committed with a resource reads %q", v)
	}
}

// testSearchReindex: Reindex replaces the values of the current version,
// and does nothing for a version that is no longer current, a deleted
// resource or an unknown one.
func testSearchReindex(t *testing.T, s engine.Store) {
	a1 := mustCreate(t, s, patient, "a", 1, ident("urn:s", "old"))
	reindex := func(r *fixtureVersion) {
		t.Helper()
		mustWrite(t, s, func(tx engine.Tx) error { return tx.Reindex(t.Context(), r.r, withMeta(r.r, r.idx)) })
	}
	byName := sq(of(patient), stringClause("name", search.ModNone, "new"))
	reindex(&fixtureVersion{a1, &search.Index{Tokens: []search.Token{ident("urn:s", "new")},
		Strings: []search.String{{Param: "name", Value: "new", Exact: "New"}}}})
	checkSearch(t, s, "old value after reindex", query(t, patient, "identifier=urn:s|old"))
	checkSearch(t, s, "new token after reindex", query(t, patient, "identifier=urn:s|new"), a1)
	checkSearch(t, s, "new string after reindex", byName, a1)
	checkSearch(t, s, "_id after reindex", query(t, patient, "_id=a"), a1)

	a2 := mustCreate(t, s, patient, "a", 2, ident("urn:s", "two"))
	reindex(&fixtureVersion{a1, &search.Index{Tokens: []search.Token{ident("urn:s", "stale")}}})
	checkSearch(t, s, "a stale reindex", query(t, patient, "identifier=urn:s|stale"))
	checkSearch(t, s, "the current version's value", query(t, patient, "identifier=urn:s|two"), a2)

	mustDelete(t, s, patient, "a", 3)
	reindex(&fixtureVersion{a2, &search.Index{Tokens: []search.Token{ident("urn:s", "ghost")}}})
	checkSearch(t, s, "a reindex of a deleted resource", query(t, patient, "identifier=urn:s|ghost"))
	checkSearch(t, s, "the deleted resource by _id", query(t, patient, "_id=a"))

	unknown, idx := newVersion(patient, "nobody", 1, ident("urn:s", "ghost"))
	reindex(&fixtureVersion{unknown, idx})
	checkSearch(t, s, "a reindex of an unknown resource", query(t, patient, "identifier=urn:s|ghost"))
	checkNotFound(t, s, patient, "nobody")
}
