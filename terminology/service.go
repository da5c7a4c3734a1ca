package terminology

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cpms-fhir/cpms/fhir"
)

// Service holds the code systems, value sets and concept maps the server
// knows, in memory, indexed for the terminology operations. Several
// versions of one canonical URL are kept; a request without a version
// gets the latest. It is safe for concurrent use: writes swap whole
// entries under a lock, readers see a consistent set.
type Service struct {
	mu        sync.RWMutex
	systems   map[string][]*System
	valueSets map[string][]*ValueSet
	maps      map[string][]*conceptMap
	// stored maps "Type/id" of a stored resource to its canonical
	// url|version, so a delete or an update that changes the URL drops
	// the old entry.
	stored map[string]string
}

// New returns an empty Service.
func New() *Service {
	return &Service{systems: map[string][]*System{}, valueSets: map[string][]*ValueSet{},
		maps: map[string][]*conceptMap{}, stored: map[string]string{}}
}

// AddCodeSystem indexes cs, replacing the same URL and version.
func (s *Service) AddCodeSystem(cs *CodeSystem) *System {
	sys := newSystem(cs)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.systems[cs.URL] = putVersion(s.systems[cs.URL], sys, func(x *System) string { return x.Version })
	return sys
}

// AddValueSet registers vs, replacing the same URL and version.
func (s *Service) AddValueSet(vs *ValueSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.valueSets[vs.URL] = putVersion(s.valueSets[vs.URL], vs, func(x *ValueSet) string { return x.Version })
}

// AddConceptMap indexes cm, replacing the same URL and version.
func (s *Service) AddConceptMap(cm *ConceptMap) {
	m := newConceptMap(cm)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maps[cm.URL] = putVersion(s.maps[cm.URL], m, func(x *conceptMap) string { return x.res.Version })
}

// putVersion replaces or inserts x in list, kept in ascending version
// order (see compareVersions).
func putVersion[T any](list []T, x T, version func(T) string) []T {
	v := version(x)
	out := slices.DeleteFunc(slices.Clone(list), func(y T) bool { return version(y) == v })
	i, _ := slices.BinarySearchFunc(out, v, func(y T, v string) int { return compareVersions(version(y), v) })
	return slices.Insert(out, i, x)
}

// compareVersions orders version strings: runs of digits by value, the
// rest as text, so 2.10 follows 2.9 and 2026-01-08 follows 2017-04-13.
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		da, ra := splitRun(a)
		db, rb := splitRun(b)
		if isDigit(da[0]) && isDigit(db[0]) {
			na, _ := strconv.ParseUint(strings.TrimLeft(da, "0")+"0", 10, 64)
			nb, _ := strconv.ParseUint(strings.TrimLeft(db, "0")+"0", 10, 64)
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
		} else if c := strings.Compare(da, db); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return strings.Compare(a, b)
}

func splitRun(s string) (run, rest string) {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// pick returns the entry of list with version v, or the latest when v is
// empty. A version given as a prefix ("2026") picks the latest it starts,
// one with wildcards ("1.x.x") the latest it matches.
func pick[T any](list []T, v string, version func(T) string) (T, bool) {
	var zero T
	if len(list) == 0 {
		return zero, false
	}
	if v == "" {
		return list[len(list)-1], true
	}
	for i := len(list) - 1; i >= 0; i-- {
		if version(list[i]) == v {
			return list[i], true
		}
	}
	for i := len(list) - 1; i >= 0; i-- {
		if strings.HasPrefix(version(list[i]), v+".") || wildcardVersion(version(list[i]), v) {
			return list[i], true
		}
	}
	return zero, false
}

// wildcardVersion reports whether version matches pattern, a version
// some of whose dot-separated parts are the wildcard x or * ("1.x.x" or
// "1.0.*", as R5's semver value sets write them).
func wildcardVersion(version, pattern string) bool {
	if !strings.ContainsAny(pattern, "xX*") {
		return false
	}
	vs, ps := strings.Split(version, "."), strings.Split(pattern, ".")
	if len(vs) != len(ps) {
		return false
	}
	for i, p := range ps {
		if p != "x" && p != "X" && p != "*" && p != vs[i] {
			return false
		}
	}
	return true
}

// System returns the code system url, in version (latest when empty).
func (s *Service) System(url, version string) (*System, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return pick(s.systems[url], version, func(x *System) string { return x.Version })
}

// systemVersions lists the loaded versions of url.
func (s *Service) systemVersions(url string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, x := range s.systems[url] {
		out = append(out, x.Version)
	}
	return out
}

// ValueSet returns the value set url in version (latest when empty).
func (s *Service) ValueSet(url, version string) (*ValueSet, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return pick(s.valueSets[url], version, func(x *ValueSet) string { return x.Version })
}

// Warm builds the search indexes of every code system and concept map
// now rather than on first use, several at a time: a server calls it in
// the background once it serves, so that no request pays for them.
func (s *Service) Warm() {
	s.mu.RLock()
	var jobs []func()
	for _, l := range s.systems {
		for _, sys := range l {
			jobs = append(jobs, func() { sys.index() })
		}
	}
	for _, l := range s.maps {
		for _, m := range l {
			jobs = append(jobs, func() { m.index() })
		}
	}
	s.mu.RUnlock()
	var wg sync.WaitGroup
	next := make(chan func())
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range next {
				job()
			}
		}()
	}
	for _, job := range jobs {
		next <- job
	}
	close(next)
	wg.Wait()
}

// Systems lists the latest version of every code system, by URL.
func (s *Service) Systems() []*System {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*System, 0, len(s.systems))
	for _, l := range s.systems {
		out = append(out, l[len(l)-1])
	}
	slices.SortFunc(out, func(a, b *System) int { return strings.Compare(a.URL, b.URL) })
	return out
}

// Stored indexes a stored CodeSystem, ValueSet or ConceptMap version
// (body is its JSON) and forgets what an earlier version of the same
// resource registered. Other resource types are ignored. A resource
// that cannot be read is reported and leaves the service unchanged.
func (s *Service) Stored(t fhir.ResourceType, id fhir.ID, body []byte) error {
	key := string(t) + "/" + string(id)
	var url, version string
	switch t {
	case "CodeSystem":
		var cs CodeSystem
		if err := json.Unmarshal(body, &cs); err != nil {
			return fmt.Errorf("terminology: %s: %w", key, err)
		}
		if cs.URL == "" || cs.Content == "not-present" {
			s.Deleted(t, id)
			return nil
		}
		s.Deleted(t, id)
		s.AddCodeSystem(&cs)
		url, version = cs.URL, cs.Version
	case "ValueSet":
		var vs ValueSet
		if err := json.Unmarshal(body, &vs); err != nil {
			return fmt.Errorf("terminology: %s: %w", key, err)
		}
		s.Deleted(t, id)
		if vs.URL == "" {
			return nil
		}
		s.AddValueSet(&vs)
		url, version = vs.URL, vs.Version
	case "ConceptMap":
		var cm ConceptMap
		if err := json.Unmarshal(body, &cm); err != nil {
			return fmt.Errorf("terminology: %s: %w", key, err)
		}
		s.Deleted(t, id)
		if cm.URL == "" {
			return nil
		}
		s.AddConceptMap(&cm)
		url, version = cm.URL, cm.Version
	default:
		return nil
	}
	s.mu.Lock()
	s.stored[key] = url + "|" + version
	s.mu.Unlock()
	return nil
}

// Adopt records that the stored resource t/id holds the canonical
// url|version the service already knows (a seed resource the server
// stored itself), without reading it again: a later update or delete of
// that resource then replaces or drops the entry as for any other.
func (s *Service) Adopt(t fhir.ResourceType, id fhir.ID, url, version string) {
	key, canon := string(t)+"/"+string(id), url+"|"+version
	s.mu.Lock()
	old, ok := s.stored[key]
	s.mu.Unlock()
	if ok && old != canon {
		s.Deleted(t, id)
	}
	s.mu.Lock()
	s.stored[key] = canon
	s.mu.Unlock()
}

// Knows reports whether the service holds the code system, value set or
// concept map url at exactly version.
func (s *Service) Knows(t fhir.ResourceType, url, version string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch t {
	case "CodeSystem":
		return slices.ContainsFunc(s.systems[url], func(x *System) bool { return x.Version == version })
	case "ValueSet":
		return slices.ContainsFunc(s.valueSets[url], func(x *ValueSet) bool { return x.Version == version })
	case "ConceptMap":
		return slices.ContainsFunc(s.maps[url], func(x *conceptMap) bool { return x.res.Version == version })
	}
	return false
}

// StoredCanonical returns the url|version the stored resource key
// ("Type/id") registered, if any.
func (s *Service) StoredCanonical(key string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.stored[key]
	return c, ok
}

// Drop forgets the code system, value set or concept map url|version,
// whatever registered it: a seed resource deleted from the store.
func (s *Service) Drop(t fhir.ResourceType, url, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked(t, url, version)
}

// Deleted forgets what the stored resource t/id registered.
func (s *Service) Deleted(t fhir.ResourceType, id fhir.ID) {
	key := string(t) + "/" + string(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	canon, ok := s.stored[key]
	if !ok {
		return
	}
	delete(s.stored, key)
	url, version, _ := strings.Cut(canon, "|")
	s.dropLocked(t, url, version)
}

// dropLocked removes url|version of type t; s.mu is held.
func (s *Service) dropLocked(t fhir.ResourceType, url, version string) {
	switch t {
	case "CodeSystem":
		s.systems[url] = dropVersion(s.systems[url], version, func(x *System) string { return x.Version })
		if len(s.systems[url]) == 0 {
			delete(s.systems, url)
		}
	case "ValueSet":
		s.valueSets[url] = dropVersion(s.valueSets[url], version, func(x *ValueSet) string { return x.Version })
		if len(s.valueSets[url]) == 0 {
			delete(s.valueSets, url)
		}
	case "ConceptMap":
		s.maps[url] = dropVersion(s.maps[url], version, func(x *conceptMap) string { return x.res.Version })
		if len(s.maps[url]) == 0 {
			delete(s.maps, url)
		}
	}
}

func dropVersion[T any](list []T, v string, version func(T) string) []T {
	return slices.DeleteFunc(slices.Clone(list), func(y T) bool { return version(y) == v })
}

func itoa(n int64) string   { return strconv.FormatInt(n, 10) }
func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
