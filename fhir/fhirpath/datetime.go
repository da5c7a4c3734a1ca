package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Precision is the precision of a date, date/time or time value.
type Precision uint8

// Precisions, from coarsest to finest. Seconds and fractions of a second are
// compared as one precision, as FHIRPath requires.
const (
	PrecisionYear Precision = iota + 1
	PrecisionMonth
	PrecisionDay
	PrecisionHour
	PrecisionMinute
	PrecisionSecond
	PrecisionMillisecond
)

// TemporalKind says whether a DateTime value is a Date, a DateTime or a Time.
type TemporalKind uint8

// The temporal kinds.
const (
	KindDate TemporalKind = iota + 1
	KindDateTime
	KindTime
)

// DateTime is a FHIRPath Date, DateTime or Time value with its precision and
// optional timezone offset. Fields beyond the precision are zero (month and
// day are 1-based and zero when absent).
type DateTime struct {
	Kind      TemporalKind
	Precision Precision
	Year      int
	Month     int
	Day       int
	Hour      int
	Minute    int
	Second    int
	Nanos     int // fraction of a second
	// FracDigits is the number of fractional-second digits written.
	FracDigits int
	// HasTZ says whether a timezone offset was given; TZMinutes is the offset
	// east of UTC in minutes.
	HasTZ     bool
	TZMinutes int
}

// ParseDate parses a FHIR date or FHIRPath date literal body (YYYY, YYYY-MM,
// YYYY-MM-DD).
func ParseDate(s string) (DateTime, bool) {
	d, rest, ok := parseDatePart(s)
	if !ok || rest != "" {
		return DateTime{}, false
	}
	d.Kind = KindDate
	return d, true
}

// ParseDateTime parses a FHIR dateTime/instant or a FHIRPath date/time
// literal body: a date optionally followed by T and a partial time and
// timezone (2015T, 2015-02-04T14, 2015-02-04T14:34:28.123+10:00).
func ParseDateTime(s string) (DateTime, bool) {
	d, rest, ok := parseDatePart(s)
	if !ok {
		return DateTime{}, false
	}
	d.Kind = KindDateTime
	if rest == "" {
		return d, true
	}
	if rest[0] != 'T' {
		return DateTime{}, false
	}
	rest = rest[1:]
	if rest == "" {
		return d, true // "2015T": a DateTime with date precision
	}
	if d.Precision != PrecisionDay {
		return DateTime{}, false
	}
	t, rest, ok := parseTimePart(rest)
	if !ok {
		return DateTime{}, false
	}
	d.Hour, d.Minute, d.Second, d.Nanos, d.FracDigits, d.Precision = t.Hour, t.Minute, t.Second, t.Nanos, t.FracDigits, t.Precision
	if rest != "" {
		if !parseTZ(rest, &d) {
			return DateTime{}, false
		}
	}
	return d, true
}

// ParseTime parses a FHIR time or FHIRPath time literal body (hh, hh:mm,
// hh:mm:ss, hh:mm:ss.fff). Times have no timezone.
func ParseTime(s string) (DateTime, bool) {
	t, rest, ok := parseTimePart(s)
	if !ok || rest != "" {
		return DateTime{}, false
	}
	t.Kind = KindTime
	return t, true
}

func num(s string, n int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func parseDatePart(s string) (DateTime, string, bool) {
	var d DateTime
	y, ok := num(s, 4)
	if !ok {
		return d, "", false
	}
	d.Year, d.Precision, s = y, PrecisionYear, s[4:]
	if len(s) >= 3 && s[0] == '-' {
		m, ok := num(s[1:], 2)
		if !ok || m < 1 || m > 12 {
			return d, "", false
		}
		d.Month, d.Precision, s = m, PrecisionMonth, s[3:]
		if len(s) >= 3 && s[0] == '-' {
			day, ok := num(s[1:], 2)
			if !ok || day < 1 || day > daysIn(d.Year, d.Month) {
				return d, "", false
			}
			d.Day, d.Precision, s = day, PrecisionDay, s[3:]
		}
	}
	return d, s, true
}

func parseTimePart(s string) (DateTime, string, bool) {
	var t DateTime
	h, ok := num(s, 2)
	if !ok || h > 23 {
		return t, "", false
	}
	t.Hour, t.Precision, s = h, PrecisionHour, s[2:]
	if len(s) >= 3 && s[0] == ':' {
		m, ok := num(s[1:], 2)
		if !ok || m > 59 {
			return t, "", false
		}
		t.Minute, t.Precision, s = m, PrecisionMinute, s[3:]
		if len(s) >= 3 && s[0] == ':' {
			sec, ok := num(s[1:], 2)
			if !ok || sec > 60 {
				return t, "", false
			}
			t.Second, t.Precision, s = sec, PrecisionSecond, s[3:]
			if len(s) >= 2 && s[0] == '.' && s[1] >= '0' && s[1] <= '9' {
				i := 1
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					i++
				}
				frac := s[1:i]
				t.FracDigits = len(frac)
				if len(frac) > 9 {
					frac = frac[:9]
				}
				n, _ := strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
				t.Nanos, t.Precision, s = n, PrecisionMillisecond, s[i:]
			}
		}
	}
	return t, s, true
}

func parseTZ(s string, d *DateTime) bool {
	if s == "Z" {
		d.HasTZ, d.TZMinutes = true, 0
		return true
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return false
	}
	h, ok1 := num(s[1:], 2)
	m, ok2 := num(s[4:], 2)
	if !ok1 || !ok2 || h > 14 || m > 59 {
		return false
	}
	d.HasTZ, d.TZMinutes = true, h*60+m
	if s[0] == '-' {
		d.TZMinutes = -d.TZMinutes
	}
	return true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// String formats the value in FHIR syntax at its precision (without the
// FHIRPath '@' prefix): 2015-02-04, 2015-02-04T14:34:28.123+10:00, 14:34.
func (d DateTime) String() string {
	var b strings.Builder
	if d.Kind != KindTime {
		fmt.Fprintf(&b, "%04d", d.Year)
		if d.Precision >= PrecisionMonth {
			fmt.Fprintf(&b, "-%02d", d.Month)
		}
		if d.Precision >= PrecisionDay {
			fmt.Fprintf(&b, "-%02d", d.Day)
		}
		if d.Precision < PrecisionHour {
			return b.String()
		}
		b.WriteByte('T')
	}
	fmt.Fprintf(&b, "%02d", d.Hour)
	if d.Precision >= PrecisionMinute {
		fmt.Fprintf(&b, ":%02d", d.Minute)
	}
	if d.Precision >= PrecisionSecond {
		fmt.Fprintf(&b, ":%02d", d.Second)
	}
	if d.Precision >= PrecisionMillisecond {
		digits := d.FracDigits
		if digits <= 0 {
			digits = 3
		}
		f := fmt.Sprintf("%09d", d.Nanos)
		if digits > 9 {
			digits = 9
		}
		b.WriteString("." + f[:digits])
	}
	if d.HasTZ && d.Kind != KindTime {
		if d.TZMinutes == 0 {
			b.WriteByte('Z')
		} else {
			sign, m := '+', d.TZMinutes
			if m < 0 {
				sign, m = '-', -m
			}
			fmt.Fprintf(&b, "%c%02d:%02d", sign, m/60, m%60)
		}
	}
	return b.String()
}

// literal formats the value as a FHIRPath literal (@2015-02-04T, @T14:34).
func (d DateTime) literal() string {
	switch {
	case d.Kind == KindTime:
		return "@T" + d.String()
	case d.Kind == KindDateTime && d.Precision <= PrecisionDay:
		return "@" + d.String() + "T"
	}
	return "@" + d.String()
}

// Time returns the instant at the start of the value, in its timezone (UTC
// when it has none).
func (d DateTime) Time() time.Time {
	loc := time.UTC
	if d.HasTZ && d.TZMinutes != 0 {
		loc = time.FixedZone("", d.TZMinutes*60)
	}
	month, day := max(d.Month, 1), max(d.Day, 1)
	year := d.Year
	if d.Kind == KindTime {
		year, month, day = 0, 1, 1
	}
	return time.Date(year, time.Month(month), day, d.Hour, d.Minute, d.Second, d.Nanos, loc)
}

// fromTime sets the calendar fields of d from t, keeping kind, precision and
// timezone.
func (d DateTime) fromTime(t time.Time) DateTime {
	d.Year, d.Month, d.Day = t.Year(), int(t.Month()), t.Day()
	d.Hour, d.Minute, d.Second, d.Nanos = t.Hour(), t.Minute(), t.Second(), t.Nanosecond()
	if d.Precision < PrecisionMonth {
		d.Month = 0
	}
	if d.Precision < PrecisionDay {
		d.Day = 0
	}
	return d
}
