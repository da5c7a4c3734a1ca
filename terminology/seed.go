package terminology

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"slices"
	"sync"

	"github.com/cpms-fhir/cpms/fhir"
)

// The seed is what a fresh server knows without any import: the code
// systems and value sets of FHIR R4 (valuesets.json and
// v3-codesystems.json of the R4 definitions, unchanged) and the CPMS
// terminologies generated from the official releases by
// internal/cmd/genseed (see seed/README.md for sources and licences).
//
//go:generate go run ../internal/cmd/genseed -out seed
//go:embed seed/*.json.gz
var seedFS embed.FS

// LoadSeed adds the embedded seed to s. The files are decoded in
// parallel; a corrupt seed is a build defect and is reported as an
// error.
func LoadSeed(s *Service) error {
	names, err := fs.Glob(seedFS, "seed/*.json.gz")
	if err != nil {
		return err
	}
	errs := make([]error, len(names))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			data, err := seedFS.ReadFile(name)
			if err == nil {
				err = s.LoadJSON(bytes.NewReader(data), true)
			}
			if err != nil {
				errs[i] = fmt.Errorf("terminology seed %s: %w", name, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// LoadJSON adds the CodeSystems, ValueSets and ConceptMaps of one JSON
// document: a resource, or a Bundle of them (other resources are
// skipped). gzipped says the document is gzip-compressed. A Bundle's
// entries are decoded one at a time as the document streams by: the
// seed's large code systems are read once, not once per level.
func (s *Service) LoadJSON(r io.Reader, gzipped bool) error {
	if gzipped {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return eachResource(data, func(raw json.RawMessage) error { return s.loadResource(raw) })
}

// eachResource calls fn with each resource of a JSON document: the
// document itself, or each entry of a Bundle, decoded one at a time as
// the document streams by.
func eachResource(data []byte, fn func(json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("not a JSON object")
	}
	resourceType, entries := "", 0
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		switch key {
		case "resourceType":
			if err := dec.Decode(&resourceType); err != nil {
				return err
			}
		case "entry":
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return fmt.Errorf("entry is not an array")
			}
			for dec.More() {
				var e struct {
					Resource json.RawMessage `json:"resource"`
				}
				if err := dec.Decode(&e); err != nil {
					return fmt.Errorf("entry[%d]: %w", entries, err)
				}
				if err := fn(e.Resource); err != nil {
					return fmt.Errorf("entry[%d]: %w", entries, err)
				}
				entries++
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
	}
	if resourceType != "Bundle" {
		return fn(data)
	}
	return nil
}

// SeedDigest identifies the embedded seed: a server that stored one seed
// knows from it whether the binary brings another.
func SeedDigest() (string, error) {
	names, err := fs.Glob(seedFS, "seed/*.json.gz")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, name := range names {
		data, err := seedFS.ReadFile(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// SeedResources calls fn with every CodeSystem, ValueSet and ConceptMap of
// the embedded seed, as JSON, so that a server can store them as
// resources to read and search like any other.
func SeedResources(fn func(t fhir.ResourceType, id fhir.ID, body []byte) error) error {
	names, err := fs.Glob(seedFS, "seed/*.json.gz")
	if err != nil {
		return err
	}
	for _, name := range names {
		z, err := seedFS.ReadFile(name)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bytes.NewReader(z))
		if err != nil {
			return err
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		err = eachResource(data, func(raw json.RawMessage) error {
			rt, err := resourceTypeOf(raw)
			if err != nil {
				return err
			}
			if !slices.Contains(ResourceTypes, fhir.ResourceType(rt)) {
				return nil
			}
			var head struct{ ID string }
			if err := json.Unmarshal(raw, &head); err != nil {
				return err
			}
			return fn(fhir.ResourceType(rt), fhir.ID(head.ID), raw)
		})
		if err != nil {
			return fmt.Errorf("terminology seed %s: %w", name, err)
		}
	}
	return nil
}

// resourceTypeOf reads the resourceType of a resource, looking at its
// first member before decoding the whole.
func resourceTypeOf(data []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err == nil && t == json.Delim('{') {
		if key, err := dec.Token(); err == nil && key == "resourceType" {
			var rt string
			if err := dec.Decode(&rt); err == nil {
				return rt, nil
			}
		}
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	err := json.Unmarshal(data, &head)
	return head.ResourceType, err
}

// Load adds one CodeSystem, ValueSet or ConceptMap given as JSON (other
// resources are skipped), as the seed is loaded.
func (s *Service) Load(body []byte) error { return s.loadResource(body) }

func (s *Service) loadResource(data []byte) error {
	rt, err := resourceTypeOf(data)
	if err != nil {
		return err
	}
	switch rt {
	case "CodeSystem":
		var cs CodeSystem
		if err := json.Unmarshal(data, &cs); err != nil {
			return err
		}
		if cs.URL != "" && cs.Content != "not-present" {
			s.AddCodeSystem(&cs)
		}
	case "ValueSet":
		var vs ValueSet
		if err := json.Unmarshal(data, &vs); err != nil {
			return err
		}
		if vs.URL != "" {
			s.AddValueSet(&vs)
		}
	case "ConceptMap":
		var cm ConceptMap
		if err := json.Unmarshal(data, &cm); err != nil {
			return err
		}
		if cm.URL != "" {
			s.AddConceptMap(&cm)
		}
	}
	return nil
}
