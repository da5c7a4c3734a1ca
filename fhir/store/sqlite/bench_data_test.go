package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// The search benchmarks run on a synthetic data set shaped like the
// issue's: per patient about 60 resources (the Patient, 15 Encounters, 14
// Conditions, 30 Observations), with hand-built index values of realistic
// cardinalities: identifiers unique, family names one for five patients
// (2,000 values at 10k) and given names from 1,000, birthdates over 90 years, 200 observation codes
// and 300 condition codes, clinical dates over 10 years. Building 10k
// patients takes a few minutes, so the data set is kept between runs in
// the directory of -searchbench.dir (by default under the system's
// temporary directory, named for its size and the schema and generator
// versions), built once and reused.

var (
	benchDir      = flag.String("searchbench.dir", "", "directory to keep the search benchmark's data sets in (default: the system's temporary directory)")
	benchPatients = flag.Int("searchbench.patients", 10000, "patients in the search benchmark's data set")
)

// benchDataVersion names the generator's output: change it when the
// generator changes, so that kept data sets are rebuilt.
const benchDataVersion = 3

// benchSet is a generated data set: its store and the values queries draw
// from.
type benchSet struct {
	s        *Store
	patients int
	families []string
	obsCodes []string
	conCodes []string
}

// The shared vocabularies.
var (
	benchCities = words(7, 200)
	benchOrgs   = 50
	obsUnits    = []struct{ code, canonical string }{
		{"mg/dL", "g.m-3"}, {"mm[Hg]", "g.m-1.s-2"}, {"kg", "g"}, {"cm", "m"}, {"/min", "/s"}, {"%", "1"}, {"{score}", ""},
	}
)

// words returns n distinct made-up capitalised words built from syllables
// by seed.
func words(seed uint64, n int) []string {
	syl := strings.Fields("ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu " +
		"ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu za ze zi zo zu")
	rng := rand.New(rand.NewPCG(seed, seed))
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		w := syl[rng.IntN(len(syl))] + syl[rng.IntN(len(syl))] + syl[rng.IntN(len(syl))]
		if rng.IntN(3) == 0 {
			w += syl[rng.IntN(len(syl))]
		}
		w = strings.ToUpper(w[:1]) + w[1:]
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// uuid returns a stable pseudo-UUID for name.
func uuid(name string) fhir.ID {
	h := sha256.Sum256([]byte(name))
	x := hex.EncodeToString(h[:16])
	return fhir.ID(x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32])
}

var benchSets sync.Map // patients → *benchSet

// openBenchSet returns the data set of n patients, building it if it is
// not kept yet. The store stays open for the process.
func openBenchSet(b testing.TB, n int) *benchSet {
	if v, ok := benchSets.Load(n); ok {
		return v.(*benchSet)
	}
	root := *benchDir
	if root == "" {
		root = os.TempDir()
	}
	dir := filepath.Join(root, fmt.Sprintf("cpms-searchbench-s%d-g%d-%d", schemaVersion, benchDataVersion, n))
	set := newBenchSet(n)
	if _, err := os.Stat(filepath.Join(dir, "complete")); err != nil {
		b.Logf("building the search benchmark's data set of %d patients in %s", n, dir)
		start := time.Now()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		if err := set.build(context.Background(), dir); err != nil {
			b.Fatal(err)
		}
		b.Logf("built in %v", time.Since(start).Round(time.Second))
	}
	s, err := Open(context.Background(), dir, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	set.s = s
	v, _ := benchSets.LoadOrStore(n, set)
	return v.(*benchSet)
}

// newBenchSet returns the vocabularies of a data set of n patients: one
// family name for five patients (2,000 at 10k), 1,000 given names, 200
// observation codes and 300 condition codes.
func newBenchSet(n int) *benchSet {
	return &benchSet{patients: n, families: words(1, max(n/5, 20)), obsCodes: codes("L", 200), conCodes: codes("C", 300)}
}

// codes returns n codes prefix0001...
func codes(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d-%d", prefix, i, i%10)
	}
	return out
}

// build writes the data set into a new store in dir.
func (set *benchSet) build(ctx context.Context, dir string) error {
	s, err := Open(ctx, dir, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if err := set.fill(ctx, s); err != nil {
		s.Close()
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "complete"), nil, 0o640)
}

// benchPut is a resource of the data set to write, with its index.
type benchPut struct {
	r   *fhir.Resource
	idx *search.Index
}

// The ranges of the data set's dates.
var (
	benchGivens   = words(2, 1000)
	day           = int64(24 * time.Hour / time.Millisecond)
	birthStart    = time.Date(1935, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	clinicalStart = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	tenYears      = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() - clinicalStart
)

// writeBatch writes the resources in one transaction.
func writeBatch(ctx context.Context, s *Store, batch []benchPut) error {
	return s.Write(ctx, func(tx engine.Tx) error {
		now := tx.Now()
		for _, p := range batch {
			p.r.LastUpdated = now
			if err := tx.Put(ctx, p.r, p.idx); err != nil {
				return err
			}
		}
		return nil
	})
}

// fill writes the data set into s, 20 patients to a transaction.
func (set *benchSet) fill(ctx context.Context, s *Store) error {
	var batch []benchPut
	add := func(t fhir.ResourceType, id fhir.ID, body string, idx *search.Index) {
		batch = append(batch, benchPut{&fhir.Resource{Type: t, ID: id, Version: 1, Method: fhir.MethodPost, Body: []byte(body)}, idx})
	}
	for o := range benchOrgs {
		id := uuid(fmt.Sprint("org", o))
		name := "Hospital " + benchCities[o]
		add("Organization", id, fmt.Sprintf(`{"resourceType":"Organization","id":"%s","name":"%s"}`, id, name),
			&search.Index{Strings: []search.String{{Param: "name", Value: search.Fold(name), Exact: name}}})
	}
	rng := rand.New(rand.NewPCG(42, 42))
	for i := range set.patients {
		set.patient(rng, i, add)
		if len(batch) >= 1200 || i == set.patients-1 {
			if err := writeBatch(ctx, s, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

// patient adds patient i with its encounters, conditions and
// observations.
func (set *benchSet) patient(rng *rand.Rand, i int, add func(t fhir.ResourceType, id fhir.ID, body string, idx *search.Index)) {
	givens := benchGivens
	pid := uuid(fmt.Sprint("patient", i))
	family, given := set.families[rng.IntN(len(set.families))], givens[rng.IntN(len(givens))]
	birth := birthStart + rng.Int64N(90*365)*day
	gender := []string{"male", "female", "male", "female", "other", "unknown"}[min(rng.IntN(50), 5)]
	city := benchCities[rng.IntN(len(benchCities))]
	org := uuid(fmt.Sprint("org", rng.IntN(benchOrgs)))
	mrn := fmt.Sprintf("MRN%08d", i)
	bd := time.UnixMilli(birth).UTC().Format("2006-01-02")
	add("Patient", pid, fmt.Sprintf(`{"resourceType":"Patient","id":"%s","identifier":[{"system":"urn:oid:1.2.36.146.595.217.0.1","value":"%s"}],`+
		`"active":true,"name":[{"family":"%s","given":["%s"]}],"gender":"%s","birthDate":"%s","address":[{"city":"%s"}],`+
		`"managingOrganization":{"reference":"Organization/%s"}}`, pid, mrn, family, given, gender, bd, city, org),
		&search.Index{
			Tokens: []search.Token{{Param: "identifier", System: "urn:oid:1.2.36.146.595.217.0.1", Code: mrn},
				{Param: "gender", System: "http://hl7.org/fhir/administrative-gender", Code: gender},
				{Param: "active", Code: "true"}},
			Strings: []search.String{{Param: "family", Value: search.Fold(family), Exact: family},
				{Param: "given", Value: search.Fold(given), Exact: given},
				{Param: "name", Value: search.Fold(family), Exact: family}, {Param: "name", Value: search.Fold(given), Exact: given},
				{Param: "address-city", Value: search.Fold(city), Exact: city}},
			Dates:      []search.Date{{Param: "birthdate", Lo: birth, Hi: birth + day}},
			References: []search.Reference{{Param: "organization", Type: "Organization", ID: org}},
		})
	subject := []search.Reference{{Param: "subject", Type: "Patient", ID: pid}, {Param: "patient", Type: "Patient", ID: pid}}
	var encounters []fhir.ID
	for j := range 15 {
		eid := uuid(fmt.Sprintf("enc%d-%d", i, j))
		encounters = append(encounters, eid)
		start := clinicalStart + rng.Int64N(tenYears/1000)*1000
		class := []string{"AMB", "EMER", "IMP"}[rng.IntN(3)]
		typ := fmt.Sprintf("E%03d", rng.IntN(50))
		add("Encounter", eid, fmt.Sprintf(`{"resourceType":"Encounter","id":"%s","status":"finished","class":{"code":"%s"},`+
			`"type":[{"coding":[{"system":"http://snomed.info/sct","code":"%s"}]}],"subject":{"reference":"Patient/%s"},`+
			`"period":{"start":"%s","end":"%s"}}`, eid, class, typ, pid, instant(start), instant(start+3600000)),
			&search.Index{
				Tokens: []search.Token{{Param: "status", System: "http://hl7.org/fhir/encounter-status", Code: "finished"},
					{Param: "class", System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: class},
					{Param: "type", System: "http://snomed.info/sct", Code: typ}},
				References: subject,
				Dates:      []search.Date{{Param: "date", Lo: start, Hi: start + 3600000 + 1000}},
			})
	}
	for j := range 14 {
		cid := uuid(fmt.Sprintf("con%d-%d", i, j))
		code := set.conCodes[rng.IntN(len(set.conCodes))]
		onset := clinicalStart + rng.Int64N(tenYears/1000)*1000
		status := []string{"active", "resolved"}[rng.IntN(2)]
		enc := encounters[rng.IntN(len(encounters))]
		add("Condition", cid, fmt.Sprintf(`{"resourceType":"Condition","id":"%s","clinicalStatus":{"coding":[{"code":"%s"}]},`+
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"%s","display":"Condition %s"}]},`+
			`"subject":{"reference":"Patient/%s"},"encounter":{"reference":"Encounter/%s"},"onsetDateTime":"%s"}`,
			cid, status, code, code, pid, enc, instant(onset)),
			&search.Index{
				Tokens: []search.Token{{Param: "code", System: "http://snomed.info/sct", Code: code, Text: "condition " + strings.ToLower(code)},
					{Param: "clinical-status", System: "http://terminology.hl7.org/CodeSystem/condition-clinical", Code: status},
					{Param: "verification-status", System: "http://terminology.hl7.org/CodeSystem/condition-ver-status", Code: "confirmed"},
					{Param: "category", System: "http://terminology.hl7.org/CodeSystem/condition-category", Code: "problem-list-item"}},
				References: append(append([]search.Reference(nil), subject...), search.Reference{Param: "encounter", Type: "Encounter", ID: enc}),
				Dates:      []search.Date{{Param: "onset-date", Lo: onset, Hi: onset + 1000}, {Param: "recorded-date", Lo: onset, Hi: onset + 1000}},
			})
	}
	for j := range 30 {
		oid := uuid(fmt.Sprintf("obs%d-%d", i, j))
		ci := rng.IntN(len(set.obsCodes))
		code := set.obsCodes[ci]
		unit := obsUnits[ci%len(obsUnits)]
		value := float64(rng.IntN(20000)) / 100
		when := clinicalStart + rng.Int64N(tenYears/1000)*1000
		category := []string{"vital-signs", "laboratory", "survey", "social-history", "exam"}[ci%5]
		enc := encounters[rng.IntN(len(encounters))]
		q := search.Quantity{Lo: value, Hi: value, System: "http://unitsofmeasure.org", Code: unit.code, Unit: unit.code}
		if unit.canonical != "" {
			q.CanonicalCode, q.CanonicalLo, q.CanonicalHi = unit.canonical, value*10, value*10
		}
		qv, cv := q, q
		qv.Param, cv.Param = "value-quantity", "combo-value-quantity"
		tok := search.Token{System: "http://loinc.org", Code: code}
		add("Observation", oid, fmt.Sprintf(`{"resourceType":"Observation","id":"%s","status":"final",`+
			`"category":[{"coding":[{"code":"%s"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"%s","display":"Observation %s"}]},`+
			`"subject":{"reference":"Patient/%s"},"encounter":{"reference":"Encounter/%s"},"effectiveDateTime":"%s",`+
			`"valueQuantity":{"value":%g,"unit":"%s","system":"http://unitsofmeasure.org","code":"%s"}}`,
			oid, category, code, code, pid, enc, instant(when), value, unit.code, unit.code),
			&search.Index{
				Tokens: []search.Token{{Param: "code", System: "http://loinc.org", Code: code, Text: "observation " + strings.ToLower(code)},
					{Param: "combo-code", System: "http://loinc.org", Code: code},
					{Param: "category", System: "http://terminology.hl7.org/CodeSystem/observation-category", Code: category},
					{Param: "status", System: "http://hl7.org/fhir/observation-status", Code: "final"}},
				References: append(append([]search.Reference(nil), subject...), search.Reference{Param: "encounter", Type: "Encounter", ID: enc}),
				Dates:      []search.Date{{Param: "date", Lo: when, Hi: when + 1000}},
				Quantities: []search.Quantity{qv, cv},
				Composites: []search.Composite{
					{Param: "code-value-quantity", Parts: []search.Part{{Token: &tok}, {Quantity: &q}}},
					{Param: "combo-code-value-quantity", Parts: []search.Part{{Token: &tok}, {Quantity: &q}}},
				},
			})
	}
}

func instant(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05Z") }
