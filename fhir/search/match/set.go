package match

// set is a set of keys: a list while it is short, which is faster to
// search than a map, a map beyond.
type set[K comparable] struct {
	list []K
	m    map[K]struct{}
}

// maxList is the size above which a set is a map.
const maxList = 8

// add adds k.
func (s *set[K]) add(k K) {
	if s.m != nil {
		s.m[k] = struct{}{}
		return
	}
	for _, x := range s.list {
		if x == k {
			return
		}
	}
	if len(s.list) < maxList {
		s.list = append(s.list, k)
		return
	}
	s.m = make(map[K]struct{}, 2*maxList)
	for _, x := range s.list {
		s.m[x] = struct{}{}
	}
	s.m[k] = struct{}{}
	s.list = nil
}

// has reports whether k is in s.
func (s *set[K]) has(k K) bool {
	if s.m != nil {
		_, ok := s.m[k]
		return ok
	}
	for _, x := range s.list {
		if x == k {
			return true
		}
	}
	return false
}
