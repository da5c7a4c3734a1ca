package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/importers/bulk"
	imp "github.com/cpms-fhir/cpms/importers/terminology"
	"github.com/cpms-fhir/cpms/terminology"
)

// terminologyCmd runs "cpms terminology <command>".
func terminologyCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "usage: cpms terminology import [flags] FILE...   (cpms terminology import -h for the flags)")
		return 2
	}
	return terminologyImport(args[1:], stdout, stderr)
}

// Release formats terminologyImport reads, detected from a file's name
// and first bytes.
const (
	fmtHPOOBO          = "hpo-obo"
	fmtHPOJSON         = "hpo-json"
	fmtICD10ClaML      = "icd10-claml"
	fmtLOINCCSV        = "loinc-csv"
	fmtOrphaProduct1   = "orphanet-product1"
	fmtOrphaProduct3   = "orphanet-product3"
	fmtOrphaTranslated = "orphanet-product1-translation"
	fmtFHIR            = "fhir"
	sniffBytes         = 4096
)

// terminologyImport runs "cpms terminology import": official releases
// turned into CodeSystems (and ConceptMaps) and stored, each release a
// resource of its own, so a newer release is a new CodeSystem version
// beside the old one.
func terminologyImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("terminology import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var where storeFlags
	where.add(fs, "data directory of the embedded store; the server must be stopped")
	base := fs.String("base-url", env("CPMS_BASE_URL", ""), "public base URL of the FHIR API, as the server runs with (CPMS_BASE_URL)")
	url := fs.String("url", "", "FHIR base URL of a running server to load into (http://host:8080/fhir) instead of --data")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: cpms terminology import [flags] FILE...

Reads official terminology releases, plain or compressed (.gz, .bz2),
and stores each as a CodeSystem (with ConceptMaps for the mappings it
carries). The format is recognised from the file:

  HPO            hp.obo (OBO 1.2/1.4), hp.json (OBO Graphs JSON)
  WHO ICD-10     ClaML XML
  LOINC          Loinc.csv
  Orphanet       Orphadata nomenclature XML (en_product1.xml) with, in the
                 same command, its classifications (en_product3_*.xml)
                 and translations (fr_product1.xml ...)
  FHIR           CodeSystem, ValueSet or ConceptMap JSON, or a Bundle of them

A release keeps its version: importing a newer one adds a CodeSystem
version and keeps the older; importing the same one again changes
nothing.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	log, err := newLogger(stderr, "info", "text")
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var total int64
	for _, name := range fs.Args() {
		st, err := os.Stat(name)
		if err != nil {
			fmt.Fprintln(stderr, "cpms terminology import:", err)
			return 2
		}
		total += st.Size()
	}
	var p bulk.Progress
	start := time.Now()
	done, shown := make(chan struct{}), make(chan struct{})
	go func() {
		showProgress(stderr, isTerminal(stderr), &p, total, start, done)
		close(shown)
	}()
	resources, err := readReleases(fs.Args(), &p.Read)
	close(done)
	<-shown
	if err != nil {
		fmt.Fprintln(stderr, "cpms terminology import:", err)
		return 1
	}

	sink, closeSink, err := openSink(ctx, log, *url, &where, *base)
	if err != nil {
		fmt.Fprintln(stderr, "cpms terminology import:", err)
		return 1
	}
	defer closeSink()
	failed := 0
	for _, r := range resources {
		errs, err := sink.Load(ctx, []bulk.Item{r.item})
		if err == nil && len(errs) > 0 {
			err = errs[0]
		}
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "not loaded: %s/%s (%s): %v\n", r.item.Type, r.item.ID, r.summary, err)
			continue
		}
		fmt.Fprintf(stdout, "stored %s/%s: %s\n", r.item.Type, r.item.ID, r.summary)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// release is one resource made from the files, ready to store.
type release struct {
	item    bulk.Item
	summary string
}

// readReleases parses the files into resources. Orphanet classifications
// and translations are merged into the Orphanet nomenclature of the same
// command, so their files may come in any order. read counts the bytes
// consumed, for the progress display.
func readReleases(names []string, read *atomic.Int64) ([]release, error) {
	type file struct{ name, format string }
	var files []file
	for _, name := range names {
		format, err := detectFormat(name)
		if err != nil {
			return nil, err
		}
		files = append(files, file{name, format})
	}
	var out []release
	add := func(v any, summary string) error {
		body, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var head struct{ ResourceType, ID string }
		json.Unmarshal(body, &head)
		if !fhir.ID(head.ID).Valid() {
			return fmt.Errorf("%s: the release gives no usable id", summary)
		}
		out = append(out, release{bulk.Item{Type: fhir.ResourceType(head.ResourceType), ID: fhir.ID(head.ID), Body: body}, summary})
		return nil
	}
	describe := func(cs *terminology.CodeSystem) string {
		return fmt.Sprintf("%s version %s, %d concepts", cs.URL, cs.Version, len(cs.Concept))
	}
	var orpha *imp.OrphaNomenclature
	for _, f := range files {
		if f.format != fmtOrphaProduct1 {
			continue
		}
		if orpha != nil {
			return nil, fmt.Errorf("%s: one Orphanet nomenclature per import", f.name)
		}
		n, err := parseFile(f.name, read, imp.OrphaProduct1)
		if err != nil {
			return nil, err
		}
		orpha = n
	}
	for _, f := range files {
		var err error
		switch f.format {
		case fmtHPOOBO, fmtHPOJSON, fmtICD10ClaML, fmtLOINCCSV:
			parse := map[string]func(io.Reader) (*terminology.CodeSystem, error){
				fmtHPOOBO: imp.HPOOBO, fmtHPOJSON: imp.HPOJSON, fmtICD10ClaML: imp.ICD10ClaML, fmtLOINCCSV: imp.LOINCTable}[f.format]
			var cs *terminology.CodeSystem
			if cs, err = parseFile(f.name, read, parse); err == nil {
				err = add(cs, describe(cs))
			}
		case fmtOrphaTranslated:
			if orpha == nil {
				return nil, fmt.Errorf("%s: a translation needs the English nomenclature (en_product1.xml) in the same import", f.name)
			}
			_, err = parseFile(f.name, read, func(r io.Reader) (int, error) { return imp.AddOrphaTranslation(orpha.CodeSystem, r) })
		case fmtOrphaProduct3:
			if orpha == nil {
				return nil, fmt.Errorf("%s: a classification needs the nomenclature (en_product1.xml) in the same import", f.name)
			}
			_, err = parseFile(f.name, read, func(r io.Reader) (imp.OrphaClassification, error) {
				return imp.MergeOrphaClassification(orpha.CodeSystem, r)
			})
		case fmtFHIR:
			var rs []json.RawMessage
			if rs, err = parseFile(f.name, read, fhirResources); err == nil {
				for _, r := range rs {
					var head struct{ ResourceType, ID, URL, Version string }
					json.Unmarshal(r, &head)
					if !fhir.ID(head.ID).Valid() {
						return nil, fmt.Errorf("%s: a %s without an id", f.name, head.ResourceType)
					}
					out = append(out, release{bulk.Item{Type: fhir.ResourceType(head.ResourceType), ID: fhir.ID(head.ID), Body: r},
						head.URL + " version " + head.Version})
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if orpha != nil {
		if err := add(orpha.CodeSystem, describe(orpha.CodeSystem)); err != nil {
			return nil, err
		}
		for _, m := range []*terminology.ConceptMap{orpha.ICD10, orpha.OMIM} {
			if m == nil {
				continue
			}
			if err := add(m, m.URL+" version "+m.Version); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// parseFile opens a release (decompressing .gz and .bz2) and parses it,
// counting the bytes of the file read into read.
func parseFile[T any](name string, read *atomic.Int64, parse func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(name)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	r, err := imp.Decompress(name, &countReader{r: f, n: read})
	if err != nil {
		return zero, err
	}
	defer r.Close()
	v, err := parse(r)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// detectFormat recognises a release from its name and first bytes.
func detectFormat(name string) (string, error) {
	f, err := imp.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, sniffBytes)
	n, _ := io.ReadFull(bufio.NewReader(f), head)
	head = head[:n]
	base := strings.ToLower(filepath.Base(name))
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".bz2")
	switch {
	case strings.HasSuffix(base, ".obo"):
		return fmtHPOOBO, nil
	case bytes.Contains(head, []byte("<ClaML")):
		return fmtICD10ClaML, nil
	case bytes.Contains(head, []byte("<JDBOR")) && bytes.Contains(head, []byte("<ClassificationList")):
		return fmtOrphaProduct3, nil
	case bytes.Contains(head, []byte("<JDBOR")):
		if m := nameLang.FindSubmatch(head); m != nil && string(m[1]) != "en" {
			return fmtOrphaTranslated, nil
		}
		return fmtOrphaProduct1, nil
	case strings.HasSuffix(base, ".csv") && bytes.Contains(head, []byte("LOINC_NUM")):
		return fmtLOINCCSV, nil
	case bytes.Contains(head, []byte(`"graphs"`)):
		return fmtHPOJSON, nil
	case bytes.Contains(head, []byte(`"resourceType"`)):
		return fmtFHIR, nil
	}
	return "", fmt.Errorf("%s: not a release this command reads (HPO .obo or .json, ICD-10 ClaML, Loinc.csv, Orphadata XML, FHIR JSON)", name)
}

// nameLang finds the language of the first name in an Orphadata file.
var nameLang = regexp.MustCompile(`<Name lang="([a-zA-Z-]+)"`)

// fhirResources reads the CodeSystems, ValueSets and ConceptMaps of a
// FHIR JSON document: one of them, or a Bundle.
func fhirResources(r io.Reader) ([]json.RawMessage, error) {
	var doc struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	list := []json.RawMessage{data}
	if doc.ResourceType == "Bundle" {
		list = nil
		for _, e := range doc.Entry {
			list = append(list, e.Resource)
		}
	}
	var out []json.RawMessage
	for _, res := range list {
		var head struct{ ResourceType string }
		json.Unmarshal(res, &head)
		switch head.ResourceType {
		case "CodeSystem", "ValueSet", "ConceptMap":
			out = append(out, res)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no CodeSystem, ValueSet or ConceptMap in the document")
	}
	return out, nil
}
