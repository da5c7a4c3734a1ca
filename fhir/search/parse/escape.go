package parse

import "strings"

// FHIR search values escape the characters that separate their parts
// with a backslash: "\," is a comma inside a value rather than an OR, "\|"
// a bar inside a token or quantity part, "\$" a dollar inside a composite
// component, "\\" a backslash. The parts are split on the unescaped
// separators first, and each part is unescaped last.

// split splits s at every sep that a backslash does not escape. The parts
// keep their escapes.
func split(s string, sep byte) []string {
	if strings.IndexByte(s, sep) < 0 {
		return []string{s}
	}
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// cut splits s at the first sep that a backslash does not escape.
func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// unescape resolves the escapes \, \| \$ and \\. A backslash before any
// other character, or at the end, stands for itself.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case ',', '|', '$', '\\':
				i++
				c = s[i]
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
