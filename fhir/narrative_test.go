package fhir

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckNarrative(t *testing.T) {
	const ns = `xmlns="http://www.w3.org/1999/xhtml"`
	tests := []struct {
		name, div string
		want      string // a word of the first problem; "" for none
	}{
		{"plain", `<div ` + ns + `><p>Peter <b>Chalmers</b></p></div>`, ""},
		{"table, links, image, lang", `<div ` + ns + ` xml:lang="fr" lang="fr"><table border="1"><tr><td colspan="2"><a href="http://x.org/a">a</a> <a name="n">n</a></td></tr></table><img src="#pic" alt="x"/></div>`, ""},
		{"image only", `<div ` + ns + `><img src="data:image/png;base64,AAAA"/></div>`, ""},
		{"entity and numeric reference", `<div ` + ns + `>a &amp; b&#160;c</div>`, ""},
		{"whitespace around", "\n <div " + ns + ">x</div>\n", ""},
		{"no namespace", `<div><p>x</p></div>`, "xmlns"},
		{"not a div", `<p ` + ns + `>x</p>`, "<div"},
		{"text only", `Peter Chalmers`, "<div"},
		{"two roots", `<div ` + ns + `>x</div><div ` + ns + `>y</div>`, "nothing after"},
		{"empty (txt-2 is not enforced)", `<div ` + ns + `> <p/> </div>`, ""},
		{"script", `<div ` + ns + `>x<script>alert(1)</script></div>`, "<script>"},
		{"iframe", `<div ` + ns + `>x<iframe src="http://e.vil"/></div>`, "<iframe>"},
		{"event handler", `<div ` + ns + `><p onclick="alert(1)">x</p></div>`, "onclick"},
		{"javascript link", `<div ` + ns + `><a href=" jav&#x09;ascript:alert(1)">x</a></div>`, "javascript"},
		{"data link", `<div ` + ns + `><a href="data:text/html,x">x</a></div>`, "data"},
		{"style script", `<div ` + ns + `><p style="background:url(javascript:alert(1))">x</p></div>`, "style"},
		{"html entity", `<div ` + ns + `>a&nbsp;b</div>`, "well-formed"},
		{"unclosed", `<div ` + ns + `><p>x</div>`, "well-formed"},
		{"foreign namespace", `<div ` + ns + `><svg xmlns="http://www.w3.org/2000/svg"><script/></svg>x</div>`, "<svg>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkNarrative(tt.div)
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("problems %q, want none", got)
			case tt.want != "" && (len(got) == 0 || !strings.Contains(got[0], tt.want)):
				t.Errorf("problems %q, want one mentioning %q", got, tt.want)
			}
		})
	}
}

func TestNarrativeIssueLocation(t *testing.T) {
	p, err := Prepare([]byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>x</script></div>"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Issues) != 1 || p.Issues[0].Expression[0] != "Bundle.entry[0].resource.text.div" || p.Issues[0].Code != IssueInvariant {
		t.Errorf("issues %+v", p.Issues)
	}
}

// unquote decodes JSON string literals as encoding/json does, escapes,
// surrogate pairs, lone surrogates and invalid UTF-8 included.
func TestUnquote(t *testing.T) {
	for _, lit := range []string{
		`""`, `"plain"`, `"<div xmlns=\"http://www.w3.org/1999/xhtml\">a \/ b</div>"`,
		`"tab\there\nline\r\f\b\\"`, `"\u00e9t\u00E9"`, `"\ud83d\ude00 smile"`, `"lone \ud83d here"`, `"lone \ude00"`,
		`"high \ud83d\u0041"`, "\"caf\xc3\xa9\"", "\"bad \xff byte \\n\"", `"\u0000nul"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		if got := unquote([]byte(lit)); got != want {
			t.Errorf("unquote(%s) = %q, want %q", lit, got, want)
		}
	}
}
