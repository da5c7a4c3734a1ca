package questionnaire

import (
	"encoding/json"
	"strings"
	"unicode"

	"github.com/cpms-fhir/cpms/fhir"
)

// checkNickname checks the nickname rule of the Consultation Request: the
// nickname of the case must not contain the first or last name of the
// patient. The names are those of the Patient the response's subject
// refers to (contained, or read through the PatientLookup): every word
// of three letters or more of name.given, name.family and name.text,
// except name particles such as "van" or "de la". The comparison ignores
// case, accents and everything but letters, so "Du-Pont" matches
// "Dupont". A match is an error at the nickname answer.
func (r *run) checkNickname(qr *response) {
	type nickname struct{ text, where string }
	var nicks []nickname
	var walk func(n *node)
	walk = func(n *node) {
		for _, c := range n.children {
			if c.linkID == NicknameLinkID {
				for _, a := range c.answers {
					if s, ok := a.v.str(); a.v.kind == "String" && ok && strings.TrimSpace(s) != "" {
						nicks = append(nicks, nickname{s, a.path + ".valueString"})
					}
				}
			}
			walk(c)
		}
	}
	walk(r.root)
	if len(nicks) == 0 {
		return
	}
	words, ok := r.patientNames(qr, nicks[0].where)
	if !ok {
		return
	}
	for _, nk := range nicks {
		folded := lettersOnly(nk.text)
		for _, w := range words {
			if strings.Contains(folded, w.word) {
				r.errorf(fhir.IssueBusinessRule, nk.where,
					"the nickname contains the patient's %s name: choose a nickname that does not identify the patient", w.part)
				break
			}
		}
	}
}

// nameWord is a folded word of a patient's name, and which part of the
// name it comes from ("first" or "last").
type nameWord struct{ word, part string }

// patientNames returns the words of the names of the response's subject.
// ok is false when there is nothing to compare with; a warning (or, if
// the patient could not be read, an error) says why when the subject is
// a patient that cannot be read.
func (r *run) patientNames(qr *response, where string) (words []nameWord, ok bool) {
	if qr.Subject == nil || qr.Subject.Reference == "" {
		r.warn(fhir.IssueNotFound, where, "the response has no subject reference: the nickname was not checked against the patient's name")
		return nil, false
	}
	ref := qr.Subject.Reference
	var body []byte
	switch {
	case strings.HasPrefix(ref, "#"):
		for _, c := range qr.Contained {
			var head struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			if json.Unmarshal(c, &head) == nil && head.ID == ref[1:] && head.ResourceType == "Patient" {
				body = c
			}
		}
		if body == nil {
			return nil, false
		}
	case !isPatientReference(ref):
		return nil, false
	case r.c.opts.Patient == nil:
		r.warn(fhir.IssueNotSupported, where, "the patient cannot be read here: the nickname was not checked against the patient's name")
		return nil, false
	default:
		b, found, err := r.c.opts.Patient(r.ctx, ref)
		if err != nil {
			r.errorf(fhir.IssueTransient, where, "the patient %s could not be read to check that the nickname does not contain the patient's name", ref)
			return nil, false
		}
		if !found {
			r.warn(fhir.IssueNotFound, where, "the patient "+ref+" was not found: the nickname was not checked against the patient's name")
			return nil, false
		}
		body = b
	}
	var p struct {
		Name []struct {
			Text   string   `json:"text"`
			Family string   `json:"family"`
			Given  []string `json:"given"`
		} `json:"name"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		r.warn(fhir.IssueProcessing, where, "the patient "+ref+" could not be read: the nickname was not checked against the patient's name")
		return nil, false
	}
	add := func(s, part string) {
		for _, w := range nameWords(s) {
			words = append(words, nameWord{w, part})
		}
	}
	for _, n := range p.Name {
		add(n.Family, "last")
		for _, g := range n.Given {
			add(g, "first")
		}
		add(n.Text, "first or last")
	}
	return words, true
}

// isPatientReference reports whether a literal reference points to a
// Patient: "Patient/1", "http://host/fhir/Patient/1/_history/2".
func isPatientReference(ref string) bool {
	ref, _, _ = strings.Cut(ref, "/_history/")
	parts := strings.Split(ref, "/")
	return len(parts) >= 2 && parts[len(parts)-2] == "Patient" && parts[len(parts)-1] != ""
}

// particles are words of names too common to identify anyone.
var particles = map[string]bool{
	"van": true, "von": true, "der": true, "den": true, "del": true, "della": true, "dei": true,
	"des": true, "les": true, "los": true, "las": true, "dos": true, "das": true, "ten": true,
	"ter": true, "het": true, "bin": true, "ibn": true, "bint": true, "abu": true, "and": true,
}

// nameWords splits a name into folded words of at least three letters,
// leaving out particles.
func nameWords(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(fold(s), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if len([]rune(w)) >= 3 && !particles[w] {
			out = append(out, w)
		}
	}
	return out
}

// lettersOnly folds s and keeps only its letters.
func lettersOnly(s string) string {
	var b strings.Builder
	for _, r := range fold(s) {
		if unicode.IsLetter(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// fold lowers s and removes accents: combining marks are dropped and the
// precomposed letters of the Latin, Greek and Cyrillic alphabets are
// replaced by their base letters (æ becomes ae, ß ss).
func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if base, ok := foldTable[r]; ok {
			b.WriteString(base)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// foldTable maps accented lower-case letters to their base letters.
var foldTable = func() map[rune]string {
	m := map[rune]string{}
	for base, letters := range map[string]string{
		"a": "àáâãäåāăąǎǻạảấầẩẫậắằẳẵặ", "c": "çćĉċč", "d": "ďđð", "e": "èéêëēĕėęěẹẻẽếềểễệ",
		"g": "ĝğġģǧ", "h": "ĥħ", "i": "ìíîïĩīĭįıǐỉị", "j": "ĵ", "k": "ķǩ", "l": "ĺļľŀł",
		"n": "ñńņňŉ", "o": "òóôõöøōŏőǒǿọỏốồổỗộớờởỡợơ", "r": "ŕŗř", "s": "śŝşšș", "t": "ţťŧț",
		"u": "ùúûüũūŭůűųǔǖǘǚǜưụủứừửữự", "w": "ŵ", "y": "ýÿŷỳỹ", "z": "źżž",
		"ae": "æǽ", "oe": "œ", "ss": "ß", "th": "þ",
		"α": "ά", "ε": "έ", "η": "ή", "ι": "ίϊΐ", "ο": "ό", "υ": "ύϋΰ", "ω": "ώ", "σ": "ς",
		"е": "ё",
	} {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()
