package sdc

import (
	"encoding/json"
	"strings"
)

// node is a decoded JSON resource, read by path with get, str and the
// helpers below; missing paths read as empty.
type node = map[string]any

// get walks v by object keys and array indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...any) []any {
	a, _ := get(v, path...).([]any)
	return a
}

// codings returns the codings of a CodeableConcept.
func codings(cc any) []Coding {
	var out []Coding
	for _, c := range list(cc, "coding") {
		out = append(out, Coding{System: str(c, "system"), Version: str(c, "version"), Code: str(c, "code"), Display: str(c, "display")})
	}
	return out
}

// codingIn returns the first coding of cc in system.
func codingIn(cc any, system string) (Coding, bool) {
	for _, c := range codings(cc) {
		if c.System == system && c.Code != "" {
			return c, true
		}
	}
	return Coding{}, false
}

// hasCode reports whether cc has the coding system|code.
func hasCode(cc any, system, code string) bool {
	for _, c := range codings(cc) {
		if c.System == system && c.Code == code {
			return true
		}
	}
	return false
}

// label is how a CodeableConcept reads as text: its text, or its first
// coding's display, or its first code.
func label(cc any) string {
	if t := str(cc, "text"); t != "" {
		return t
	}
	for _, c := range codings(cc) {
		if c.Display != "" {
			return c.Display
		}
	}
	for _, c := range codings(cc) {
		if c.Code != "" {
			return c.Code
		}
	}
	return ""
}

// datePart returns the date of a FHIR date or dateTime (yyyy, yyyy-mm or
// yyyy-mm-dd), "" when there is none.
func datePart(s string) string {
	s, _, _ = strings.Cut(s, "T")
	switch len(s) {
	case 4, 7, 10:
		return s
	}
	return ""
}

func hasProfile(r node, url string) bool {
	for _, p := range list(r, "meta", "profile") {
		if s, _ := p.(string); s == url || strings.HasPrefix(s, url+"|") {
			return true
		}
	}
	return false
}

func decode(body []byte) (node, error) {
	var n node
	err := json.Unmarshal(body, &n)
	return n, err
}
