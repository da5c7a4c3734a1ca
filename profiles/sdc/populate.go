package sdc

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
)

// Source is what $populate reads: the server's resources.
type Source interface {
	// Search returns the bodies of all the resources of type t that
	// params select.
	Search(ctx context.Context, t fhir.ResourceType, params url.Values) ([][]byte, error)
}

// PopulateRequest is a $populate: the Questionnaire to fill and whom for.
type PopulateRequest struct {
	// Questionnaire is the Questionnaire resource.
	Questionnaire []byte
	// Subject is the patient, "Patient/<id>".
	Subject string
	// Encounter is the episode, "Encounter/<id>", or "".
	Encounter string
	// Now is the date the patient's age is computed at; zero: today.
	Now time.Time
}

// Populate returns a QuestionnaireResponse (status in-progress) to the
// Questionnaire, for the subject, pre-filled from the subject's resources
// that src finds. Errors name the parameter at fault: "subject" or
// "encounter" when there is no such resource, "questionnaire" when it is
// not a Questionnaire.
func Populate(ctx context.Context, src Source, req PopulateRequest) ([]byte, error) {
	f, err := parseForm(req.Questionnaire, "questionnaire")
	if err != nil {
		return nil, err
	}
	patientID, ok := strings.CutPrefix(req.Subject, "Patient/")
	if !ok || patientID == "" || strings.Contains(patientID, "/") {
		return nil, invalidf("subject", "subject must reference a Patient as Patient/[id], not %q", req.Subject)
	}
	s := &sourceSet{now: req.Now, conditions: map[conditionKind][]node{}}
	if s.now.IsZero() {
		s.now = time.Now()
	}
	if s.patient, err = readOne(ctx, src, "Patient", patientID); err != nil {
		return nil, err
	}
	if s.patient == nil {
		return nil, NotFoundf("subject", "there is no Patient %s", patientID)
	}
	if req.Encounter != "" {
		id, ok := strings.CutPrefix(req.Encounter, "Encounter/")
		if !ok || id == "" {
			return nil, invalidf("encounter", "encounter must reference an Encounter as Encounter/[id], not %q", req.Encounter)
		}
		if s.encounter, err = readOne(ctx, src, "Encounter", id); err != nil {
			return nil, err
		}
		if s.encounter == nil {
			return nil, NotFoundf("encounter", "there is no Encounter %s", id)
		}
	}
	for _, q := range sourceQueries {
		if !slices.ContainsFunc(q.groups, func(g string) bool { return f.byLinkID[g] != nil }) {
			continue
		}
		bodies, err := src.Search(ctx, q.t, url.Values{q.param: {"Patient/" + patientID}})
		if err != nil {
			return nil, err
		}
		if err := s.add(q.t, bodies); err != nil {
			return nil, err
		}
	}

	out := object{}
	out.set("resourceType", "QuestionnaireResponse")
	out.set("questionnaire", f.canonical())
	out.set("status", "in-progress")
	out.set("subject", Reference{Reference: req.Subject})
	if req.Encounter != "" {
		out.set("encounter", Reference{Reference: req.Encounter})
	}
	if items := s.fill(f.Item, nil); len(items) > 0 {
		out.set("item", items)
	}
	return marshal(out)
}

// readOne reads a resource by id through a search; nil when there is
// none.
func readOne(ctx context.Context, src Source, t fhir.ResourceType, id string) (node, error) {
	bodies, err := src.Search(ctx, t, url.Values{"_id": {id}})
	if err != nil || len(bodies) == 0 {
		return nil, err
	}
	n, err := decode(bodies[0])
	if err != nil {
		return nil, fhir.Internal("a stored "+string(t)+" cannot be read", err)
	}
	return n, nil
}

type conditionKind int

const (
	kindNone conditionKind = iota
	kindRareDisease
	kindComorbidity
	kindPhenotype
)

// sourceSet is what $populate found about the patient.
type sourceSet struct {
	now         time.Time
	patient     node
	encounter   node
	conditions  map[conditionKind][]node
	allergies   []node
	medications []node
	procedures  []node
	family      []node
}

// add sorts the resources found into the set, in the order they were
// last updated, leaving out those entered in error, refuted or not done.
func (s *sourceSet) add(t fhir.ResourceType, bodies [][]byte) error {
	var rs []node
	for _, b := range bodies {
		n, err := decode(b)
		if err != nil {
			return fhir.Internal("a stored "+string(t)+" cannot be read", err)
		}
		rs = append(rs, n)
	}
	slices.SortStableFunc(rs, func(a, b node) int {
		return strings.Compare(str(a, "meta", "lastUpdated")+str(a, "id"), str(b, "meta", "lastUpdated")+str(b, "id"))
	})
	for _, r := range rs {
		switch t {
		case "Condition":
			if hasCode(r["verificationStatus"], systemVerStatus, "entered-in-error") {
				continue
			}
			k := conditionKindOf(r)
			if k == kindNone || k != kindPhenotype && hasCode(r["verificationStatus"], systemVerStatus, "refuted") {
				continue
			}
			s.conditions[k] = append(s.conditions[k], r)
		case "AllergyIntolerance":
			if !hasCode(r["verificationStatus"], "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "refuted") &&
				!hasCode(r["verificationStatus"], "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "entered-in-error") {
				s.allergies = append(s.allergies, r)
			}
		case "MedicationStatement":
			if st := str(r, "status"); st != "entered-in-error" && st != "not-taken" {
				s.medications = append(s.medications, r)
			}
		case "Procedure":
			if st := str(r, "status"); st == "completed" || st == "in-progress" {
				s.procedures = append(s.procedures, r)
			}
		case "FamilyMemberHistory":
			if str(r, "status") != "entered-in-error" {
				s.family = append(s.family, r)
			}
		}
	}
	return nil
}

// conditionKindOf classifies a Condition by its CPMS profile, else its
// CPMS category, else its codes.
func conditionKindOf(r node) conditionKind {
	switch {
	case hasProfile(r, ProfileRareDisease):
		return kindRareDisease
	case hasProfile(r, ProfileComorbidity):
		return kindComorbidity
	case hasProfile(r, ProfilePhenotype):
		return kindPhenotype
	case hasProfile(r, profileOncology):
		return kindNone
	}
	for _, cat := range list(r, "category") {
		for _, c := range codings(cat) {
			if c.System != systemCategory {
				continue
			}
			switch c.Code {
			case "rare-disease":
				return kindRareDisease
			case "comorbidity":
				return kindComorbidity
			case "phenotype":
				return kindPhenotype
			}
			return kindNone
		}
	}
	code := r["code"]
	switch {
	case hasSystem(code, SystemORPHA):
		return kindRareDisease
	case hasSystem(code, SystemHPO):
		return kindPhenotype
	case hasSystem(code, SystemICD10):
		return kindComorbidity
	}
	return kindNone
}

func hasSystem(cc any, system string) bool {
	_, ok := codingIn(cc, system)
	return ok
}

// fill answers the items of the form: rec holds the answers of the
// repetition being filled (nil outside repeating groups).
func (s *sourceSet) fill(qs []*question, rec node) []*Item {
	var out []*Item
	for _, q := range qs {
		switch {
		case q.Type == "display":
		case q.Type == "group":
			if g, ok := populateGroups[q.LinkID]; ok && rec == nil {
				for _, r := range g.records(s) {
					if children := s.fillRecord(q.Item, g, r); len(children) > 0 {
						out = append(out, &Item{LinkID: q.LinkID, Text: q.Text, Item: children})
					}
					if !q.Repeats {
						break
					}
				}
				continue
			}
			if children := s.fill(q.Item, rec); len(children) > 0 {
				out = append(out, &Item{LinkID: q.LinkID, Text: q.Text, Item: children})
			}
		case rec == nil:
			if fn, ok := populateQuestions[q.LinkID]; ok {
				if as := allowed(q, fn(s)); len(as) > 0 {
					out = append(out, &Item{LinkID: q.LinkID, Text: q.Text, Answer: as})
				}
			}
		}
	}
	return out
}

// fillRecord answers the questions of one repetition of a group from one
// resource; nested groups are not filled.
func (s *sourceSet) fillRecord(qs []*question, g groupSource, r node) []*Item {
	var out []*Item
	for _, q := range qs {
		fn, ok := g.fields[q.LinkID]
		if !ok || q.Type == "group" {
			continue
		}
		if as := allowed(q, fn(r)); len(as) > 0 {
			out = append(out, &Item{LinkID: q.LinkID, Text: q.Text, Answer: as})
		}
	}
	return out
}

// allowed keeps the answers of the types q allows, and of its options
// when it lists them; one unless q repeats.
func allowed(q *question, as []Answer) []Answer {
	var out []Answer
	for _, a := range as {
		ok := false
		switch q.Type {
		case "boolean":
			ok = a.ValueBoolean != nil
		case "integer":
			ok = a.ValueInteger != nil
		case "date":
			ok = a.ValueDate != ""
		case "string", "text":
			ok = a.ValueString != ""
		case "choice", "open-choice":
			ok = a.ValueCoding != nil || q.Type == "open-choice" && a.ValueString != ""
			if ok && a.ValueCoding != nil && len(q.AnswerOption) > 0 {
				ok = false
				for _, o := range q.AnswerOption {
					if o.ValueCoding != nil && o.ValueCoding.System == a.ValueCoding.System && o.ValueCoding.Code == a.ValueCoding.Code {
						c := *o.ValueCoding // the option as the form words it
						a.ValueCoding, ok = &c, true
						break
					}
				}
			}
		}
		if ok {
			out = append(out, a)
		}
	}
	if len(out) > 1 && !q.Repeats {
		out = out[:1]
	}
	return out
}

func codingAnswer(c Coding, ok bool) []Answer {
	if !ok {
		return nil
	}
	return []Answer{{ValueCoding: &c}}
}

func codeAnswer(system, code string) []Answer {
	if code == "" {
		return nil
	}
	return []Answer{{ValueCoding: &Coding{System: system, Code: code}}}
}

func stringAnswer(s string) []Answer {
	if s == "" {
		return nil
	}
	return []Answer{{ValueString: s}}
}

func dateAnswer(s string) []Answer {
	if d := datePart(s); d != "" {
		return []Answer{{ValueDate: d}}
	}
	return nil
}

func boolAnswer(b bool) []Answer { return []Answer{{ValueBoolean: &b}} }

func yesIf(b bool) []Answer {
	if !b {
		return nil
	}
	return []Answer{{ValueCoding: &Coding{System: systemYesNo, Code: "Y", Display: "Yes"}}}
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

var genderDisplay = map[string]string{"male": "Male", "female": "Female", "other": "Other", "unknown": "Unknown"}

func genderAnswer(g string) []Answer {
	d, ok := genderDisplay[g]
	if !ok {
		return nil
	}
	return []Answer{{ValueCoding: &Coding{System: systemGender, Code: g, Display: d}}}
}

// age is the patient's age in whole years at s.now. A birth date of a
// year or a month only counts from its last day, so that the age is never
// overstated.
func (s *sourceSet) age() []Answer {
	bd := str(s.patient, "birthDate")
	var born time.Time
	var err error
	switch len(bd) {
	case 4:
		born, err = time.Parse("2006", bd)
		born = born.AddDate(1, 0, -1)
	case 7:
		born, err = time.Parse("2006-01", bd)
		born = born.AddDate(0, 1, -1)
	case 10:
		born, err = time.Parse("2006-01-02", bd)
	default:
		return nil
	}
	if err != nil || born.After(s.now) {
		return nil
	}
	years := int64(s.now.Year() - born.Year())
	if s.now.Month() < born.Month() || s.now.Month() == born.Month() && s.now.Day() < born.Day() {
		years--
	}
	return []Answer{{ValueInteger: &years}}
}

func extensionString(r node, url, key string) string {
	for _, e := range list(r, "extension") {
		if str(e, "url") == url {
			return str(e, key)
		}
	}
	return ""
}

func classCoding(enc node) (Coding, bool) {
	if enc == nil || str(enc, "class", "code") == "" {
		return Coding{}, false
	}
	return Coding{System: str(enc, "class", "system"), Code: str(enc, "class", "code"), Display: str(enc, "class", "display")}, true
}

func medicationOngoing(r node) []Answer {
	switch str(r, "status") {
	case "active":
		return boolAnswer(true)
	case "completed", "stopped":
		return boolAnswer(false)
	}
	return nil
}

func ifNotOngoing(r node, as []Answer) []Answer {
	if st := str(r, "status"); st == "completed" || st == "stopped" {
		return as
	}
	return nil
}

func familyCondition(r node) []Answer {
	cc := get(r, "condition", 0, "code")
	if c, ok := codingIn(cc, SystemORPHA); ok {
		return []Answer{{ValueCoding: &c}}
	}
	return stringAnswer(label(cc))
}
