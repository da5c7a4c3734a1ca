package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

var stringFunctions = map[string]*funcDef{
	"indexOf": fnN(1, 1, strFunc1(func(s, sub string) []Item {
		i := strings.Index(s, sub)
		if i < 0 {
			return []Item{intItem(-1)}
		}
		return []Item{intItem(int64(utf8.RuneCountInString(s[:i])))}
	})),
	"lastIndexOf": fnN(1, 1, strFunc1(func(s, sub string) []Item {
		i := strings.LastIndex(s, sub)
		if i < 0 {
			return []Item{intItem(-1)}
		}
		return []Item{intItem(int64(utf8.RuneCountInString(s[:i])))}
	})),
	"substring": fnN(1, 2, fnSubstring),
	"startsWith": fnN(1, 1, strFunc1(func(s, p string) []Item {
		return boolColl(strings.HasPrefix(s, p))
	})),
	"endsWith": fnN(1, 1, strFunc1(func(s, p string) []Item {
		return boolColl(strings.HasSuffix(s, p))
	})),
	"contains": fnN(1, 1, strFunc1(func(s, p string) []Item {
		return boolColl(strings.Contains(s, p))
	})),
	"upper": fn0(strFunc0(func(s string) []Item { return []Item{strItem(strings.ToUpper(s))} })),
	"lower": fn0(strFunc0(func(s string) []Item { return []Item{strItem(strings.ToLower(s))} })),
	"length": fn0(strFunc0(func(s string) []Item {
		return []Item{intItem(int64(utf8.RuneCountInString(s)))}
	})),
	"trim": fn0(strFunc0(func(s string) []Item { return []Item{strItem(strings.TrimSpace(s))} })),
	"toChars": fn0(strFunc0(func(s string) []Item {
		out := make([]Item, 0, len(s))
		for _, r := range s {
			out = append(out, strItem(string(r)))
		}
		return out
	})),
	"replace":        fnN(2, 2, fnReplace),
	"matches":        fnN(1, 1, fnMatches(false)),
	"matchesFull":    fnN(1, 1, fnMatches(true)),
	"replaceMatches": fnN(2, 2, fnReplaceMatches),
	"split": fnN(1, 1, strFunc1(func(s, sep string) []Item {
		parts := strings.Split(s, sep)
		out := make([]Item, len(parts))
		for i, p := range parts {
			out[i] = strItem(p)
		}
		return out
	})),
	"join":     fnN(0, 1, fnJoin),
	"encode":   fnN(1, 1, strFunc1(encode)),
	"decode":   fnN(1, 1, strFunc1(decode)),
	"escape":   fnN(1, 1, strFunc1(escape)),
	"unescape": fnN(1, 1, strFunc1(unescape)),
}

// inputString returns the single String input of a string function: ok is
// false for an empty input (or a string element without value); several
// items or a non-String item are errors.
func inputString(in []Item, f *funcStep) (string, bool, error) {
	s, ok, err := singletonString(in, "input")
	if err != nil {
		if e, isEval := err.(*EvalError); isEval {
			return "", false, evalErrorf(f.pos, "%s(): %s", f.def.name, e.Msg)
		}
		return "", false, err
	}
	return s, ok, nil
}

func strFunc0(g func(s string) []Item) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	return func(_ *evalCtx, f *funcStep, _, in []Item) ([]Item, error) {
		s, ok, err := inputString(in, f)
		if !ok {
			return nil, err
		}
		return g(s), nil
	}
}

func strFunc1(g func(s, a string) []Item) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	return strFuncN(1, func(_ *funcStep, s string, args []string) ([]Item, error) { return g(s, args[0]), nil })
}

// strFuncN returns the function of g, which takes the string input and n
// string arguments: an empty input or argument gives an empty result.
func strFuncN(n int, g func(f *funcStep, s string, args []string) ([]Item, error)) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	return func(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
		s, ok, err := inputString(in, f)
		if !ok {
			return nil, err
		}
		args := make([]string, n)
		for i := range args {
			if args[i], ok, err = c.stringArg(f, i, this); !ok {
				return nil, err
			}
		}
		return g(f, s, args)
	}
}

func fnSubstring(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
	s, ok, err := inputString(in, f)
	if !ok {
		return nil, err
	}
	start, ok, err := c.intArg(f, 0, this)
	if !ok {
		return nil, err
	}
	runes := []rune(s)
	if start < 0 || start >= int64(len(runes)) {
		return nil, nil
	}
	end := int64(len(runes))
	if len(f.args) == 2 {
		n, ok, err := c.intArg(f, 1, this)
		if err != nil {
			return nil, err
		}
		if ok {
			if n < 0 {
				n = 0
			}
			end = min(start+n, end)
		}
	}
	return []Item{strItem(string(runes[start:end]))}, nil
}

var fnReplace = strFuncN(2, func(_ *funcStep, s string, args []string) ([]Item, error) {
	return []Item{strItem(strings.ReplaceAll(s, args[0], args[1]))}, nil
})

var regexCache sync.Map // pattern → *regexp.Regexp

// compileRegex compiles a FHIRPath regular expression in single-line mode
// (. matches newlines), caching the result.
func compileRegex(pattern string, full bool) (*regexp.Regexp, error) {
	key := pattern
	if full {
		key = "\x00" + pattern
	}
	if re, ok := regexCache.Load(key); ok {
		return re.(*regexp.Regexp), nil
	}
	src := "(?s)" + pattern
	if full {
		src = "(?s)^(?:" + pattern + ")$"
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	regexCache.Store(key, re)
	return re, nil
}

func fnMatches(full bool) func(*evalCtx, *funcStep, []Item, []Item) ([]Item, error) {
	return strFuncN(1, func(f *funcStep, s string, args []string) ([]Item, error) {
		re, err := compileRegex(args[0], full)
		if err != nil {
			return nil, evalErrorf(f.pos, "invalid regular expression: %v", err)
		}
		return boolColl(re.MatchString(s)), nil
	})
}

var groupRef = regexp.MustCompile(`\$(\d+)`)

var fnReplaceMatches = strFuncN(2, func(f *funcStep, s string, args []string) ([]Item, error) {
	pat, sub := args[0], args[1]
	if pat == "" {
		return []Item{strItem(s)}, nil
	}
	re, err := compileRegex(pat, false)
	if err != nil {
		return nil, evalErrorf(f.pos, "invalid regular expression: %v", err)
	}
	// Java-style $1 group references become ${1} for Go.
	sub = groupRef.ReplaceAllString(sub, "$${$1}")
	return []Item{strItem(re.ReplaceAllString(s, sub))}, nil
})

func fnJoin(c *evalCtx, f *funcStep, this, in []Item) ([]Item, error) {
	sep := ""
	if len(f.args) == 1 {
		s, ok, err := c.stringArg(f, 0, this)
		if err != nil {
			return nil, err
		}
		if ok {
			sep = s
		}
	}
	parts := make([]string, 0, len(in))
	for _, it := range in {
		s, ok := it.AsString()
		if !ok {
			return nil, evalErrorf(f.pos, "join() needs String items, got %s", it.TypeName())
		}
		parts = append(parts, s)
	}
	return []Item{strItem(strings.Join(parts, sep))}, nil
}

func encode(s, format string) []Item {
	switch format {
	case "base64":
		return []Item{strItem(base64.StdEncoding.EncodeToString([]byte(s)))}
	case "urlbase64":
		return []Item{strItem(base64.URLEncoding.EncodeToString([]byte(s)))}
	case "hex":
		return []Item{strItem(hex.EncodeToString([]byte(s)))}
	}
	return nil
}

func decode(s, format string) []Item {
	var b []byte
	var err error
	switch format {
	case "base64":
		b, err = base64.StdEncoding.DecodeString(s)
	case "urlbase64":
		b, err = base64.URLEncoding.DecodeString(s)
	case "hex":
		b, err = hex.DecodeString(s)
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return []Item{strItem(string(b))}
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func escape(s, target string) []Item {
	switch target {
	case "html":
		return []Item{strItem(htmlEscaper.Replace(s))}
	case "json":
		var b strings.Builder
		for _, r := range s {
			switch r {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				if r < 0x20 {
					b.WriteString(`\u00`)
					b.WriteByte("0123456789abcdef"[r>>4])
					b.WriteByte("0123456789abcdef"[r&15])
				} else {
					b.WriteRune(r)
				}
			}
		}
		return []Item{strItem(b.String())}
	}
	return nil
}

func unescape(s, target string) []Item {
	switch target {
	case "html":
		return []Item{strItem(html.UnescapeString(s))}
	case "json":
		// Undo JSON string escapes; other characters (including a bare ")
		// are kept as they are.
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] != '\\' || i+1 == len(s) {
				b.WriteByte(s[i])
				continue
			}
			end := i + 2
			if s[i+1] == 'u' {
				end = min(i+6, len(s))
			}
			var r string
			if err := json.Unmarshal([]byte(`"`+s[i:end]+`"`), &r); err != nil {
				b.WriteByte(s[i])
				continue
			}
			b.WriteString(r)
			i = end - 1
		}
		return []Item{strItem(b.String())}
	}
	return nil
}
