package fhirpath

import (
	"testing"
	"time"
)

func TestDecimal(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"1", "1"}, {"1.0", "1.0"}, {"-0.50", "-0.50"}, {"1.5e3", "1500"}, {"2.5E-2", "0.025"},
		{"12345678901234567890.123", "12345678901234567890.123"},
	} {
		d, ok := ParseDecimal(tc.in)
		if !ok || d.String() != tc.out {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %s", tc.in, d, ok, tc.out)
		}
	}
	for _, bad := range []string{"", "-", "1.", ".5", "1e", "e0", "1.2.3", "abc"} {
		if _, ok := ParseDecimal(bad); ok {
			t.Errorf("ParseDecimal(%q) succeeded", bad)
		}
	}
	d := func(s string) Decimal { x, _ := ParseDecimal(s); return x }
	if q, _ := d("1").Quo(d("3")); q.String() != "0.3333333333333333" {
		t.Errorf("1/3 = %s", q)
	}
	if q, _ := d("1.20").Quo(d("0.4")); q.String() != "3.00" {
		t.Errorf("1.20/0.4 = %s", q)
	}
	if r := d("-2.5").Round(0); r.String() != "-3" {
		t.Errorf("round(-2.5) = %s", r)
	}
	if f := d("-2.1").Floor(); f.String() != "-3" {
		t.Errorf("floor(-2.1) = %s", f)
	}
	if _, ok := d("1").Quo(d("0.0")); ok {
		t.Error("division by zero succeeded")
	}
}

func TestDateTimeRange(t *testing.T) {
	for _, tc := range []struct {
		in         string
		start, end string
	}{
		{"2024", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"2024-02", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"2024-02-29", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"2024-03-10T10:30:00+02:00", "2024-03-10T10:30:00+02:00", "2024-03-10T10:30:01+02:00"},
		{"2024-03-10T10:30:00.25Z", "2024-03-10T10:30:00.25Z", "2024-03-10T10:30:00.26Z"},
	} {
		d, ok := ParseDateTime(tc.in)
		if !ok {
			t.Fatalf("ParseDateTime(%q) failed", tc.in)
		}
		s, e := d.Range(nil)
		ws, _ := time.Parse(time.RFC3339Nano, tc.start)
		we, _ := time.Parse(time.RFC3339Nano, tc.end)
		if !s.Equal(ws) || !e.Equal(we) {
			t.Errorf("%s: range [%v, %v), want [%v, %v)", tc.in, s, e, ws, we)
		}
	}
	for _, bad := range []string{"2024-13", "2024-02-30", "2023-02-29", "24", "2024-01-01T25:00", "2024-01-01T10:00+15:00", "2024-01-01T10:00:00X"} {
		if _, ok := ParseDateTime(bad); ok {
			t.Errorf("ParseDateTime(%q) succeeded", bad)
		}
	}
}

func TestQuantityConversion(t *testing.T) {
	q := func(v, u string) Quantity { d, _ := ParseDecimal(v); return Quantity{Value: d, Unit: u} }
	for _, tc := range []struct {
		from Quantity
		unit string
		want string
		ok   bool
	}{
		{q("1", "kg"), "g", "1000 'g'", true},
		{q("5.5", "mg/dL"), "g/L", "0.055 'g/L'", true},
		{q("1", "[lb_av]"), "g", "453.59237 'g'", true},
		{q("120", "mm[Hg]"), "kPa", "15.99864 'kPa'", true},
		{q("2", "h"), "min", "120 'min'", true},
		{q("3", "weeks"), "d", "21 'd'", true},
		{q("1", "year"), "months", "12 months", true},
		{q("1", "year"), "a", "", false},
		{q("1", "kg"), "m", "", false},
		{q("37", "Cel"), "K", "", false},
		{q("10", "%"), "1", "0.1 '1'", true},
		{q("1", "10*3/uL"), "10*9/L", "1 '10*9/L'", true},
	} {
		got, ok := tc.from.ConvertTo(tc.unit)
		if ok != tc.ok || (ok && got.String() != tc.want) {
			t.Errorf("%v in %s = %v, %v; want %s, %v", tc.from, tc.unit, got, ok, tc.want, tc.ok)
		}
	}
	if c, ok := q("1", "[in_i]").Compare(q("2.54", "cm")); !ok || c != 0 {
		t.Errorf("1 inch vs 2.54 cm: %d, %v", c, ok)
	}
}
