package fhir

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/internal/testfixture"
)

// TestPlainNarrative: the narratives plainNarrative reads are accepted as
// parseNarrative accepts them, and what it leaves to parseNarrative (any
// problem, and XML outside its subset) it declines.
func TestPlainNarrative(t *testing.T) {
	const root = `<div xmlns="http://www.w3.org/1999/xhtml"`
	for _, tc := range []struct {
		name, div string
		plain     bool
	}{
		{"text", root + `>Peter James Chalmers</div>`, true},
		{"elements", root + `><p><b>Name</b>: Peter <i>James</i></p><br/><table border="1"><tr><td colspan="2">x</td></tr></table></div>`, true},
		{"entities", root + `>a &amp; b &lt; c &gt; d &quot;e&apos; &#160; &#xA0;</div>`, true},
		{"non-ASCII", root + `>Zoë, 東京, 😀</div>`, true},
		{"attributes", root + ` xml:lang="fr" lang="fr"><a href="http://x.org/a" name='n' title="t">a</a><img src="#pic" alt="x" /></div>`, true},
		{"whitespace", "\n  " + root + " >\n<p\tclass=\"c\"\n>x</p >\n</div >\n ", true},
		{"empty", root + `/>`, true},
		{"nested divs", root + `><div><div>x</div></div></div>`, true},

		{"script", root + `><script>alert(1)</script></div>`, false},
		{"event attribute", root + `><p onclick="x()">x</p></div>`, false},
		{"javascript link", root + `><a href="javascript:alert(1)">x</a></div>`, false},
		{"entity in an attribute", root + `><a href="jav&#97;script:alert(1)">x</a></div>`, false},
		{"unknown entity", root + `>&nbsp;</div>`, false},
		{"comment", root + `><!-- x --></div>`, false},
		{"CDATA", root + `><![CDATA[x]]></div>`, false},
		{"no namespace", `<div>x</div>`, false},
		{"another namespace", `<div xmlns="http://example.org">x</div>`, false},
		{"namespace below the root", root + `><p xmlns="http://www.w3.org/1999/xhtml">x</p></div>`, false},
		{"prefixed element", root + ` xmlns:h="http://www.w3.org/1999/xhtml"><h:p>x</h:p></div>`, false},
		{"not a div", `<p xmlns="http://www.w3.org/1999/xhtml">x</p>`, false},
		{"text after", root + `>x</div>y`, false},
		{"text before", `y` + root + `>x</div>`, false},
		{"unclosed", root + `><p>x</div>`, false},
		{"unterminated", root + `><p>x</p>`, false},
		{"mismatched", root + `><p>x</b></div>`, false},
		{"uppercase", root + `><P>x</P></div>`, false},
		{"attribute without a value", root + `><td nowrap>x</td></div>`, false},
		{"duplicate attribute", root + `><p class="a" class="b">x</p></div>`, false},
		{"control character", root + ">a\x01b</div>", false},
		{"invalid UTF-8", root + ">a\xffb</div>", false},
		{"lone ]]>", root + `>a ]]> b</div>`, false},
		{"nul reference", root + `>&#0;</div>`, false},
		{"newline in an attribute", root + "><p title=\"a\nb\">x</p></div>", false},
		{"two roots", root + `>x</div>` + root + `>y</div>`, false},
	} {
		if got := plainNarrative(tc.div); got != tc.plain {
			t.Errorf("%s: plainNarrative = %v, want %v", tc.name, got, tc.plain)
		}
		if tc.plain && len(parseNarrative(tc.div)) > 0 {
			t.Errorf("%s: accepted, but parseNarrative says %v", tc.name, parseNarrative(tc.div))
		}
	}
}

// TestPlainNarrativesOfRealResources: over the narratives of the R4
// examples and of the Synthea patients, plainNarrative never accepts one
// that parseNarrative refuses, and reads most of them.
func TestPlainNarrativesOfRealResources(t *testing.T) {
	var divs []string
	testfixture.Examples(t, func(_ string, body []byte) { divs = append(divs, narratives(body)...) })
	if f, err := os.Open(testfixture.SharedData(t, "fhir", "synthea-r4.tar.gz")); err == nil {
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(zr)
		for files := 0; files < 20; {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(h.Name, ".json") {
				continue
			}
			body, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			divs = append(divs, narratives(body)...)
			files++
		}
	}
	plain, refused := 0, 0
	for _, div := range divs {
		problems := parseNarrative(div)
		if len(problems) > 0 {
			refused++
		}
		if plainNarrative(div) {
			plain++
			if len(problems) > 0 {
				t.Errorf("plainNarrative accepts a narrative parseNarrative refuses (%v):\n%.400s", problems, div)
			}
		}
	}
	t.Logf("%d narratives: %d read by plainNarrative, %d refused", len(divs), plain, refused)
	if plain < len(divs)/2 {
		t.Errorf("plainNarrative reads %d of %d narratives", plain, len(divs))
	}
}

// narratives returns the values of every property "div" in a JSON
// document.
func narratives(body []byte) []string {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "div" {
					out = append(out, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	return out
}

// FuzzPlainNarrative: plainNarrative accepts nothing parseNarrative
// refuses.
func FuzzPlainNarrative(f *testing.F) {
	const root = `<div xmlns="http://www.w3.org/1999/xhtml"`
	for _, s := range []string{
		root + `>x</div>`, root + `><p class="a">a &amp; b</p><br/></div>`, root + ` xml:lang="en"><a href="http://x">y</a></div>`,
		root + `><table><tr><td>&#160;</td></tr></table></div>`, root + `/>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, div string) {
		if plainNarrative(div) {
			if problems := parseNarrative(div); len(problems) > 0 {
				t.Fatalf("plainNarrative accepts %q, which parseNarrative refuses: %v", div, problems)
			}
		}
	})
}
