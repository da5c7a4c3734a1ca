package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokIdent
	tokDelimIdent // `...`
	tokString
	tokNumber
	tokDateTime // @... literal
	tokOp       // punctuation and symbolic operators
	tokDollar   // $this, $index, $total
	tokPercent  // %name or %`name` or %'name'
)

type token struct {
	kind tokenKind
	text string // identifier name, unescaped string, number text, operator, literal body
	pos  int    // byte offset in the source
}

// SyntaxError is a parse error with its position in the expression.
type SyntaxError struct {
	Expr   string
	Offset int // byte offset
	Line   int // 1-based
	Column int // 1-based, in characters
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("fhirpath: syntax error at %d:%d: %s", e.Line, e.Column, e.Msg)
}

func newSyntaxError(src string, pos int, format string, args ...any) *SyntaxError {
	if pos > len(src) {
		pos = len(src)
	}
	line := 1 + strings.Count(src[:pos], "\n")
	col := 1 + utf8.RuneCountInString(src[strings.LastIndexByte(src[:pos], '\n')+1:pos])
	return &SyntaxError{Expr: src, Offset: pos, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

type lexer struct {
	src  string
	pos  int
	toks []token
}

func tokenize(src string) ([]token, error) {
	l := &lexer{src: src}
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		l.toks = append(l.toks, t)
		if t.kind == tokEOF {
			return l.toks, nil
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) skipSpace() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f':
			l.pos++
		case strings.HasPrefix(l.src[l.pos:], "//"):
			end := strings.IndexByte(l.src[l.pos:], '\n')
			if end < 0 {
				l.pos = len(l.src)
			} else {
				l.pos += end + 1
			}
		case strings.HasPrefix(l.src[l.pos:], "/*"):
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return newSyntaxError(l.src, l.pos, "unterminated comment")
			}
			l.pos += end + 4
		default:
			return nil
		}
	}
	return nil
}

var twoCharOps = []string{"<=", ">=", "!=", "!~"}

func (l *lexer) next() (token, error) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	switch {
	case isIdentStart(c):
		for l.pos < len(l.src) && (isIdentStart(l.src[l.pos]) || isDigit(l.src[l.pos])) {
			l.pos++
		}
		return token{kind: tokIdent, text: l.src[start:l.pos], pos: start}, nil
	case isDigit(c):
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
		if l.pos+1 < len(l.src) && l.src[l.pos] == '.' && isDigit(l.src[l.pos+1]) {
			l.pos++
			for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
				l.pos++
			}
		}
		return token{kind: tokNumber, text: l.src[start:l.pos], pos: start}, nil
	case c == '\'':
		s, err := l.quoted('\'')
		return token{kind: tokString, text: s, pos: start}, err
	case c == '`':
		s, err := l.quoted('`')
		return token{kind: tokDelimIdent, text: s, pos: start}, err
	case c == '@':
		return l.dateTimeLiteral()
	case c == '$':
		l.pos++
		for l.pos < len(l.src) && isIdentStart(l.src[l.pos]) {
			l.pos++
		}
		name := l.src[start:l.pos]
		switch name {
		case "$this", "$index", "$total":
			return token{kind: tokDollar, text: name, pos: start}, nil
		}
		return token{}, newSyntaxError(l.src, start, "unknown special variable %q", name)
	case c == '%':
		l.pos++
		if l.pos < len(l.src) && (l.src[l.pos] == '`' || l.src[l.pos] == '\'') {
			s, err := l.quoted(l.src[l.pos])
			return token{kind: tokPercent, text: s, pos: start}, err
		}
		begin := l.pos
		for l.pos < len(l.src) && (isIdentStart(l.src[l.pos]) || isDigit(l.src[l.pos])) {
			l.pos++
		}
		if l.pos == begin {
			return token{}, newSyntaxError(l.src, start, "expected a variable name after %%")
		}
		return token{kind: tokPercent, text: l.src[begin:l.pos], pos: start}, nil
	}
	for _, op := range twoCharOps {
		if strings.HasPrefix(l.src[l.pos:], op) {
			l.pos += 2
			return token{kind: tokOp, text: op, pos: start}, nil
		}
	}
	if strings.IndexByte(".,()[]{}+-*/&|=~<>", c) >= 0 {
		l.pos++
		return token{kind: tokOp, text: l.src[start:l.pos], pos: start}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return token{}, newSyntaxError(l.src, start, "unexpected character %q", r)
}

// quoted reads a string or delimited identifier with FHIRPath escapes.
func (l *lexer) quoted(q byte) (string, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == q:
			l.pos++
			return b.String(), nil
		case c == '\\':
			if l.pos+1 >= len(l.src) {
				return "", newSyntaxError(l.src, l.pos, "unterminated escape")
			}
			e := l.src[l.pos+1]
			l.pos += 2
			switch e {
			case '\'', '"', '`', '\\', '/':
				b.WriteByte(e)
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if l.pos+4 > len(l.src) {
					return "", newSyntaxError(l.src, l.pos-2, "invalid unicode escape")
				}
				n, err := strconv.ParseUint(l.src[l.pos:l.pos+4], 16, 32)
				if err != nil {
					return "", newSyntaxError(l.src, l.pos-2, "invalid unicode escape")
				}
				b.WriteRune(rune(n))
				l.pos += 4
			default:
				return "", newSyntaxError(l.src, l.pos-2, "invalid escape \\%c", e)
			}
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return "", newSyntaxError(l.src, start, "unterminated %c", q)
}

// dateTimeLiteral reads @date, @dateTime or @Ttime; the token text is the
// literal without '@'.
func (l *lexer) dateTimeLiteral() (token, error) {
	start := l.pos
	l.pos++
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if isDigit(c) || c == '-' || c == ':' || c == 'T' || c == 'Z' || c == '+' {
			l.pos++
			continue
		}
		// A '.' belongs to the literal only when followed by a digit
		// (fractional seconds); otherwise it is an invocation.
		if c == '.' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]) {
			l.pos++
			continue
		}
		break
	}
	text := l.src[start+1 : l.pos]
	if text == "" {
		return token{}, newSyntaxError(l.src, start, "expected a date or time after @")
	}
	return token{kind: tokDateTime, text: text, pos: start}, nil
}
