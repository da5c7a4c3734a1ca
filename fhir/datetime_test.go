package fhir

import (
	"testing"
	"time"
)

func TestParseDateRange(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		in         string
		start, end time.Time
	}{
		{"2024", utc(2024, 1, 1, 0, 0, 0, 0), utc(2025, 1, 1, 0, 0, 0, 0)},
		{"2024-02", utc(2024, 2, 1, 0, 0, 0, 0), utc(2024, 3, 1, 0, 0, 0, 0)},
		{"2024-02-29", utc(2024, 2, 29, 0, 0, 0, 0), utc(2024, 3, 1, 0, 0, 0, 0)},
		{"2024-02-29T10:00", utc(2024, 2, 29, 10, 0, 0, 0), utc(2024, 2, 29, 10, 1, 0, 0)},
		{"2024-02-29T10:00:05Z", utc(2024, 2, 29, 10, 0, 5, 0), utc(2024, 2, 29, 10, 0, 6, 0)},
		{"2024-02-29T10:00:05.5+02:00", utc(2024, 2, 29, 8, 0, 5, 500_000_000), utc(2024, 2, 29, 8, 0, 5, 600_000_000)},
		{"2024-02-29T10:00:05.123-05:00", utc(2024, 2, 29, 15, 0, 5, 123_000_000), utc(2024, 2, 29, 15, 0, 5, 124_000_000)},
	}
	for _, tt := range tests {
		r, err := ParseDateRange(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !r.Start.Equal(tt.start) || !r.End.Equal(tt.end) {
			t.Errorf("%s: [%v, %v), want [%v, %v)", tt.in, r.Start, r.End, tt.start, tt.end)
		}
	}
	for _, bad := range []string{"", "24", "2024-13", "2024-02-30", "2024-02-29T25:00", "2024-02-29 10:00", "yesterday", "2024-02-29T10:00:05.1234567890Z"} {
		if _, err := ParseDateRange(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
