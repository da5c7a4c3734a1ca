package terminology

import (
	"cmp"
	"slices"
	"strings"
	"unicode"

	"github.com/cpms-fhir/cpms/fhir/search"
)

// A wordIndex finds the concepts one of whose terms (display or
// designation) has a word starting with some text: every word start of
// every folded term, sorted by the text from that word on. A prefix is
// then one binary search and a contiguous run, the way type-ahead needs
// it ("marf" finds "Marfan syndrome" and "Neonatal Marfan syndrome").
type wordIndex struct {
	// arena holds every folded term of the system, one after another;
	// entries point into it by offset, so that the index holds no
	// pointers for the garbage collector to scan.
	arena   string
	entries []wordEntry
	// codes are the concepts sorted by folded code, for code prefixes.
	codes []int32
	lower []string // folded code of each concept
}

// wordEntry is one word start: the folded term is arena[start:start+n],
// off the byte offset of the word in it, des the designation (-1: the
// display).
type wordEntry struct {
	start   uint32
	n, off  uint16
	concept int32
	des     int16
}

// term returns the folded term of e.
func (w *wordIndex) term(e *wordEntry) string { return w.arena[e.start : e.start+uint32(e.n)] }

// rest returns the term of e from its word on.
func (w *wordIndex) rest(e *wordEntry) string {
	return w.arena[e.start+uint32(e.off) : e.start+uint32(e.n)]
}

// foldTerm folds s as string search does (case, accents, spaces) and
// turns every run of characters other than letters and digits into one
// space, so that "Marfan-like" has the words "marfan" and "like".
func foldTerm(s string) string {
	f := search.Fold(s)
	clean := true
	for i := 0; i < len(f); i++ {
		c := f[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == ' ') {
			clean = false
			break
		}
	}
	if clean {
		return f
	}
	return strings.Join(strings.FieldsFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), " ")
}

func buildWords(s *System) wordIndex {
	var w wordIndex
	var arena strings.Builder
	add := func(text string, ci int32, des int16) {
		t := foldTerm(text)
		if t == "" || len(t) > 0xffff || arena.Len()+len(t) > 1<<32-1 {
			return
		}
		start := uint32(arena.Len())
		arena.WriteString(t)
		for off := 0; off < len(t); {
			w.entries = append(w.entries, wordEntry{start: start, n: uint16(len(t)), concept: ci, off: uint16(off), des: des})
			sp := strings.IndexByte(t[off:], ' ')
			if sp < 0 {
				break
			}
			off += sp + 1
		}
	}
	w.lower = make([]string, len(s.concepts))
	w.codes = make([]int32, len(s.concepts))
	for i := range s.concepts {
		c := &s.concepts[i]
		add(c.display, int32(i), -1)
		for d := range c.designations {
			if d < 0x7fff && c.designations[d].Value != c.display {
				add(c.designations[d].Value, int32(i), int16(d))
			}
		}
		w.lower[i] = strings.ToLower(c.code)
		w.codes[i] = int32(i)
	}
	w.arena = arena.String()
	slices.SortFunc(w.entries, func(a, b wordEntry) int {
		return cmp.Or(strings.Compare(w.rest(&a), w.rest(&b)), cmp.Compare(a.concept, b.concept))
	})
	slices.SortFunc(w.codes, func(a, b int32) int { return strings.Compare(w.lower[a], w.lower[b]) })
	return w
}

// Match ranks, best first. A lower rank is a better match.
const (
	rankCode          = iota // the code itself
	rankCodePrefix           // a code starting with the text
	rankDisplay              // the display, whole
	rankDisplayPrefix        // the display starts with the text
	rankDisplayWords         // every word of the text starts a word of the display
	rankSynonymPrefix        // a designation starts with the text
	rankSynonymWords         // every word of the text starts a word of a designation
	noMatch           = 99
)

// textFilter is a folded $expand filter.
type textFilter struct {
	raw    string
	folded string
	words  []string
	// lead is the longest word: the one looked up in the index.
	lead string
}

func newTextFilter(s string) *textFilter {
	f := &textFilter{raw: strings.TrimSpace(s), folded: foldTerm(s)}
	if f.folded == "" && f.raw == "" {
		return nil
	}
	f.words = strings.Fields(f.folded)
	for _, w := range f.words {
		if len(w) > len(f.lead) {
			f.lead = w
		}
	}
	return f
}

// termRank ranks a folded term against the filter: noMatch unless every
// word of the filter starts a word of the term.
func (f *textFilter) termRank(term string, display bool) int {
	if f.folded == "" {
		return noMatch
	}
	for _, w := range f.words {
		if !strings.HasPrefix(term, w) && !strings.Contains(term, " "+w) {
			return noMatch
		}
	}
	switch {
	case display && term == f.folded:
		return rankDisplay
	case display && strings.HasPrefix(term, f.folded):
		return rankDisplayPrefix
	case display:
		return rankDisplayWords
	case strings.HasPrefix(term, f.folded):
		return rankSynonymPrefix
	}
	return rankSynonymWords
}

// candidates calls fn with each concept of s that matches the filter and
// its best rank; a concept may be passed more than once (fn keeps the
// best).
func (s *System) candidates(f *textFilter, fn func(ci int32, rank int)) {
	w := s.index()
	// Codes: the whole filter as a code, or its prefix.
	if code := strings.ToLower(f.raw); code != "" && !strings.ContainsRune(code, ' ') {
		lo, _ := slices.BinarySearchFunc(w.codes, code, func(ci int32, t string) int { return strings.Compare(w.lower[ci], t) })
		for j := lo; j < len(w.codes) && strings.HasPrefix(w.lower[w.codes[j]], code); j++ {
			ci := w.codes[j]
			if w.lower[ci] == code {
				fn(ci, rankCode)
			} else {
				fn(ci, rankCodePrefix)
			}
		}
	}
	if f.lead == "" {
		return
	}
	// Entries whose text starts with lead compare equal: they sit between
	// those before and after it, so the search lands on the run's start.
	lo, _ := slices.BinarySearchFunc(w.entries, f.lead, func(e wordEntry, t string) int {
		r := w.rest(&e)
		if strings.HasPrefix(r, t) {
			return 0
		}
		return strings.Compare(r, t)
	})
	for j := lo; j < len(w.entries); j++ {
		e := &w.entries[j]
		if !strings.HasPrefix(w.rest(e), f.lead) {
			break
		}
		if r := f.termRank(w.term(e), e.des < 0); r != noMatch {
			fn(e.concept, r)
		}
	}
}
