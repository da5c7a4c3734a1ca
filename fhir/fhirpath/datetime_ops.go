package fhirpath

import (
	"time"
)

// components returns the value's components coarsest first, the second and
// its fraction counted as one (in nanoseconds), and the number present.
func (d DateTime) components() ([6]int64, int) {
	c := [6]int64{int64(d.Year), int64(d.Month), int64(d.Day), int64(d.Hour), int64(d.Minute),
		int64(d.Second)*1e9 + int64(d.Nanos)}
	n := int(d.Precision)
	if n > 6 {
		n = 6
	}
	if d.Kind == KindTime {
		c = [6]int64{int64(d.Hour), int64(d.Minute), int64(d.Second)*1e9 + int64(d.Nanos)}
		n -= 3
	}
	return c, n
}

// toUTC shifts a value with a timezone and a time to UTC.
func (d DateTime) toUTC() DateTime {
	if !d.HasTZ || d.TZMinutes == 0 || d.Precision < PrecisionHour {
		return d
	}
	u := d.fromTime(d.Time().UTC())
	u.TZMinutes = 0
	return u
}

// compareTemporal compares two values of compatible kinds (Date and
// DateTime are compatible). ok is false when the result is unknown because
// the precisions differ before a difference is found, or because only one of
// them has a timezone. sameKind is false for incompatible kinds.
func compareTemporal(a, b DateTime) (cmp int, ok bool) {
	if a.Precision >= PrecisionHour && b.Precision >= PrecisionHour && a.Kind != KindTime {
		if a.HasTZ != b.HasTZ {
			return 0, false
		}
		a, b = a.toUTC(), b.toUTC()
	}
	ca, na := a.components()
	cb, nb := b.components()
	n := min(na, nb)
	for i := 0; i < n; i++ {
		if ca[i] != cb[i] {
			if ca[i] < cb[i] {
				return -1, true
			}
			return 1, true
		}
	}
	if na != nb {
		return 0, false
	}
	return 0, true
}

func compatibleTemporal(a, b DateTime) bool {
	return (a.Kind == KindTime) == (b.Kind == KindTime)
}

// calendarUnit maps a quantity unit usable in date/time arithmetic to the
// calendar precision it adds.
func calendarUnit(unit string) (Precision, bool) {
	switch unit {
	case "year", "years":
		return PrecisionYear, true
	case "month", "months":
		return PrecisionMonth, true
	case "week", "weeks", "wk":
		return 0, true // handled as 7 days
	case "day", "days", "d":
		return PrecisionDay, true
	case "hour", "hours", "h":
		return PrecisionHour, true
	case "minute", "minutes", "min":
		return PrecisionMinute, true
	case "second", "seconds", "s":
		return PrecisionSecond, true
	case "millisecond", "milliseconds", "ms":
		return PrecisionMillisecond, true
	}
	return 0, false
}

// addDuration adds n units of a calendar unit to d. The value's precision
// and timezone are kept; months and years are added with the day clamped to
// the end of the month.
func (d DateTime) addDuration(n int64, unit string) (DateTime, error) {
	p, ok := calendarUnit(unit)
	if !ok {
		return DateTime{}, evalErrorf(-1, "cannot add a quantity in %q to a date/time value", unit)
	}
	if p == 0 {
		n, p = n*7, PrecisionDay
	}
	if d.Kind == KindTime && p <= PrecisionDay {
		return DateTime{}, evalErrorf(-1, "cannot add %q to a time", unit)
	}
	switch p {
	case PrecisionYear, PrecisionMonth:
		months := n
		if p == PrecisionYear {
			months = n * 12
		}
		total := int64(d.Year)*12 + int64(max(d.Month, 1)-1) + months
		d.Year, d.Month = int(total/12), int(total%12)+1
		if d.Precision < PrecisionMonth {
			d.Month = 0
		}
		if d.Precision >= PrecisionDay {
			d.Day = min(d.Day, daysIn(d.Year, d.Month))
		}
		return d, nil
	case PrecisionDay:
		return d.fromTime(d.Time().AddDate(0, 0, int(n))), nil
	}
	if d.Kind == KindDate {
		// A date changes only by whole days.
		var perDay int64
		switch p {
		case PrecisionHour:
			perDay = 24
		case PrecisionMinute:
			perDay = 24 * 60
		case PrecisionSecond:
			perDay = 24 * 3600
		default:
			perDay = 24 * 3600 * 1000
		}
		return d.fromTime(d.Time().AddDate(0, 0, int(n/perDay))), nil
	}
	var unitDur time.Duration
	switch p {
	case PrecisionHour:
		unitDur = time.Hour
	case PrecisionMinute:
		unitDur = time.Minute
	case PrecisionSecond:
		unitDur = time.Second
	default:
		unitDur = time.Millisecond
	}
	t := d.Time().Add(time.Duration(n) * unitDur)
	r := d.fromTime(t)
	if d.Kind == KindTime {
		r.Year, r.Month, r.Day = 0, 0, 0
	}
	return r, nil
}

// boundary implements lowBoundary/highBoundary for temporal values: the
// earliest or latest value the input may stand for, at the given precision
// (in FHIRPath digits: 4 year, 6 month, 8 day, 10 hour, 12 minute, 14 second,
// 17 millisecond; for times 2, 4, 6, 9). ok is false for an invalid
// precision.
func (d DateTime) boundary(low bool, digits int) (DateTime, bool) {
	var p Precision
	if d.Kind == KindTime {
		switch digits {
		case 2:
			p = PrecisionHour
		case 4:
			p = PrecisionMinute
		case 6:
			p = PrecisionSecond
		case 9:
			p = PrecisionMillisecond
		default:
			return DateTime{}, false
		}
	} else {
		switch digits {
		case 4:
			p = PrecisionYear
		case 6:
			p = PrecisionMonth
		case 8:
			p = PrecisionDay
		case 10:
			p = PrecisionHour
		case 12:
			p = PrecisionMinute
		case 14:
			p = PrecisionSecond
		case 17:
			p = PrecisionMillisecond
		default:
			return DateTime{}, false
		}
		if d.Kind == KindDate && p > PrecisionDay {
			d.Kind = KindDateTime
		}
	}
	r := d
	if r.Precision == PrecisionHour {
		// An hour alone is not a valid FHIR time; it stands for hh:00.
		r.Precision = PrecisionMinute
	}
	if p > r.Precision {
		fill := func(lo, hi int) int {
			if low {
				return lo
			}
			return hi
		}
		if r.Precision < PrecisionMonth {
			r.Month = fill(1, 12)
		}
		if r.Precision < PrecisionDay {
			r.Day = fill(1, daysIn(r.Year, r.Month))
		}
		if r.Precision < PrecisionHour {
			r.Hour = fill(0, 23)
		}
		if r.Precision < PrecisionMinute {
			r.Minute = fill(0, 59)
		}
		if r.Precision < PrecisionSecond {
			r.Second = fill(0, 59)
		}
		if r.Precision < PrecisionMillisecond {
			r.Nanos = fill(0, 999_000_000)
		}
		if !r.HasTZ && p >= PrecisionHour && r.Kind == KindDateTime {
			r.HasTZ, r.TZMinutes = true, fill(14*60, -12*60)
		}
	}
	r.Precision = p
	if p >= PrecisionMillisecond {
		r.FracDigits = 3
	}
	return r.fromTime(r.Time()), true
}

// precisionDigits returns the FHIRPath precision() of the value.
func (d DateTime) precisionDigits() int {
	if d.Kind == KindTime {
		return [...]int{0, 0, 0, 0, 2, 4, 6, 9}[d.Precision]
	}
	return [...]int{0, 4, 6, 8, 10, 12, 14, 17}[d.Precision]
}

// Range returns the interval [start, end) that the value covers at its
// precision: 2024-03 covers March 2024, 2024-03-10T10:30 one minute. Values
// without a timezone are placed in loc (UTC when nil). For a Time, the date
// part is 0000-01-01.
func (d DateTime) Range(loc *time.Location) (start, end time.Time) {
	start = d.Time()
	if !d.HasTZ {
		if loc == nil {
			loc = time.UTC
		}
		start = time.Date(start.Year(), start.Month(), start.Day(), start.Hour(), start.Minute(),
			start.Second(), start.Nanosecond(), loc)
	}
	switch d.Precision {
	case PrecisionYear:
		end = start.AddDate(1, 0, 0)
	case PrecisionMonth:
		end = start.AddDate(0, 1, 0)
	case PrecisionDay:
		end = start.AddDate(0, 0, 1)
	case PrecisionHour:
		end = start.Add(time.Hour)
	case PrecisionMinute:
		end = start.Add(time.Minute)
	case PrecisionSecond:
		end = start.Add(time.Second)
	default:
		step := time.Nanosecond
		for i := max(d.FracDigits, 1); i < 9; i++ {
			step *= 10
		}
		end = start.Add(step)
	}
	return start, end
}
