package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Fold normalises a string for string search, which FHIR defines as
// case- and accent-insensitive: accents removed (é → e), Unicode case
// folding (ß → ss), runs of white space as one space, trimmed. Both the
// indexed values and the searched ones are folded, so a store compares
// bytes.
func Fold(s string) string {
	if isPlainASCII(s) {
		return collapseSpaces(strings.ToLower(s))
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return collapseSpaces(cases.Fold().String(out))
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// collapseSpaces trims s and turns each run of white space into one space.
func collapseSpaces(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) && r != ' ' }) &&
		!strings.Contains(s, "  ") && strings.TrimSpace(s) == s {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
