package sdc

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/cpms-fhir/cpms/fhir"
)

// # $extract
//
// extractGroups maps a repeating group's linkId to the resource one
// repetition becomes; observationItems the questions that become an
// Observation of their own (coded with the item's code). Everything else
// is not extracted: the Patient's own data (pi.sex, pi.age), free-text
// notes, the consultation request, episode narrative, health behaviours,
// past illness, special treatments, transplantation history, other items
// and documents, the oncology details of a diagnosis, genetic test types,
// reports and biobank samples.
var extractGroups = map[string]func(x *extraction, g *rep) (object, error){
	"dx.diagnosis":  (*extraction).diagnosis,    // Condition, cpms-condition-rare-disease (ORPHA and ICD-10 codings)
	"cm.condition":  (*extraction).comorbidity,  // Condition, cpms-condition-comorbidity (ICD-10)
	"pg.phenotype":  (*extraction).phenotype,    // Condition, cpms-condition-phenotype (HPO; refuted when excluded)
	"pg.variant":    (*extraction).variant,      // Observation, genetic variant assessment (LOINC 69548-6) with components
	"al.reaction":   (*extraction).allergy,      // AllergyIntolerance
	"md.medication": (*extraction).medication,   // MedicationStatement
	"sp.procedure":  (*extraction).procedure,    // Procedure
	"fh.member":     (*extraction).familyMember, // FamilyMemberHistory
}

// observationItems are the questions extracted as an Observation coded
// with the item's code, by linkId, with the Observation category.
var observationItems = map[string]string{
	"pi.education":         "social-history", // LOINC 82589-3, valueCodeableConcept (ISCED 2011)
	"pi.occupation":        "social-history", // LOINC 11341-5, valueString
	"pi.functional-status": "survey",         // LOINC 47420-5, valueString
}

// Extract returns the transaction Bundle that creates the resources the
// answers of response describe; questionnaire is the Questionnaire it
// answers. Each entry is a conditional create (ifNoneExist on the
// resource's identifier). An error of kind unprocessable names the item
// whose answers cannot be mapped.
func Extract(questionnaire, response []byte) ([]byte, error) {
	r, err := ParseResponse(response)
	if err != nil {
		return nil, err
	}
	f, err := parseForm(questionnaire, "QuestionnaireResponse.questionnaire")
	if err != nil {
		return nil, err
	}
	if r.Subject == nil || !strings.HasPrefix(r.Subject.Reference, "Patient/") {
		return nil, unprocessablef("QuestionnaireResponse.subject", "the response has no subject Patient (Patient/[id]) to link the extracted resources to")
	}
	x := &extraction{f: f, r: r, key: r.ID}
	if x.key == "" {
		sum := sha256.Sum256(response)
		x.key = "sha256-" + hex.EncodeToString(sum[:12])
	}
	if err := x.walk(r.Item, "QuestionnaireResponse", x.key); err != nil {
		return nil, err
	}
	b := object{}
	b.set("resourceType", "Bundle")
	b.set("type", "transaction")
	if len(x.entries) > 0 {
		b.set("entry", x.entries)
	}
	return marshal(b)
}

// extraction is one $extract.
type extraction struct {
	f       *form
	r       *Response
	key     string
	entries []object
}

// rep is one repetition of a group: its item and FHIRPath location.
type rep struct {
	it    *Item
	expr  string
	ident string
}

// walk extracts items, located at expr; path is the identifier of their
// container.
func (x *extraction) walk(items []*Item, expr, path string) error {
	count := map[string]int{}
	for i, it := range items {
		at := expr + ".item[" + strconv.Itoa(i) + "]"
		q := x.f.byLinkID[it.LinkID]
		if q == nil {
			return unprocessablef(at, "the item %q is not in the Questionnaire %s", it.LinkID, x.f.canonical())
		}
		count[it.LinkID]++
		ident := path + "/" + it.LinkID
		if q.Repeats {
			ident += "/" + strconv.Itoa(count[it.LinkID])
		}
		if build, ok := extractGroups[it.LinkID]; ok {
			if !answered(it) {
				continue
			}
			res, err := build(x, &rep{it: it, expr: at, ident: ident})
			if err != nil {
				return err
			}
			if res != nil {
				x.add(res, ident)
			}
			continue
		}
		if cat, ok := observationItems[it.LinkID]; ok && len(it.Answer) > 0 && len(q.Code) > 0 {
			if obs := x.observation(q, it, cat, ident); obs != nil {
				x.add(obs, ident)
			}
		}
		if err := x.walk(it.Item, at, ident); err != nil {
			return err
		}
		for j, a := range it.Answer {
			if err := x.walk(a.Item, at+".answer["+strconv.Itoa(j)+"]", ident); err != nil {
				return err
			}
		}
	}
	return nil
}

// answered reports whether an item or one below it has an answer.
func answered(it *Item) bool {
	if len(it.Answer) > 0 {
		return true
	}
	for _, c := range it.Item {
		if answered(c) {
			return true
		}
	}
	return false
}

// add appends res as a conditional create of the Bundle.
func (x *extraction) add(res object, ident string) {
	t := res[0].value.(string)
	ifNone := url.Values{"identifier": {ExtractIdentifierSystem + "|" + ident}}.Encode()
	e := object{}
	e.set("fullUrl", "urn:uuid:"+uuid.NewSHA1(uuid.NameSpaceURL, []byte(ExtractIdentifierSystem+"|"+ident)).String())
	e.set("resource", res)
	e.set("request", object{{"method", "POST"}, {"url", t}, {"ifNoneExist", ifNone}})
	x.entries = append(x.entries, e)
}

// head starts a resource: type, profile, identifier.
func (x *extraction) head(t fhir.ResourceType, profile, ident string) object {
	o := object{{"resourceType", string(t)}}
	if profile != "" {
		o.set("meta", object{{"profile", []string{profile}}})
	}
	o.set("identifier", []object{{{"system", ExtractIdentifierSystem}, {"value", ident}}})
	return o
}

func (x *extraction) subject() Reference { return Reference{Reference: x.r.Subject.Reference} }

// encounter is the episode of the response, or nil.
func (x *extraction) encounter() any {
	if x.r.Encounter == nil || x.r.Encounter.Reference == "" {
		return nil
	}
	return Reference{Reference: x.r.Encounter.Reference}
}

// answer returns the first answer to the child linkID of the group, and
// the child's location.
func (g *rep) answer(linkID string) (Answer, string, bool) {
	for i, c := range g.it.Item {
		if c.LinkID == linkID && len(c.Answer) > 0 {
			return c.Answer[0], g.expr + ".item[" + strconv.Itoa(i) + "]", true
		}
	}
	return Answer{}, g.expr, false
}

// coding returns the coding answering linkID, which must be of system
// (any system when system is "").
func (g *rep) coding(linkID, system string) (*Coding, error) {
	a, at, ok := g.answer(linkID)
	if !ok {
		return nil, nil
	}
	if a.ValueCoding == nil || a.ValueCoding.Code == "" {
		return nil, unprocessablef(at, "the answer to %s is not a coding", linkID)
	}
	if system != "" && a.ValueCoding.System != system {
		return nil, unprocessablef(at, "the answer to %s is a code of %s, not of %s", linkID, a.ValueCoding.System, system)
	}
	c := *a.ValueCoding
	return &c, nil
}

// text returns the string answering linkID, or "".
func (g *rep) text(linkID string) string {
	a, _, _ := g.answer(linkID)
	return a.ValueString
}

// date returns the date answering linkID, or "".
func (g *rep) date(linkID string) string {
	a, _, _ := g.answer(linkID)
	return a.ValueDate
}

// boolean returns the boolean answering linkID; nil when unanswered.
func (g *rep) boolean(linkID string) *bool {
	a, _, _ := g.answer(linkID)
	return a.ValueBoolean
}

func (g *rep) missing(linkID, what string) error {
	return unprocessablef(g.expr, "%s: %s has answers but no %s (%s), which the extracted resource needs", g.it.LinkID, g.ident, what, linkID)
}

func category(code string) []object {
	return []object{codeable("", Coding{System: systemCategory, Code: code})}
}

func status(system, code string) object { return codeable("", Coding{System: system, Code: code}) }

func (x *extraction) diagnosis(g *rep) (object, error) {
	orpha, err := g.coding("dx.orpha", SystemORPHA)
	if err != nil {
		return nil, err
	}
	icd, err := g.coding("dx.icd10", SystemICD10)
	if err != nil {
		return nil, err
	}
	if orpha == nil && icd == nil {
		return nil, g.missing("dx.orpha or dx.icd10", "ORPHAcode or ICD-10 code")
	}
	assertion, err := g.coding("dx.assertion", systemVerStatus)
	if err != nil {
		return nil, err
	}
	if assertion == nil {
		return nil, g.missing("dx.assertion", "assertion of the diagnosis")
	}
	o := x.head("Condition", ProfileRareDisease, g.ident)
	if d := g.date("dx.date"); d != "" {
		o = append(o[:2], append(object{{"extension", []object{{{"url", extAssertedDate}, {"valueDateTime", d}}}}}, o[2:]...)...)
	}
	o.set("clinicalStatus", status(systemClinical, "active"))
	o.set("verificationStatus", status(systemVerStatus, assertion.Code))
	o.set("category", category("rare-disease"))
	var cs []Coding
	for _, c := range []*Coding{orpha, icd} {
		if c != nil {
			cs = append(cs, *c)
		}
	}
	o.set("code", codeable("", cs...))
	o.set("subject", x.subject())
	o.set("encounter", x.encounter())
	o.set("onsetDateTime", g.date("dx.onset"))
	return o, nil
}

func (x *extraction) comorbidity(g *rep) (object, error) {
	icd, err := g.coding("cm.icd10", SystemICD10)
	if err != nil {
		return nil, err
	}
	if icd == nil {
		return nil, g.missing("cm.icd10", "ICD-10 code")
	}
	st, err := g.coding("cm.status", systemClinical)
	if err != nil {
		return nil, err
	}
	o := x.head("Condition", ProfileComorbidity, g.ident)
	if st != nil {
		o.set("clinicalStatus", codeable("", *st))
	}
	o.set("category", category("comorbidity"))
	o.set("code", codeable(g.text("cm.description"), *icd))
	o.set("subject", x.subject())
	o.set("encounter", x.encounter())
	o.set("onsetDateTime", g.date("cm.onset"))
	return o, nil
}

func (x *extraction) phenotype(g *rep) (object, error) {
	hpo, err := g.coding("pg.hpo", SystemHPO)
	if err != nil {
		return nil, err
	}
	if hpo == nil {
		return nil, g.missing("pg.hpo", "HPO term")
	}
	excluded := g.boolean("pg.excluded")
	o := x.head("Condition", ProfilePhenotype, g.ident)
	if excluded != nil && *excluded {
		o.set("verificationStatus", status(systemVerStatus, "refuted"))
	} else {
		o.set("clinicalStatus", status(systemClinical, "active"))
		o.set("verificationStatus", status(systemVerStatus, "confirmed"))
	}
	o.set("category", category("phenotype"))
	o.set("code", codeable("", *hpo))
	o.set("subject", x.subject())
	o.set("encounter", x.encounter())
	o.set("onsetDateTime", g.date("pg.hpo-onset"))
	return o, nil
}

// variant is a genetic variant found, as an Observation whose components
// are the answered items coded in the Questionnaire (gene, DNA and
// protein change, zygosity, clinical significance).
func (x *extraction) variant(g *rep) (object, error) {
	var comps []object
	for i, c := range g.it.Item {
		q := x.f.byLinkID[c.LinkID]
		if q == nil || len(q.Code) == 0 || len(c.Answer) == 0 {
			continue
		}
		comp := object{{"code", codeable("", q.Code...)}}
		switch a := c.Answer[0]; {
		case a.ValueCoding != nil:
			comp.set("valueCodeableConcept", codeable("", *a.ValueCoding))
		case a.ValueString != "":
			comp.set("valueString", a.ValueString)
		default:
			return nil, unprocessablef(g.expr+".item["+strconv.Itoa(i)+"]", "the answer to %s is neither a coding nor a string", c.LinkID)
		}
		comps = append(comps, comp)
	}
	if len(comps) == 0 {
		return nil, nil
	}
	o := x.head("Observation", "", g.ident)
	o.set("status", "final")
	o.set("category", []object{codeable("", Coding{System: systemObsCategory, Code: "laboratory"})})
	o.set("code", codeable("", Coding{System: SystemLOINC, Code: "69548-6", Display: "Genetic variant assessment"}))
	o.set("subject", x.subject())
	o.set("encounter", x.encounter())
	o.set("effectiveDateTime", x.r.Authored)
	o.set("valueCodeableConcept", codeable("", Coding{System: SystemLOINC, Code: "LA9633-4", Display: "Present"}))
	o.set("component", comps)
	return o, nil
}

func (x *extraction) allergy(g *rep) (object, error) {
	substance := g.text("al.substance")
	if substance == "" {
		return nil, g.missing("al.substance", "substance")
	}
	cat, err := g.coding("al.category", systemAllergyCat)
	if err != nil {
		return nil, err
	}
	typ, err := g.coding("al.type", systemAllergyType)
	if err != nil {
		return nil, err
	}
	sev, err := g.coding("al.severity", systemSeverity)
	if err != nil {
		return nil, err
	}
	o := x.head("AllergyIntolerance", "", g.ident)
	o.set("clinicalStatus", status("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active"))
	if typ != nil {
		o.set("type", typ.Code)
	}
	if cat != nil {
		o.set("category", []string{cat.Code})
	}
	o.set("code", codeable(substance))
	o.set("patient", x.subject())
	o.set("encounter", x.encounter())
	date := g.date("al.date")
	if m := g.text("al.manifestation"); m != "" {
		r := object{{"manifestation", []object{codeable(m)}}}
		r.set("onset", date)
		if sev != nil {
			r.set("severity", sev.Code)
		}
		o.set("reaction", []object{r})
	} else {
		o.set("onsetDateTime", date)
	}
	return o, nil
}

func (x *extraction) medication(g *rep) (object, error) {
	name := g.text("md.name")
	if name == "" {
		return nil, g.missing("md.name", "medication")
	}
	st := "unknown"
	if on := g.boolean("md.ongoing"); on != nil {
		st = "completed"
		if *on {
			st = "active"
		}
	}
	o := x.head("MedicationStatement", "", g.ident)
	o.set("status", st)
	o.set("medicationCodeableConcept", codeable(name))
	o.set("subject", x.subject())
	o.set("context", x.encounter())
	period := object{}
	period.set("start", g.date("md.start"))
	if st == "completed" {
		period.set("end", g.date("md.end"))
	}
	o.set("effectivePeriod", period)
	if ind := g.text("md.indication"); ind != "" {
		o.set("reasonCode", []object{codeable(ind)})
	}
	if dose := g.text("md.dose"); dose != "" {
		o.set("dosage", []object{{{"text", dose}}})
	}
	return o, nil
}

func (x *extraction) procedure(g *rep) (object, error) {
	desc := g.text("sp.description")
	if desc == "" {
		return nil, g.missing("sp.description", "procedure")
	}
	o := x.head("Procedure", "", g.ident)
	o.set("status", "completed")
	o.set("code", codeable(desc))
	o.set("subject", x.subject())
	o.set("encounter", x.encounter())
	o.set("performedDateTime", g.date("sp.date"))
	if site := g.text("sp.body-site"); site != "" {
		o.set("bodySite", []object{codeable(site)})
	}
	if out := g.text("sp.outcome"); out != "" {
		o.set("outcome", codeable(out))
	}
	return o, nil
}

func (x *extraction) familyMember(g *rep) (object, error) {
	rel, err := g.coding("fh.relationship", "")
	if err != nil {
		return nil, err
	}
	if rel == nil {
		return nil, g.missing("fh.relationship", "relationship")
	}
	o := x.head("FamilyMemberHistory", "", g.ident)
	o.set("status", "partial")
	o.set("patient", x.subject())
	o.set("relationship", codeable("", *rel))
	if a, _, ok := g.answer("fh.condition"); ok {
		var code object
		switch {
		case a.ValueCoding != nil:
			code = codeable("", *a.ValueCoding)
		case a.ValueString != "":
			code = codeable(a.ValueString)
		}
		if code != nil {
			o.set("condition", []object{{{"code", code}}})
		}
	}
	return o, nil
}

// observation is a question extracted on its own, coded with the item's
// code; nil when its answer is of no type an Observation value takes.
func (x *extraction) observation(q *question, it *Item, cat, ident string) object {
	o := x.head("Observation", "", ident)
	o.set("status", "final")
	o.set("category", []object{codeable("", Coding{System: systemObsCategory, Code: cat})})
	o.set("code", codeable("", q.Code...))
	o.set("subject", x.subject())
	o.set("encounter", x.encounter())
	o.set("effectiveDateTime", x.r.Authored)
	switch a := it.Answer[0]; {
	case a.ValueCoding != nil:
		o.set("valueCodeableConcept", codeable("", *a.ValueCoding))
	case a.ValueString != "":
		o.set("valueString", a.ValueString)
	default:
		return nil
	}
	return o
}
