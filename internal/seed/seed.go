// Package seed builds the CPMS terminology seed, the code systems and
// concept maps a fresh server knows, from the official releases in
// ../shared/data/terminology (see its README for each source and
// licence). The generator (internal/cmd/genseed) writes what Build
// returns; the tests check the embedded seed is a fresh build.
package seed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	imp "github.com/cpms-fhir/cpms/importers/terminology"
	ts "github.com/cpms-fhir/cpms/terminology"
)

// File is one seed file: a Bundle (type collection) of resources.
type File struct {
	Name      string
	JSON      []byte
	Resources int
}

// orphaDataVersion is the Orphadata release of the shared sources (see
// their README).
const orphaDataVersion = "1.3.42 / 4.1.8 [2025-03-03]"

// Build reads the sources under src and returns the seed files, in a
// fixed order and byte for byte the same on every run.
func Build(src string) ([]File, error) {
	path := func(p ...string) string { return filepath.Join(append([]string{src}, p...)...) }
	var files []File
	add := func(name string, resources ...any) error {
		f, err := bundle(name, resources)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	}

	hpo, err := read(path("hpo", "hp.v2026-01-08.json.gz"), imp.HPOJSON)
	if err != nil {
		return nil, err
	}
	if err := add("cpms-hpo.json.gz", hpo); err != nil {
		return nil, err
	}

	chapters, err := read(path("icd10-fr", "chapters_index.json"), imp.ReadICD10Chapters)
	if err != nil {
		return nil, err
	}
	icd10, err := read(path("icd10-who", "icd10-who-ehdsi-8.1.0.tsv.gz"), func(r io.Reader) (*ts.CodeSystem, error) {
		return imp.ICD10TSV(r, imp.WithICD10Chapters(chapters))
	})
	if err != nil {
		return nil, err
	}
	if _, err := read(path("icd10-fr", "cim10-fr-2016.tsv.gz"), func(r io.Reader) (int, error) { return imp.ICD10AddFrench(icd10, r) }); err != nil {
		return nil, err
	}
	if err := add("cpms-icd10.json.gz", icd10); err != nil {
		return nil, err
	}

	loinc, err := read(path("loinc", "loinc-codes-observed-in-fhir-sources.tsv.gz"), imp.LOINCTSV)
	if err != nil {
		return nil, err
	}
	if err := add("cpms-loinc.json.gz", loinc); err != nil {
		return nil, err
	}

	rel, err := imp.ParseOrphaRelease(orphaDataVersion)
	if err != nil {
		return nil, err
	}
	orpha, err := read(path("orphanet", "orphanet-nomenclature-2025.tsv.gz"), func(r io.Reader) (*ts.CodeSystem, error) { return imp.OrphaTSV(r, rel) })
	if err != nil {
		return nil, err
	}
	classifications, err := filepath.Glob(path("orphanet", "classifications", "en_product3_*.xml.gz"))
	if err != nil {
		return nil, err
	}
	sort.Strings(classifications)
	for _, c := range classifications {
		if _, err := read(c, func(r io.Reader) (imp.OrphaClassification, error) { return imp.MergeOrphaClassification(orpha, r) }); err != nil {
			return nil, err
		}
	}
	packets, err := read(path("orphanet", "orphapackets-json-2025-12.tar.gz"), imp.OrphaPacketsTar)
	if err != nil {
		return nil, err
	}
	packets.AddDefinitions(orpha)
	if err := add("cpms-orphanet.json.gz", orpha); err != nil {
		return nil, err
	}
	icdMap, err := read(path("orphanet", "orpha-icd10-mappings-2025-03.tsv.gz"), func(r io.Reader) (*ts.ConceptMap, error) { return imp.OrphaICD10MapTSV(r, rel) })
	if err != nil {
		return nil, err
	}
	omimMap, err := read(path("orphanet", "orphanet-nomenclature-2025.tsv.gz"), func(r io.Reader) (*ts.ConceptMap, error) { return imp.OrphaOMIMMapTSV(r, rel) })
	if err != nil {
		return nil, err
	}
	hpoMap, err := read(path("orphanet", "orphanet-hpo-associations-2025.tsv.gz"), func(r io.Reader) (*ts.ConceptMap, error) { return imp.OrphaHPOMapTSV(r, rel) })
	if err != nil {
		return nil, err
	}
	// The displays of mapped concepts are left to the code systems, which
	// $translate reads them from: they would double the seed's largest
	// file (115,878 ORPHA–HPO associations) and its load time.
	for _, m := range []*ts.ConceptMap{icdMap, hpoMap} {
		dropDisplays(m)
	}
	if err := add("cpms-orphanet-maps.json.gz", icdMap, omimMap, hpoMap); err != nil {
		return nil, err
	}

	iccc, err := read(path("iccc3-icdo3", "iccc3-icdo3-codes.tsv"), imp.ICCC3TSV)
	if err != nil {
		return nil, err
	}
	var oncology []any
	for _, cs := range iccc {
		oncology = append(oncology, cs)
	}
	if err := add("cpms-iccc3-icdo3.json.gz", oncology...); err != nil {
		return nil, err
	}
	return files, nil
}

// dropDisplays removes the displays of the concepts m maps, both sides.
func dropDisplays(m *ts.ConceptMap) {
	for g := range m.Group {
		for e := range m.Group[g].Element {
			el := &m.Group[g].Element[e]
			el.Display = ""
			for t := range el.Target {
				el.Target[t].Display = ""
			}
		}
	}
}

// read opens a source (compressed or not) and parses it with parse.
func read[T any](name string, parse func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := imp.Open(name)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	v, err := parse(f)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// bundle renders resources as a collection Bundle, one resource a line.
func bundle(name string, resources []any) (File, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"resourceType":"Bundle","type":"collection","entry":[`)
	for i, r := range resources {
		b, err := json.Marshal(r)
		if err != nil {
			return File{}, fmt.Errorf("%s: %w", name, err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n{\"resource\":")
		buf.Write(b)
		buf.WriteByte('}')
	}
	buf.WriteString("\n]}\n")
	return File{Name: name, JSON: buf.Bytes(), Resources: len(resources)}, nil
}
