package extract

import (
	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// date indexes date, dateTime and instant values as the span they stand
// for at their precision (a time without zone taken as UTC), a Period from
// the start of its start to the end of its end (an open side is MinTime or
// MaxTime), and a Timing as the span of its events and the span of its
// repeat.boundsPeriod. A string (Immunization.occurrenceString) is indexed
// only when it reads as a date.
func (c *converter) date(it fhirpath.Item) {
	m, isMap := it.Map()
	if !isMap {
		if d, ok := dateValue(it); ok {
			c.addDate(d.lo, d.hi)
		}
		return
	}
	switch it.FHIRType() {
	case "Period":
		if lo, hi, ok := period(m); ok {
			c.addDate(lo, hi)
		}
	case "Timing":
		lo, hi, found := search.MaxTime, search.MinTime, false
		for _, e := range arrayOf(m["event"]) {
			s, _ := e.(string)
			if r, err := fhir.ParseDateRange(s); err == nil {
				lo, hi, found = min(lo, r.Start.UnixMilli()), max(hi, r.End.UnixMilli()), true
			}
		}
		if found {
			c.addDate(lo, hi)
		}
		if rep, ok := m["repeat"].(map[string]any); ok {
			if bp, ok := rep["boundsPeriod"].(map[string]any); ok {
				if lo, hi, ok := period(bp); ok {
					c.addDate(lo, hi)
				}
			}
		}
	}
}

type span struct{ lo, hi int64 }

// dateValue returns the span of a date-like primitive or System value.
func dateValue(it fhirpath.Item) (span, bool) {
	var s string
	if v, ok := it.Value().(string); ok {
		s = v
	} else if dt, ok := it.AsDateTime(); ok {
		s = dt.String()
	} else {
		return span{}, false
	}
	r, err := fhir.ParseDateRange(s)
	if err != nil {
		return span{}, false
	}
	return span{r.Start.UnixMilli(), r.End.UnixMilli()}, true
}

// period returns the span of a Period; ok is false when it has neither a
// start nor an end that reads as a date.
func period(m map[string]any) (lo, hi int64, ok bool) {
	lo, hi = search.MinTime, search.MaxTime
	if s, _ := m["start"].(string); s != "" {
		if r, err := fhir.ParseDateRange(s); err == nil {
			lo, ok = r.Start.UnixMilli(), true
		}
	}
	if s, _ := m["end"].(string); s != "" {
		if r, err := fhir.ParseDateRange(s); err == nil {
			hi, ok = r.End.UnixMilli(), true
		}
	}
	return lo, hi, ok
}

func (c *converter) addDate(lo, hi int64) {
	c.idx.Dates = append(c.idx.Dates, search.Date{Param: c.param, Lo: lo, Hi: hi})
}

// arrayOf returns a JSON array member as a slice, a single value as a
// slice of one.
func arrayOf(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}
