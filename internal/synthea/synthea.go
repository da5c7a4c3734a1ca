// Package synthea reads the Synthea sample patients (one FHIR R4
// transaction Bundle per patient, in a .tar.gz) for tests and benchmarks:
// it turns a Bundle into its resources with the Bundle's urn:uuid
// references rewritten as Type/id, and replicates patients under fresh ids
// and identifiers to build larger data sets.
//
// It is not the server's Bundle processing (which handles any
// transaction); Synthea's Bundles only POST resources that refer to each
// other by urn:uuid, so a textual rewrite is exact for them.
package synthea

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
)

// Resource is one resource of a patient's Bundle.
type Resource struct {
	Type fhir.ResourceType
	ID   fhir.ID
	Body []byte
}

// ReadArchive calls fn with the name and JSON of each Bundle in the
// .tar.gz archive at file, in name order.
func ReadArchive(file string, fn func(name string, bundle []byte) error) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	type entry struct {
		name string
		data []byte
	}
	var entries []entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg || path.Ext(h.Name) != ".json" {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		entries = append(entries, entry{path.Base(h.Name), data})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	for _, e := range entries {
		if err := fn(e.name, e.data); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
	}
	return nil
}

type bundle struct {
	Type  string `json:"type"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

// Resources returns the resources of a Synthea transaction Bundle, with
// every "urn:uuid:X" reference to an entry rewritten as "Type/X" (X is
// also the resource's id).
func Resources(data []byte) ([]Resource, error) {
	var b bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, err
	}
	var out []Resource
	var pairs []string
	for i, e := range b.Entry {
		var head struct {
			ResourceType fhir.ResourceType `json:"resourceType"`
			ID           fhir.ID           `json:"id"`
		}
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		uuid, ok := strings.CutPrefix(e.FullURL, "urn:uuid:")
		if !ok || head.ID == "" {
			return nil, fmt.Errorf("entry %d: fullUrl %q and id %q: not a Synthea entry", i, e.FullURL, head.ID)
		}
		if string(head.ID) != uuid {
			return nil, fmt.Errorf("entry %d: id %q differs from its fullUrl %q", i, head.ID, e.FullURL)
		}
		pairs = append(pairs, `"`+e.FullURL+`"`, `"`+string(head.ResourceType)+"/"+uuid+`"`)
		out = append(out, Resource{Type: head.ResourceType, ID: head.ID, Body: e.Resource})
	}
	r := strings.NewReplacer(pairs...)
	for i := range out {
		out[i].Body = []byte(r.Replace(string(out[i].Body)))
	}
	return out, nil
}

// Replicate returns copy k of a patient's resources: copy 0 is the
// original; in the others every id gets the suffix "-k" (in the resources
// and in references to them) and every identifier value of the Patient
// the same suffix, so that copies are distinct patients with the same
// clinical content.
func Replicate(rs []Resource, k int) []Resource {
	if k == 0 {
		return rs
	}
	suffix := fmt.Sprintf("-%d", k)
	var pairs []string
	for _, r := range rs {
		pairs = append(pairs,
			`"id":"`+string(r.ID)+`"`, `"id":"`+string(r.ID)+suffix+`"`,
			`"`+string(r.Type)+"/"+string(r.ID)+`"`, `"`+string(r.Type)+"/"+string(r.ID)+suffix+`"`)
	}
	rep := strings.NewReplacer(pairs...)
	out := make([]Resource, len(rs))
	for i, r := range rs {
		body := compact(r.Body)
		body = []byte(rep.Replace(string(body)))
		if r.Type == "Patient" {
			body = suffixIdentifiers(body, suffix)
		}
		out[i] = Resource{Type: r.Type, ID: r.ID + fhir.ID(suffix), Body: body}
	}
	return out
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// suffixIdentifiers appends suffix to the value of each identifier of a
// Patient.
func suffixIdentifiers(body []byte, suffix string) []byte {
	var p map[string]json.RawMessage
	if json.Unmarshal(body, &p) != nil {
		return body
	}
	var ids []map[string]any
	if json.Unmarshal(p["identifier"], &ids) != nil {
		return body
	}
	for _, id := range ids {
		if v, ok := id["value"].(string); ok {
			id["value"] = v + suffix
		}
	}
	raw, err := json.Marshal(ids)
	if err != nil {
		return body
	}
	p["identifier"] = raw
	out, err := json.Marshal(p)
	if err != nil {
		return body
	}
	return out
}
