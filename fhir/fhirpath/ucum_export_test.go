package fhirpath

import (
	"math"
	"testing"
)

func TestUCUMCanonical(t *testing.T) {
	for _, tc := range []struct {
		value float64
		unit  string
		want  float64
		canon string
	}{
		{5.4, "mg", 0.0054, "g"},
		{1, "kg", 1000, "g"},
		{120, "mm[Hg]", 15998640, "m-1.g.s-2"},
		{2, "h", 7200, "s"},
		{3, "mmol/L", 1.80664101e24, "m-3"},
		{50, "%", 0.5, "1"},
		{70, "kg/m2", 70000, "m-2.g"},
	} {
		v, c, ok := UCUMCanonical(tc.value, tc.unit)
		if !ok || c != tc.canon || math.Abs(v-tc.want) > 1e-9*math.Abs(tc.want) {
			t.Errorf("UCUMCanonical(%v, %q) = %v %q %v, want %v %q", tc.value, tc.unit, v, c, ok, tc.want, tc.canon)
		}
	}
	for _, unit := range []string{"Cel", "[iU]", "xyz"} {
		if _, _, ok := UCUMCanonical(1, unit); ok {
			t.Errorf("UCUMCanonical(1, %q) converted", unit)
		}
	}
}
