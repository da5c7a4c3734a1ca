package search

import "testing"

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Chalmers":            "chalmers",
		"  Peter   James\t":   "peter james",
		"Bénédicte du Marché": "benedicte du marche",
		"Straße":              "strasse",
		"ÅSA Ørsted":          "asa ørsted", // ø is a letter of its own, not o with a mark
		"Ελληνικά":            "ελληνικα",
		"":                    "",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}
