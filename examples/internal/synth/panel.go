package synth

import (
	"strconv"
	"strings"
)

var panelStatusDisplay = map[string]string{
	"created":                   "Created",
	"open":                      "Open",
	"in-discussion":             "In discussion",
	"additional-data-requested": "Additional data requested",
	"outcome-in-preparation":    "Outcome in preparation",
	"signed-off":                "Outcome signed off",
	"closed":                    "Closed",
}

// taskStatus is the FHIR Task status of a panel status.
var taskStatus = map[string]string{
	"created":                   "draft",
	"open":                      "ready",
	"in-discussion":             "in-progress",
	"additional-data-requested": "on-hold",
	"outcome-in-preparation":    "in-progress",
	"signed-off":                "in-progress",
	"closed":                    "completed",
}

// panelEntries returns a panel: its consultation form, Task, CareTeam,
// meeting, contributions, request for additional data and outcome
// report, as far as its status has gone.
func panelEntries(pn panel, p patient) []entry {
	id := panelID(pn.Number)
	task := "Task/" + id
	pref := "Patient/" + patientID(p)
	episode := ref("Encounter/" + episodeID(p))
	panelExt := extRef("cpms-panel", task)
	activity := func(code string) O { return cpmsConcept("cpms-panel-activity", code, "") }

	es := []entry{consultationForm(pn, p)}

	priority := "routine"
	if pn.Urgent {
		priority = "urgent"
	}
	tm := []M{
		{"extension", A{
			extRef("cpms-ern", "Organization/"+ernID),
			ext("cpms-thematic-area", M{"valueCodeableConcept", text(pn.Area)}),
		}},
		{"status", taskStatus[pn.Status]},
		{"businessStatus", cpmsConcept("cpms-panel-status", pn.Status, panelStatusDisplay[pn.Status])},
		{"intent", "order"},
		{"priority", priority},
		{"code", activity("panel")},
		{"description", pn.Question},
		{"focus", ref("QuestionnaireResponse/" + id + "-form")},
		{"for", ref(pref)},
		{"encounter", episode},
		{"authoredOn", pn.Authored},
		{"requester", ref(roleRef(p.HP))},
		{"owner", ref(roleRef(pn.Lead))},
	}
	if pn.Outcome == "final" {
		tm = append(tm, M{"output", A{O{
			{"type", activity("outcome-report")},
			{"valueReference", ref("Composition/" + id + "-outcome")},
		}}})
	}
	es = append(es, res("Task", id, "cpms-panel-task", tm...))

	teamStatus := "active"
	if pn.Status == "closed" {
		teamStatus = "inactive"
	}
	members := A{}
	for _, m := range pn.Members {
		members = append(members, O{
			{"extension", A{ext("cpms-participation-status", M{"valueCode", m.Status})}},
			{"role", A{cpmsConcept("cpms-role", m.Role, roleDisplay[m.Role])}},
			{"member", ref(roleRef(m.Person))},
		})
	}
	es = append(es, res("CareTeam", id+"-team", "cpms-panel-careteam",
		M{"extension", A{panelExt, extRef("cpms-ern", "Organization/"+ernID)}},
		M{"status", teamStatus},
		M{"category", A{activity("panel")}},
		M{"name", "EuroBloodNet panel " + strconv.Itoa(pn.Number) + ": " + pn.Area},
		M{"subject", ref(pref)},
		M{"participant", members},
	))

	if len(pn.Meeting) == 2 {
		status := "booked"
		if pn.Status == "closed" || pn.Status == "signed-off" {
			status = "fulfilled"
		}
		actors := A{}
		for _, m := range pn.Members {
			actors = append(actors, O{{"actor", ref(roleRef(m.Person))}, {"status", m.Status}})
		}
		es = append(es, res("Appointment", id+"-meeting", "cpms-panel-meeting",
			M{"extension", A{panelExt}},
			M{"status", status},
			M{"serviceCategory", A{activity("meeting")}},
			M{"description", "EuroBloodNet panel meeting: case " + p.CPMSID()},
			M{"start", pn.Meeting[0]},
			M{"end", pn.Meeting[1]},
			M{"participant", actors},
		))
	}

	for i, c := range pn.Contrib {
		spent := minutes(c.Minutes)
		if c.Hours > 0 {
			spent = hours(c.Hours)
		}
		es = append(es, res("Communication", id+"-contribution-"+strconv.Itoa(i+1), "cpms-panel-contribution",
			M{"extension", A{ext("cpms-time-spent", M{"valueDuration", spent})}},
			M{"partOf", A{ref(task)}},
			M{"status", "completed"},
			M{"category", A{activity("contribution")}},
			M{"subject", ref(pref)},
			M{"sent", c.Sent},
			M{"sender", ref(roleRef(c.From))},
			M{"payload", A{O{{"contentString", c.Text}}}},
		))
	}

	if r := pn.DataRequest; r != nil {
		es = append(es, res("CommunicationRequest", id+"-data-request", "cpms-request-additional-data",
			M{"basedOn", A{ref(task)}},
			M{"status", "active"},
			M{"category", A{activity("additional-data-request")}},
			M{"subject", ref(pref)},
			M{"payload", A{O{{"contentString", r.Text}}}},
			M{"authoredOn", r.Sent},
			M{"requester", ref(roleRef(r.From))},
			M{"recipient", A{ref(roleRef(p.HP))}},
		))
	}

	if pn.Outcome != "" {
		sections := A{}
		for _, s := range pn.Sections {
			sections = append(sections, O{
				{"title", s.Title},
				{"code", cpmsConcept("cpms-outcome-section", s.Code, "")},
				{"text", xhtml(s.Text)},
			})
		}
		cm := []M{
			{"extension", A{panelExt}},
			{"status", pn.Outcome},
			{"type", concept(coding("http://loinc.org", "11488-4", "Consult Note"))},
			{"category", A{activity("outcome-report")}},
			{"subject", ref(pref)},
			{"encounter", episode},
			{"date", pn.OutcomeDate},
			{"author", A{ref(roleRef(pn.Lead))}},
			{"title", "Panel outcome: " + p.CPMSID()},
		}
		if pn.Outcome == "final" {
			cm = append(cm, M{"attester", A{O{{"mode", "legal"}, {"time", pn.OutcomeDate}, {"party", ref(roleRef(pn.Lead))}}}})
		}
		cm = append(cm, M{"section", sections})
		es = append(es, res("Composition", id+"-outcome", "cpms-panel-outcome", cm...))
	}
	return es
}

// consultationForm returns the panel's consultation form, a
// QuestionnaireResponse on the assembled CPMS form: complete, or, for a
// panel just created, in progress with its first widgets.
func consultationForm(pn panel, p patient) entry {
	yes := func(b bool) O {
		if b {
			return coding(sysYesNo, "Y", "Yes")
		}
		return coding(sysYesNo, "N", "No")
	}
	urgency := coding("http://hl7.org/fhir/request-priority", "routine", "Routine")
	if pn.Urgent {
		urgency = coding("http://hl7.org/fhir/request-priority", "urgent", "Urgent")
	}
	purposes := A{}
	for _, c := range pn.Purposes {
		purposes = append(purposes, O{{"valueCoding", coding(base+"/CodeSystem/cpms-consultation-type", c, purposeDisplay[c])}})
	}
	request := A{
		answer("cr.nickname", "valueString", pn.Nickname),
		answer("cr.urgency", "valueCoding", urgency),
		O{{"linkId", "cr.purpose"}, {"answer", purposes}},
	}
	if pn.Completed {
		request = append(request,
			answer("cr.repeat", "valueCoding", yes(false)),
			answer("cr.description", "valueString", pn.Question))
	}
	items := A{group("consultation-request", request)}

	dx := A{}
	for _, d := range p.Diagnoses {
		dx = append(dx, group("dx.diagnosis", A{
			answer("dx.orpha", "valueCoding", coding(sysOrpha, d.Orpha, d.OrphaDisplay)),
			answer("dx.icd10", "valueCoding", coding(sysICD10, d.ICD10, d.ICD10Display)),
			answer("dx.assertion", "valueCoding", coding(sysVerStatus, d.Verification, titleCase(d.Verification))),
			answer("dx.onset", "valueDate", d.Onset),
			answer("dx.oncological", "valueBoolean", false),
		}))
	}
	if !pn.Completed {
		return qr(pn, p, "in-progress", append(items, group("rare-disease-diagnosis", dx)))
	}

	items = append(items,
		group("patient-information", A{
			answer("pi.sex", "valueCoding", coding("http://hl7.org/fhir/administrative-gender", p.Gender, titleCase(p.Gender))),
			answer("pi.age", "valueInteger", age(p.BirthDate, pn.Authored)),
		}),
		group("episode-description", A{
			answer("ep.start", "valueDate", p.EpisodeStart),
			answer("ep.setting", "valueCoding", coding(sysActCode, p.EpisodeClass, map[string]string{"AMB": "ambulatory", "IMP": "inpatient encounter"}[p.EpisodeClass])),
			answer("ep.presenting-problem", "valueString", p.Reason),
		}),
		group("rare-disease-diagnosis", dx),
	)
	if len(p.Comorbidities) > 0 {
		cm := A{}
		for _, c := range p.Comorbidities {
			cm = append(cm, group("cm.condition", A{
				answer("cm.icd10", "valueCoding", coding(sysICD10, c.ICD10, c.Display)),
				answer("cm.status", "valueCoding", coding(sysClinical, "active", "Active")),
			}))
		}
		items = append(items, group("comorbidities", cm))
	}
	pg := A{}
	for _, ph := range p.Phenotypes {
		its := A{answer("pg.hpo", "valueCoding", coding(sysHPO, ph.HPO, ph.Display))}
		if ph.Excluded {
			its = append(its, answer("pg.excluded", "valueBoolean", true))
		}
		if ph.Onset != "" {
			its = append(its, answer("pg.hpo-onset", "valueDate", ph.Onset))
		}
		pg = append(pg, group("pg.phenotype", its))
	}
	pg = append(pg, answer("pg.genetic-test", "valueCoding", yes(p.Gene != "")))
	if p.Gene != "" {
		pg = append(pg, group("pg.genetics", A{
			answer("pg.test-type", "valueCoding", coding(base+"/CodeSystem/cpms-genetic-test-type", "gene-panel", "Gene panel")),
			group("pg.variant", A{
				answer("pg.gene", "valueString", p.Gene),
				answer("pg.dna-change", "valueString", p.Variant),
				answer("pg.zygosity", "valueCoding", coding("http://loinc.org", p.Zygosity, zygosityDisplay[p.Zygosity])),
				answer("pg.significance", "valueCoding", coding("http://loinc.org", "LA6668-3", "Pathogenic")),
			}),
		}))
	}
	pg = append(pg, answer("pg.sample-stored", "valueCoding", yes(false)))
	items = append(items, group("phenotype-genetics-biobanks", pg),
		group("family-history", A{answer("fh.consanguinity", "valueCoding", yes(false))}))
	if len(p.Medications) > 0 {
		md := A{}
		for _, m := range p.Medications {
			md = append(md, group("md.medication", A{
				answer("md.name", "valueString", m),
				answer("md.ongoing", "valueBoolean", true),
			}))
		}
		items = append(items, group("medication-summary", md))
	}
	return qr(pn, p, "completed", items)
}

func qr(pn panel, p patient, status string, items A) entry {
	return entry{"QuestionnaireResponse", panelID(pn.Number) + "-form", O{
		{"resourceType", "QuestionnaireResponse"},
		{"id", panelID(pn.Number) + "-form"},
		{"questionnaire", consultForm},
		{"status", status},
		{"subject", ref("Patient/" + patientID(p))},
		{"encounter", ref("Encounter/" + episodeID(p))},
		{"authored", pn.Authored},
		{"author", ref(roleRef(p.HP))},
		{"item", items},
	}}
}

func group(linkID string, items A) O { return O{{"linkId", linkID}, {"item", items}} }

func answer(linkID, typ string, v any) O {
	return O{{"linkId", linkID}, {"answer", A{O{{typ, v}}}}}
}

var purposeDisplay = map[string]string{
	"diagnosis":           "Diagnosis",
	"treatment":           "Treatment or management",
	"genetic-counselling": "Genetic counselling",
	"follow-up":           "Follow-up",
}

var zygosityDisplay = map[string]string{
	"LA6705-3": "Homozygous",
	"LA6706-1": "Heterozygous",
	"LA6707-9": "Hemizygous",
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// age returns the age in whole years on the date at the start of at.
func age(birth, at string) int {
	y := func(s string, from, to int) int { n, _ := strconv.Atoi(s[from:to]); return n }
	a := y(at, 0, 4) - y(birth, 0, 4)
	if at[5:10] < birth[5:10] {
		a--
	}
	return a
}
