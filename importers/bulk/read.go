// Package bulk reads FHIR data files for bulk ingest: Bundles (JSON), NDJSON
// (one resource per line), either compressed with gzip (.gz) or bzip2
// (.bz2), and directories of them. Every resource gets the id it will be
// stored under, so that loading the same files twice stores nothing new:
// its own id; else the uuid or oid of its Bundle entry's fullUrl; else an
// id derived from its first identifier, or from its content. References
// between the entries of a Bundle are rewritten to those ids.
package bulk

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	jsoniter "github.com/json-iterator/go"
)

// Item is one resource read, with the id it is stored under and where it
// was found ("file.json entry 3", "file.ndjson line 12").
type Item struct {
	Type  fhir.ResourceType
	ID    fhir.ID
	Body  []byte
	Where string
	// IfNoneExist are the criteria of a conditional create (a Bundle
	// entry's request.ifNoneExist): a resource they match in the store
	// stands for the item, which is then not stored (see Resolver).
	IfNoneExist string
	// Conditional says the item may hold conditional references
	// ("Patient?identifier=s|v"), resolved before it is stored.
	Conditional bool
}

// Problem is a resource or a file that cannot be loaded, and why.
type Problem struct {
	Where string
	Err   error
}

func (p Problem) Error() string { return p.Where + ": " + p.Err.Error() }

// Unit is what is loaded together: the resources of one Bundle, or of a
// run of NDJSON lines, and the problems found reading them.
type Unit struct {
	Items    []Item
	Problems []Problem
	// Read is how many bytes of the input files (as stored, compressed
	// or not) were consumed up to the end of this unit.
	Read int64
}

// File is an input file and its size as stored.
type File struct {
	Name string
	Size int64
}

// Files lists the files paths name: files as they are, directories
// walked for the names Supported accepts, in lexical order. It returns
// their total size too.
func Files(paths []string) ([]File, int64, error) {
	var out []File
	var size int64
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, 0, err
		}
		if !st.IsDir() {
			out, size = append(out, File{p, st.Size()}), size+st.Size()
			continue
		}
		var found []File
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && Supported(path) {
				info, err := d.Info()
				if err != nil {
					return err
				}
				found, size = append(found, File{path, info.Size()}), size+info.Size()
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
		slices.SortFunc(found, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, found...)
	}
	return out, size, nil
}

// Supported reports whether a file name is one bulk ingest reads: .json,
// .ndjson or .jsonl, each possibly followed by .gz or .bz2.
func Supported(name string) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(name), ".gz"), ".bz2")
	return strings.HasSuffix(base, ".json") || strings.HasSuffix(base, ".ndjson") || strings.HasSuffix(base, ".jsonl")
}

// ReadFile reads one file and passes its units to fn: a JSON file is one
// unit, an NDJSON file one unit per chunk lines. A file that cannot be
// read at all is one unit holding its problem.
func ReadFile(name string, chunk int, fn func(Unit) error) error {
	f, err := os.Open(name)
	if err != nil {
		return fn(Unit{Problems: []Problem{{Where: name, Err: err}}})
	}
	defer f.Close()
	counted := &countingReader{r: f}
	var r io.Reader = bufio.NewReaderSize(counted, 1<<16)
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".gz"):
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fn(Unit{Problems: []Problem{{Where: name, Err: fmt.Errorf("not gzip: %w", err)}}, Read: counted.n})
		}
		defer zr.Close()
		r, lower = zr, strings.TrimSuffix(lower, ".gz")
	case strings.HasSuffix(lower, ".bz2"):
		r, lower = bzip2.NewReader(r), strings.TrimSuffix(lower, ".bz2")
	}
	if strings.HasSuffix(lower, ".json") {
		data, err := io.ReadAll(r)
		if err != nil {
			return fn(Unit{Problems: []Problem{{Where: name, Err: err}}, Read: counted.n})
		}
		u := readJSON(name, bytes.TrimPrefix(data, utf8BOM))
		u.Read = counted.n
		return fn(u)
	}
	return readNDJSON(name, r, chunk, counted, fn)
}

// utf8BOM is the byte order mark some editors put at the start of a UTF-8
// file, which JSON readers may ignore (RFC 8259, section 8.1).
var utf8BOM = []byte("\xef\xbb\xbf")

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// head is what the reader needs of a resource.
type head struct {
	ResourceType fhir.ResourceType `json:"resourceType"`
	ID           fhir.ID           `json:"id"`
	// Identifier is a list in most types, one object in a few.
	Identifier json.RawMessage `json:"identifier"`
}

type identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// firstIdentifier returns the first identifier of a resource, if any.
func (h *head) firstIdentifier() (identifier, bool) {
	var list []identifier
	if json.Unmarshal(h.Identifier, &list) == nil && len(list) > 0 {
		return list[0], list[0].Value != ""
	}
	var one identifier
	if json.Unmarshal(h.Identifier, &one) == nil {
		return one, one.Value != ""
	}
	return identifier{}, false
}

// readJSON reads a Bundle, or a single resource.
func readJSON(name string, data []byte) Unit {
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
			Request  *struct {
				Method      string `json:"method"`
				IfNoneExist string `json:"ifNoneExist"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := decode(data, &b); err != nil {
		return Unit{Problems: []Problem{{Where: name, Err: jsonErr(data, err)}}}
	}
	if b.ResourceType != "Bundle" {
		it, err := item(data, "", name)
		if err != nil {
			return Unit{Problems: []Problem{{Where: name, Err: err}}}
		}
		return Unit{Items: []Item{it}}
	}
	var u Unit
	links := map[string]string{}
	for i, e := range b.Entry {
		where := fmt.Sprintf("%s entry %d", name, i)
		if len(e.Resource) == 0 {
			if e.Request != nil && strings.EqualFold(e.Request.Method, "DELETE") {
				u.Problems = append(u.Problems, Problem{Where: where, Err: errors.New("a delete: bulk ingest loads resources and deletes nothing")})
			}
			continue
		}
		it, err := item(e.Resource, e.FullURL, where)
		if err != nil {
			u.Problems = append(u.Problems, Problem{Where: where, Err: err})
			continue
		}
		if e.FullURL != "" {
			links[e.FullURL] = string(it.Type) + "/" + string(it.ID)
		}
		if e.Request != nil && e.Request.Method == "POST" {
			it.IfNoneExist = e.Request.IfNoneExist
		}
		u.Items = append(u.Items, it)
	}
	if len(links) == 0 {
		return dropPlaceholders(u)
	}
	for i := range u.Items {
		it := &u.Items[i]
		conditional := false
		body, _, err := engine.RewriteLinksFunc(it.Body, it.Type, func(reference bool, v string) (string, bool, error) {
			if to, ok := links[v]; ok {
				return to, true, nil
			}
			conditional = conditional || reference && engine.IsConditionalRef(v)
			return "", false, nil
		})
		if err == nil {
			it.Body, it.Conditional = body, conditional
		}
	}
	return dropPlaceholders(u)
}

// dropPlaceholders reports, rather than loads, the items that refer to a
// urn:uuid: or urn:oid: that is no entry's fullUrl (their links to
// entries are rewritten already): stored, such a reference would point
// nowhere, and a transaction refuses it.
func dropPlaceholders(u Unit) Unit {
	kept := u.Items[:0]
	for _, it := range u.Items {
		if ref := engine.FirstPlaceholder(it.Body, it.Type); ref != "" {
			u.Problems = append(u.Problems, Problem{Where: it.Where,
				Err: fmt.Errorf("the reference %q is the fullUrl of no entry of the file", ref)})
			continue
		}
		kept = append(kept, it)
	}
	u.Items = kept
	return u
}

// readNDJSON reads one resource per line, chunk lines per unit.
func readNDJSON(name string, r io.Reader, chunk int, counted *countingReader, fn func(Unit) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var u Unit
	for line := 1; ; line++ {
		text, err := br.ReadBytes('\n')
		if line == 1 {
			text = bytes.TrimPrefix(text, utf8BOM)
		}
		if t := bytes.TrimSpace(text); len(t) > 0 {
			where := fmt.Sprintf("%s line %d", name, line)
			if it, ierr := item(slices.Clone(t), "", where); ierr != nil {
				u.Problems = append(u.Problems, Problem{Where: where, Err: ierr})
			} else if ref := engine.FirstPlaceholder(it.Body, it.Type); ref != "" {
				u.Problems = append(u.Problems, Problem{Where: where, Err: fmt.Errorf("the reference %q names a Bundle entry, and NDJSON has none", ref)})
			} else {
				u.Items = append(u.Items, it)
			}
		}
		if err != nil {
			u.Read = counted.n
			if !errors.Is(err, io.EOF) {
				u.Problems = append(u.Problems, Problem{Where: fmt.Sprintf("%s line %d", name, line), Err: err})
			}
			if len(u.Items) > 0 || len(u.Problems) > 0 {
				return fn(u)
			}
			return nil
		}
		if len(u.Items) >= chunk {
			u.Read = counted.n
			if err := fn(u); err != nil {
				return err
			}
			u = Unit{}
		}
	}
}

// item reads a resource and gives it its id.
func item(body []byte, fullURL, where string) (Item, error) {
	var h head
	if err := decode(body, &h); err != nil {
		return Item{}, jsonErr(body, err)
	}
	if h.ResourceType == "" {
		return Item{}, errors.New("not a FHIR resource: no resourceType")
	}
	if err := engine.CheckType(h.ResourceType); err != nil {
		return Item{}, fmt.Errorf("unknown resource type %q", h.ResourceType)
	}
	// A conditional reference holds a "?"; a Bundle's items are looked
	// at more closely when their links are rewritten (readJSON).
	it := Item{Type: h.ResourceType, ID: h.ID, Body: body, Where: where, Conditional: bytes.IndexByte(body, '?') >= 0}
	if it.ID != "" {
		if !it.ID.Valid() {
			return Item{}, fmt.Errorf("invalid id %q", h.ID)
		}
		return it, nil
	}
	// No id: the fullUrl's uuid or oid, else a digest of the first
	// identifier (the same identifier is the same resource), else of the
	// content. The id goes into the body, as an update needs.
	ident, hasIdent := h.firstIdentifier()
	switch {
	case strings.HasPrefix(fullURL, "urn:uuid:") && fhir.ID(fullURL[9:]).Valid():
		it.ID = fhir.ID(fullURL[9:])
	case strings.HasPrefix(fullURL, "urn:oid:") && fhir.ID(fullURL[8:]).Valid():
		it.ID = fhir.ID(fullURL[8:])
	case hasIdent:
		it.ID = digestID(string(h.ResourceType), ident.System, ident.Value)
	default:
		it.ID = digestID(string(h.ResourceType), string(body))
	}
	withID, err := setID(body, it.ID)
	if err != nil {
		return Item{}, err
	}
	it.Body = withID
	return it, nil
}

// digestID is an id made from parts: 32 hex digits of their SHA-256.
func digestID(parts ...string) fhir.ID {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return fhir.ID(hex.EncodeToString(h.Sum(nil))[:32])
}

// setID inserts "id" as the first member after resourceType of a JSON
// object that has none.
func setID(body []byte, id fhir.ID) ([]byte, error) {
	i := bytes.IndexByte(body, '{')
	if i < 0 {
		return nil, errors.New("not a JSON object")
	}
	out := make([]byte, 0, len(body)+len(id)+8)
	out = append(out, body[:i+1]...)
	out = append(out, `"id":"`+string(id)+`"`...)
	rest := bytes.TrimLeft(body[i+1:], " \t\r\n")
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...), nil
}

// jsonErr describes a JSON syntax error with its line and column.
// fastJSON is json-iterator in encoding/json's behaviour: the parser
// github.com/google/fhir/go validates with, and several times faster than
// encoding/json at passing over the resources of a Bundle, which are
// parsed again when they are stored.
var fastJSON = jsoniter.ConfigCompatibleWithStandardLibrary

// decode unmarshals data into v. What json-iterator refuses is decoded
// again by encoding/json, for the error jsonErr describes.
func decode(data []byte, v any) error {
	if fastJSON.Unmarshal(data, v) == nil {
		return nil
	}
	return json.Unmarshal(data, v)
}

func jsonErr(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// The offending byte is the last of the Offset read.
		before := data[:min(int(se.Offset), len(data))]
		column := len(before) - bytes.LastIndexByte(before, '\n') - 1
		if !bytes.Contains(data, []byte("\n")) { // an NDJSON line, or a file of one line
			return fmt.Errorf("malformed JSON at column %d: %s", column, se.Error())
		}
		line := 1 + bytes.Count(before, []byte("\n"))
		return fmt.Errorf("malformed JSON at line %d, column %d: %s", line, column, se.Error())
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("not a FHIR resource: %s has the wrong JSON type (%s)", te.Field, te.Value)
	}
	return errors.New("not a FHIR resource")
}
