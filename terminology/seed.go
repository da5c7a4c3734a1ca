package terminology

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"slices"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

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
			data, err := seedFile(name)
			if err == nil {
				err = eachResource(data, s.loadResource)
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

// seedFile returns the JSON of an embedded seed file, gunzipped into a
// buffer of its size (which gzip records at its end).
func seedFile(name string) ([]byte, error) {
	z, err := seedFS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	var size uint32
	if len(z) >= 4 {
		size = binary.LittleEndian.Uint32(z[len(z)-4:])
	}
	buf := bytes.NewBuffer(make([]byte, 0, int(size)+bytes.MinRead))
	if _, err := buf.ReadFrom(zr); err != nil {
		return nil, err
	}
	return buf.Bytes(), zr.Close()
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
	return eachResource(data, s.loadResource)
}

// eachResource calls fn with each resource of a JSON document: the
// document itself, or each entry of a Bundle, read one at a time as the
// document streams by: the seed's large code systems are scanned once,
// not once per level. fn may keep the bytes it is given.
func eachResource(data []byte, fn func([]byte) error) error {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return fmt.Errorf("not a JSON object")
	}
	resourceType, entries := "", 0
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		switch name.String() {
		case "resourceType":
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			resourceType = tok.String()
		case "entry":
			if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
				return fmt.Errorf("entry is not an array")
			}
			for dec.PeekKind() != ']' {
				raw, err := entryResource(dec)
				if err == nil {
					err = fn(raw)
				}
				if err != nil {
					return fmt.Errorf("entry[%d]: %w", entries, err)
				}
				entries++
			}
			if _, err := dec.ReadToken(); err != nil {
				return err
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return err
			}
		}
	}
	if resourceType != "Bundle" {
		return fn(data)
	}
	return nil
}

// entryResource reads a Bundle entry and returns a copy of its resource
// (nil if it has none).
func entryResource(dec *jsontext.Decoder) ([]byte, error) {
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	var raw []byte
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		if name.String() != "resource" {
			if err := dec.SkipValue(); err != nil {
				return nil, err
			}
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		raw = bytes.Clone(v) // v is the decoder's, valid until it reads on
	}
	_, err := dec.ReadToken()
	return raw, err
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
		data, err := seedFile(name)
		if err != nil {
			return err
		}
		err = eachResource(data, func(raw []byte) error {
			rt, err := resourceTypeOf(raw)
			if err != nil {
				return err
			}
			if !slices.Contains(ResourceTypes, fhir.ResourceType(rt)) {
				return nil
			}
			var head struct {
				ID string `json:"id"`
			}
			if err := jsonv2.Unmarshal(raw, &head); err != nil {
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
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.ReadToken(); err == nil && tok.Kind() == '{' {
		if key, err := dec.ReadToken(); err == nil && key.String() == "resourceType" {
			if rt, err := dec.ReadToken(); err == nil && rt.Kind() == '"' {
				return rt.String(), nil
			}
		}
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	err := jsonv2.Unmarshal(data, &head)
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
		if err := jsonv2.Unmarshal(data, &cs); err != nil {
			return err
		}
		if cs.URL != "" && cs.Content != "not-present" {
			s.AddCodeSystem(&cs)
		}
	case "ValueSet":
		var vs ValueSet
		if err := jsonv2.Unmarshal(data, &vs); err != nil {
			return err
		}
		if vs.URL != "" {
			s.AddValueSet(&vs)
		}
	case "ConceptMap":
		var cm ConceptMap
		if err := jsonv2.Unmarshal(data, &cm); err != nil {
			return err
		}
		if cm.URL != "" {
			s.AddConceptMap(&cm)
		}
	}
	return nil
}
