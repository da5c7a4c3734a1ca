package storetest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

var crudTests = []test{
	{name: "BodiesRoundTrip", run: testBodiesRoundTrip},
	{name: "Metadata", run: testMetadata},
	{name: "BodiesAreCopied", run: testBodiesAreCopied},
	{name: "NotFound", run: testNotFound},
	{name: "IDsAreCaseSensitive", run: testIDsAreCaseSensitive},
	{name: "SameIDInTwoTypes", run: testSameIDInTwoTypes},
}

// testBodiesRoundTrip checks that Read and VRead return bodies byte for
// byte as they were put, whatever their layout: the store keeps the JSON
// it is given and never re-marshals it.
func testBodiesRoundTrip(t *testing.T, s engine.Store) {
	big := `{"resourceType":"Patient","id":"big","text":{"div":"` + strings.Repeat("<p>x</p>", 40000) + `"}}`
	bodies := []struct {
		id   fhir.ID
		body string
	}{
		{"compact", `{"resourceType":"Patient","id":"compact","active":true}`},
		{"pretty", "{\n  \"resourceType\" : \"Patient\",\n\t\"id\": \"pretty\" ,\r\n  \"active\": true\n}\n"},
		{"key-order", `{"id":"key-order","active":false,"resourceType":"Patient"}`},
		{"unicode", `{"resourceType":"Patient","id":"unicode","name":[{"family":"Çelik-Øster 山田 🧬","text":"\u00e9\"\\\/\n"}]}`},
		{"numbers", `{"resourceType":"Patient","id":"numbers","multipleBirthInteger":1.000e0,"x":-0.0}`},
		{"big", big},
	}
	var want []*fhir.Resource
	for _, b := range bodies {
		r := &fhir.Resource{Type: patient, ID: b.id, Version: 1, Method: fhir.MethodPost, Body: []byte(b.body)}
		want = append(want, mustPut(t, s, r, &search.Index{}))
	}
	for _, w := range want {
		got, err := s.Read(t.Context(), w.Type, w.ID)
		if err != nil {
			t.Fatalf("Read %s: %v", w.Ref(), err)
		}
		checkVersion(t, "Read", got, w)
		got, err = s.VRead(t.Context(), w.Type, w.ID, 1)
		if err != nil {
			t.Fatalf("VRead %s: %v", w.Ref(), err)
		}
		checkVersion(t, "VRead", got, w)
	}
}

// testMetadata checks the fields of a stored version: version, method,
// deletion flag and lastUpdated, which is the transaction's time in UTC to
// the millisecond.
func testMetadata(t *testing.T, s engine.Store) {
	for i, m := range []fhir.Method{fhir.MethodPost, fhir.MethodPut, fhir.MethodPatch} {
		r, idx := newVersion(patient, "meta", int64(i+1))
		r.Method = m
		var now = mustPut(t, s, r, idx).LastUpdated
		if now.IsZero() {
			t.Fatal("Tx.Now returned the zero time")
		}
		got := mustRead(t, s, patient, "meta")
		checkVersion(t, "Read after a "+string(m), got, r)
		if got.Deleted {
			t.Errorf("Read after a %s: Deleted is set", m)
		}
		if got.Version != int64(i+1) {
			t.Errorf("Read after a %s: version %d, want %d", m, got.Version, i+1)
		}
		if !got.LastUpdated.Equal(now) {
			t.Errorf("Read after a %s: LastUpdated %v, want the transaction's time %v", m, got.LastUpdated, now)
		}
	}
}

// testBodiesAreCopied checks that the store keeps its own copy of a body:
// changing the slice that was put, or a slice that was read, does not
// change what is stored.
func testBodiesAreCopied(t *testing.T, s engine.Store) {
	r, idx := newVersion(patient, "copy", 1)
	orig := bytes.Clone(r.Body)
	mustPut(t, s, r, idx)
	for i := range r.Body {
		r.Body[i] = 'x'
	}
	got := mustRead(t, s, patient, "copy")
	if !bytes.Equal(got.Body, orig) {
		t.Fatalf("changing the body after Put changed the stored body: %q", got.Body)
	}
	for i := range got.Body {
		got.Body[i] = 'y'
	}
	if again := mustRead(t, s, patient, "copy"); !bytes.Equal(again.Body, orig) {
		t.Fatalf("changing a body that was read changed the stored body: %q", again.Body)
	}
}

// testNotFound checks that lookups of unknown types, ids and versions fail
// with KindNotFound and return no resource.
func testNotFound(t *testing.T, s engine.Store) {
	mustCreate(t, s, patient, "p1", 1)
	mustCreate(t, s, patient, "p1", 2)
	mustCreate(t, s, organization, "o1", 1)
	reads := []struct {
		typ fhir.ResourceType
		id  fhir.ID
	}{
		{"Observation", "p1"}, // unknown type
		{organization, "p1"},  // the id is another type's
		{patient, "p2"},       // unknown id
		{patient, "p"},        // a prefix of a known id
		{patient, "p1 "},      // a known id and more
	}
	for _, c := range reads {
		checkNotFound(t, s, c.typ, c.id)
	}
	vreads := []struct {
		typ     fhir.ResourceType
		id      fhir.ID
		version int64
	}{
		{patient, "p1", 3},
		{patient, "p1", 0},
		{patient, "p1", -1},
		{patient, "p2", 1},
		{"Observation", "p1", 1},
		{organization, "p1", 1},
		{organization, "o1", 2},
	}
	for _, c := range vreads {
		r, err := s.VRead(t.Context(), c.typ, c.id, c.version)
		checkKind(t, "VRead "+string(c.typ)+"/"+string(c.id)+" version "+itoa(c.version), err, fhir.KindNotFound)
		if r != nil {
			t.Errorf("VRead %s/%s version %d returned %s with its error", c.typ, c.id, c.version, key(r))
		}
	}
}

// testIDsAreCaseSensitive checks that ids differing only in case are
// distinct resources.
func testIDsAreCaseSensitive(t *testing.T, s engine.Store) {
	lower := mustCreate(t, s, patient, "abc", 1, ident("s", "lower"))
	upper := mustCreate(t, s, patient, "ABC", 1, ident("s", "upper"))
	mixed := mustCreate(t, s, patient, "Abc", 1)
	mixed2 := mustCreate(t, s, patient, "Abc", 2)
	checkVersion(t, "Read abc", mustRead(t, s, patient, "abc"), lower)
	checkVersion(t, "Read ABC", mustRead(t, s, patient, "ABC"), upper)
	checkVersion(t, "Read Abc", mustRead(t, s, patient, "Abc"), mixed2)
	checkNotFound(t, s, patient, "aBC")
	for _, c := range []struct {
		id   fhir.ID
		want *fhir.Resource
	}{{"abc", lower}, {"ABC", upper}, {"Abc", mixed}} {
		got, err := s.VRead(t.Context(), patient, c.id, 1)
		if err != nil {
			t.Fatalf("VRead %s version 1: %v", c.id, err)
		}
		checkVersion(t, "VRead", got, c.want)
	}
	checkSearch(t, s, "_id=abc", query(t, patient, "_id=abc"), lower)
	checkSearch(t, s, "_id=ABC,aBC", query(t, patient, "_id=ABC,aBC"), upper)
}

// testSameIDInTwoTypes checks that one id under two types names two
// independent resources.
func testSameIDInTwoTypes(t *testing.T, s engine.Store) {
	p1 := mustCreate(t, s, patient, "x", 1)
	o1 := mustCreate(t, s, organization, "x", 1)
	p2 := mustCreate(t, s, patient, "x", 2)
	checkVersion(t, "Read Patient/x", mustRead(t, s, patient, "x"), p2)
	checkVersion(t, "Read Organization/x", mustRead(t, s, organization, "x"), o1)
	if got, err := s.VRead(t.Context(), patient, "x", 1); err != nil {
		t.Fatalf("VRead Patient/x 1: %v", err)
	} else {
		checkVersion(t, "VRead Patient/x 1", got, p1)
	}
	d := mustDelete(t, s, organization, "x", 2)
	checkVersion(t, "Read Organization/x after its deletion", mustRead(t, s, organization, "x"), d)
	checkVersion(t, "Read Patient/x after Organization/x was deleted", mustRead(t, s, patient, "x"), p2)
	checkSearch(t, s, "Patient _id=x", query(t, patient, "_id=x"), p2)
	checkSearch(t, s, "Organization _id=x", query(t, organization, "_id=x"))
}
