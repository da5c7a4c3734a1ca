package parse

import (
	"fmt"
	"strings"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// date parses [prefix]date: a FHIR date (yyyy, yyyy-mm, yyyy-mm-dd) or a
// dateTime to the minute, second or fraction, with an optional zone (a
// time without one is taken as UTC). Its range is the span it stands for
// at its precision.
func (p *parser) date(def *search.Param, s string) (search.Value, error) {
	pfx, rest, err := CutPrefix(s)
	if err != nil {
		return search.Value{}, err
	}
	if err := checkPrefix(def, pfx); err != nil {
		return search.Value{}, err
	}
	lo, hi, err := dateRange(rest)
	if err != nil {
		return search.Value{}, err
	}
	return search.Value{Prefix: pfx, DateLo: lo, DateHi: hi}, nil
}

// DateValue returns the date search value prefix+s, as a date search
// parameter takes it: s is a FHIR date or dateTime (see date).
func DateValue(prefix search.Prefix, s string) (search.Value, error) {
	lo, hi, err := dateRange(s)
	if err != nil {
		return search.Value{}, err
	}
	return search.Value{Prefix: prefix, DateLo: lo, DateHi: hi}, nil
}

// dateRange returns the span of a FHIR date or dateTime in Unix
// milliseconds, the end rounded up.
func dateRange(s string) (lo, hi int64, err error) {
	// A zone "+01:00" written with an unescaped "+" arrives as a space.
	if strings.IndexByte(s, 'T') >= 0 {
		s = strings.ReplaceAll(s, " ", "+")
	}
	r, err := fhir.ParseDateRange(s)
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not a FHIR date: write yyyy, yyyy-mm, yyyy-mm-dd or a dateTime such as 2024-03-01T10:00:00Z or 2024-03-01T10:00+01:00", s)
	}
	lo = r.Start.UnixMilli()
	hi = r.End.UnixMilli()
	if time.UnixMilli(hi).Before(r.End) {
		hi++
	}
	return lo, hi, nil
}
