package terminology

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
)

// ExpandRequest is ValueSet/$expand: the value set (by URL, or given
// whole), a text filter, paging and presentation options.
type ExpandRequest struct {
	URL, ValueSetVersion string
	ValueSet             *ValueSet
	Filter               string
	Offset, Count        int
	// CountSet says Count was given (count=0 asks for the total only).
	CountSet            bool
	IncludeDesignations bool
	IncludeDefinition   bool
	ActiveOnly          bool
	DisplayLanguage     string
	// SystemVersion and ForceSystemVersion map a system URL to a version
	// (the system-version and force-system-version parameters).
	SystemVersion, ForceSystemVersion map[string]string
	// CheckSystemVersion maps a system URL to the version (possibly with
	// wildcards, "1.0.x") its resolved version must have.
	CheckSystemVersion map[string]string
}

// MaxExpansion bounds an expansion without count: a larger one is
// refused as too costly, and the client pages with count and offset.
const MaxExpansion = 10000

// hit is one concept of an expansion.
type hit struct {
	part *memberSet
	ci   int32
	rank int
	// foreign is set for a listed code of an unknown system.
	foreign *IncludeConcept
	// key and disp order a text search's hits (see members.search).
	key  uint64
	disp string
}

// Expand evaluates a value set and returns it with its expansion.
func (s *Service) Expand(req ExpandRequest) (*ValueSet, error) {
	vs, err := s.requestValueSet(req.ValueSet, req.URL, req.ValueSetVersion, "url")
	if err != nil {
		return nil, err
	}
	opts := &resolveOptions{systemVersion: req.SystemVersion, force: req.ForceSystemVersion, check: req.CheckSystemVersion, activeOnly: req.ActiveOnly}
	m, err := s.evaluate(vs, opts, 0)
	if err != nil {
		return nil, err
	}
	f := newTextFilter(req.Filter)
	var hits []hit
	if f != nil {
		need := -1 // the hits to put in order: those of the page and before
		if req.CountSet {
			need = max(req.Offset, 0) + max(req.Count, 0)
		}
		hits = m.search(f, need)
	} else {
		if n := m.size(); n > MaxExpansion && (!req.CountSet || req.Count > MaxExpansion) {
			return nil, &fhir.Error{Kind: fhir.KindUnprocessable, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueTooCostly, Diagnostics: fmt.Sprintf("the value set %s has %d concepts, more than the %d an expansion lists: "+
					"use filter, or count and offset", vs.URL, n, MaxExpansion)}}}
		}
		hits = m.list()
	}
	total := len(hits)
	lo := min(max(req.Offset, 0), total)
	hi := total
	if req.CountSet {
		hi = min(lo+max(req.Count, 0), total)
	}
	out := *vs
	out.Compose = vs.Compose
	exp := &Expansion{Identifier: "urn:uuid:" + uuid(), Timestamp: time.Now().UTC().Format(time.RFC3339), Total: &total}
	if req.Offset > 0 || req.CountSet {
		off := lo
		exp.Offset = &off
	}
	addParam := func(p ExpansionParameter) { exp.Parameter = append(exp.Parameter, p) }
	if req.Filter != "" {
		addParam(ExpansionParameter{Name: "filter", ValueString: req.Filter})
	}
	if req.CountSet {
		c := int64(req.Count)
		addParam(ExpansionParameter{Name: "count", ValueInteger: &c})
	}
	if req.Offset > 0 {
		o := int64(req.Offset)
		addParam(ExpansionParameter{Name: "offset", ValueInteger: &o})
	}
	if req.DisplayLanguage != "" {
		addParam(ExpansionParameter{Name: "displayLanguage", ValueCode: req.DisplayLanguage})
	}
	if req.ActiveOnly {
		t := true
		addParam(ExpansionParameter{Name: "activeOnly", ValueBoolean: &t})
	}
	for _, p := range m.parts {
		if p.sys != nil {
			addParam(ExpansionParameter{Name: "used-codesystem", ValueURI: p.system + "|" + p.version})
		}
	}
	for _, w := range m.warnings {
		addParam(ExpansionParameter{Name: "warning", ValueString: w})
	}
	langs := languages(req.DisplayLanguage)
	for _, h := range hits[lo:hi] {
		exp.Contains = append(exp.Contains, h.contains(req, langs))
	}
	if f != nil {
		putHits(hits)
	}
	out.Expansion = exp
	return &out, nil
}

// A type-ahead's scratch (its hits, the best rank of each concept, the
// sort keys) is reused from one request to the next: a three-letter
// filter matches thousands of concepts, and allocating for each request
// made the garbage collector, not the search, the tail of the latency.
var (
	hitPool  = sync.Pool{New: func() any { return new([]hit) }}
	bestPool = sync.Pool{New: func() any { return new([]uint8) }}
	keyPool  = sync.Pool{New: func() any { return new([]uint64) }}
)

func getHits() []hit { return (*hitPool.Get().(*[]hit))[:0] }

// putHits returns hits to the pool, dropping the pointers they hold.
func putHits(hits []hit) {
	clear(hits)
	hits = hits[:0]
	hitPool.Put(&hits)
}

// getBest returns n zeroed bytes from the pool.
func getBest(n int) *[]uint8 {
	p := bestPool.Get().(*[]uint8)
	if cap(*p) < n {
		*p = make([]uint8, n)
	}
	*p = (*p)[:n]
	clear(*p)
	return p
}

// requestValueSet returns the value set a request names: given whole, or
// by URL, where an implicit value set URL (system?fhir_vs...) stands for
// all or part of a code system.
func (s *Service) requestValueSet(given *ValueSet, url, version, param string) (*ValueSet, error) {
	if given != nil {
		return given, nil
	}
	if url == "" {
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueRequired, Expression: []string{param}, Diagnostics: "the value set to use is missing: give " + param + " or valueSet"}}}
	}
	if !strings.Contains(url, "?fhir_vs") {
		url, v, _ := strings.Cut(url, "|")
		if version == "" {
			version = v
		}
		vs, ok := s.ValueSet(url, version)
		if !ok {
			msg := "the value set " + url + " is not known to this server"
			if version != "" {
				msg = "version " + version + " of the value set " + url + " is not known to this server"
			}
			return nil, notFound(param, msg)
		}
		return vs, nil
	}
	return implicitValueSet(url)
}

// implicitValueSet builds the value set an implicit URL stands for:
// system?fhir_vs (the whole system) or system?fhir_vs=isa/CODE (CODE and
// everything below it).
func implicitValueSet(url string) (*ValueSet, error) {
	system, query, _ := strings.Cut(url, "?")
	system, version, _ := strings.Cut(system, "|")
	inc := Include{System: system, Version: version}
	switch {
	case query == "fhir_vs":
	case strings.HasPrefix(query, "fhir_vs=isa/"):
		inc.Filter = []Filter{{Property: "concept", Op: "is-a", Value: strings.TrimPrefix(query, "fhir_vs=isa/")}}
	default:
		return nil, invalid("url", "the implicit value set "+url+" is not supported: use system?fhir_vs or system?fhir_vs=isa/code")
	}
	return &ValueSet{ResourceType: "ValueSet", URL: url, Status: "active", Compose: &Compose{Include: []Include{inc}}}, nil
}

// size counts the members.
func (m *members) size() int {
	n := 0
	for _, p := range m.parts {
		switch {
		case p.sys == nil:
			n += len(p.foreign)
		case p.all:
			n += p.sys.Len()
		default:
			for _, in := range p.set {
				if in {
					n++
				}
			}
		}
	}
	return n
}

// list returns every member: listed concepts in the value set's order,
// then the others in the code system's order.
func (m *members) list() []hit {
	var out []hit
	for _, p := range m.parts {
		if p.sys == nil {
			for i := range p.foreign {
				out = append(out, hit{part: p, foreign: &p.foreign[i]})
			}
			continue
		}
		listed := make(map[int32]bool, len(p.order))
		for _, ci := range p.order {
			out = append(out, hit{part: p, ci: ci})
			listed[ci] = true
		}
		for i := range p.sys.Len() {
			if ci := int32(i); !listed[ci] && p.has(ci) {
				out = append(out, hit{part: p, ci: ci})
			}
		}
	}
	return out
}

// search returns the members matching a text filter, best first (the
// first need of them when need ≥ 0; all when need < 0): code
// matches, then displays that are or start with the text, then those
// where every word of the text starts a word, then designations; within
// a rank active before inactive, shorter before longer, then by display.
func (m *members) search(f *textFilter, need int) []hit {
	out := getHits()
	for _, p := range m.parts {
		if p.sys == nil {
			for i, c := range p.foreign {
				r := f.termRank(foldTerm(c.Display), true)
				if strings.EqualFold(c.Code, f.raw) {
					r = rankCode
				}
				if r != noMatch {
					out = append(out, hit{part: p, foreign: &p.foreign[i], rank: r})
				}
			}
			continue
		}
		// best holds each concept's best rank + 1 (0: not matched); seen
		// lists the matched concepts in the order first met.
		bp := getBest(p.sys.Len())
		best := *bp
		first := len(out)
		p.sys.candidates(f, func(ci int32, rank int) {
			if !p.has(ci) {
				return
			}
			switch b := best[ci]; {
			case b == 0:
				out = append(out, hit{part: p, ci: ci})
				best[ci] = uint8(rank + 1)
			case rank+1 < int(b):
				best[ci] = uint8(rank + 1)
			}
		})
		for i := first; i < len(out); i++ {
			out[i].rank = int(best[out[i].ci]) - 1
		}
		bestPool.Put(bp)
	}
	// Order by a key packing rank, inactivity and display length, and by
	// display and code only where keys tie: thousands of matches of a
	// three-letter filter sort in well under a millisecond.
	for i := range out {
		h := &out[i]
		h.disp = h.display()
		inactive := uint64(0)
		if h.inactive() {
			inactive = 1
		}
		h.key = uint64(h.rank)<<40 | inactive<<32 | uint64(min(len(h.disp), 1<<31-1))
	}
	sorted := out
	if need >= 0 && need < len(out) {
		// Only the first need hits are shown: those with a key up to the
		// need-th smallest (ties included) go first and are sorted; the
		// rest are counted, not ordered.
		kp := keyPool.Get().(*[]uint64)
		keys := (*kp)[:0]
		for i := range out {
			keys = append(keys, out[i].key)
		}
		slices.Sort(keys)
		*kp = keys
		defer keyPool.Put(kp)
		if need == 0 {
			return out
		}
		limit, j := keys[need-1], 0
		for i := range out {
			if out[i].key <= limit {
				out[i], out[j] = out[j], out[i]
				j++
			}
		}
		sorted = out[:j]
	}
	slices.SortFunc(sorted, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.key, b.key), strings.Compare(a.disp, b.disp), strings.Compare(a.code(), b.code()))
	})
	return out
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func (h hit) inactive() bool { return h.foreign == nil && h.part.sys.concepts[h.ci].inactive }

func (h hit) code() string {
	if h.foreign != nil {
		return h.foreign.Code
	}
	return h.part.sys.concepts[h.ci].code
}

func (h hit) display() string {
	if h.foreign != nil {
		return h.foreign.Display
	}
	if d, ok := h.part.displays[h.ci]; ok {
		return d
	}
	return h.part.sys.concepts[h.ci].display
}

// contains renders a hit for the expansion, with the display in the
// requested language when the concept has one.
func (h hit) contains(req ExpandRequest, langs []string) Contains {
	p := h.part
	c := Contains{System: p.system, Version: p.version, Code: h.code(), Display: h.display()}
	if h.foreign != nil {
		c.Designation = h.foreign.Designation
		return c
	}
	con := &p.sys.concepts[h.ci]
	if d, ok := p.sys.displayIn(h.ci, langs); ok {
		c.Display = d
	}
	if con.inactive {
		t := true
		c.Inactive = &t
	}
	if con.abstract {
		t := true
		c.Abstract = &t
	}
	if req.IncludeDesignations {
		c.Designation = con.designations
	}
	return c
}

// languages parses a displayLanguage (possibly a list with weights, as
// in Accept-Language) into language tags, most wanted first.
func languages(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		tag, _, _ := strings.Cut(part, ";")
		if tag = strings.TrimSpace(tag); tag != "" && tag != "*" {
			out = append(out, tag)
		}
	}
	return out
}

// displayIn returns a designation of concept ci in one of langs (a tag
// or its primary language: "fr" matches "fr-FR" and "fr-FR" matches
// "fr"), preferring designations without a use or with use Display.
func (s *System) displayIn(ci int32, langs []string) (string, bool) {
	if len(langs) == 0 {
		return "", false
	}
	con := &s.concepts[ci]
	lang := s.Language
	if lang == "" {
		lang = "en" // displays without a declared language are English in every system CPMS ships
	}
	for _, want := range langs {
		if lang != "" && sameLanguage(lang, want) {
			return con.display, true
		}
		found := ""
		for _, d := range con.designations {
			if d.Language == "" || !sameLanguage(d.Language, want) {
				continue
			}
			if d.Use == nil || d.Use.Code == "display" || d.Use.Display == "Display" {
				return d.Value, true
			}
			if found == "" {
				found = d.Value
			}
		}
		if found != "" {
			return found, true
		}
	}
	return "", false
}

func sameLanguage(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	pa, _, _ := strings.Cut(a, "-")
	pb, _, _ := strings.Cut(b, "-")
	return a == b || pa == pb
}

func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
