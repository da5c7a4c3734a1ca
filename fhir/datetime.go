package fhir

import (
	"fmt"
	"strings"
	"time"
)

// DateRange is the span of time a FHIR date, dateTime or instant stands
// for at its precision: "2024" is all of 2024, "2024-03-01T10:00:00Z" one
// second. Start is included, End excluded.
type DateRange struct {
	Start, End time.Time
}

// ParseDateRange parses a FHIR date, dateTime or instant (yyyy, yyyy-mm,
// yyyy-mm-dd, or a date and time to the minute, second or fraction, with a
// zone Z or ±hh:mm) into the span it stands for. A time without a zone is
// taken as UTC.
func ParseDateRange(s string) (DateRange, error) {
	type layout struct {
		format string
		step   func(time.Time) time.Time
	}
	layouts := []layout{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	}
	for _, l := range layouts {
		if len(s) == len(l.format) {
			t, err := time.Parse(l.format, s)
			if err != nil {
				return DateRange{}, fmt.Errorf("%q is not a valid FHIR date", s)
			}
			return DateRange{t, l.step(t)}, nil
		}
	}
	i := strings.IndexByte(s, 'T')
	if i != 10 {
		return DateRange{}, fmt.Errorf("%q is not a valid FHIR date or dateTime", s)
	}
	rest := s[i+1:]
	zone := ""
	if j := strings.IndexAny(rest, "Z+-"); j >= 0 {
		zone, rest = rest[j:], rest[:j]
	}
	var format string
	var step time.Duration
	switch {
	case len(rest) == 5:
		format, step = "15:04", time.Minute
	case len(rest) == 8:
		format, step = "15:04:05", time.Second
	case len(rest) > 9 && rest[8] == '.' && len(rest) <= 18:
		digits := len(rest) - 9
		format = "15:04:05." + strings.Repeat("0", digits)
		step = time.Duration(1)
		for range 9 - digits {
			step *= 10
		}
	default:
		return DateRange{}, fmt.Errorf("%q is not a valid FHIR dateTime", s)
	}
	full := "2006-01-02T" + format
	value := s[:i+1] + rest
	if zone != "" {
		full += "Z07:00"
		value += zone
	}
	t, err := time.ParseInLocation(full, value, time.UTC)
	if err != nil {
		return DateRange{}, fmt.Errorf("%q is not a valid FHIR dateTime", s)
	}
	return DateRange{t, t.Add(step)}, nil
}
