package synth

import "strconv"

// patientEntries returns a patient with the three consents, the episode
// and the diagnoses, phenotypes and comorbidities.
func patientEntries(p patient) []entry {
	id := patientID(p)
	pref := "Patient/" + id
	centre := "Organization/" + centreID(p.Centre)
	es := []entry{res("Patient", id, "cpms-patient",
		M{"extension", A{
			ext("cpms-record-label", M{"valueString", p.RecordLabel}),
			ext("cpms-enrolment-date", M{"valueDateTime", p.Enrolled}),
			ext("cpms-frozen", M{"valueBoolean", false}),
			extRef("cpms-ern", "Organization/"+ernID),
		}},
		M{"identifier", A{
			O{{"use", "official"}, {"system", sysCPMSID}, {"value", p.CPMSID()}},
			O{{"use", "usual"}, {"system", "urn:oid:2.999." + strconv.Itoa(centreIndex(p.Centre)) + ".1"}, {"value", p.RecordLabel}},
		}},
		M{"active", true},
		M{"name", A{O{{"family", p.Family}, {"given", A{p.Given}}}}},
		M{"gender", p.Gender},
		M{"birthDate", p.BirthDate},
		M{"managingOrganization", ref(centre)},
	)}

	consent := func(kind, profile, scope, provision string, extra ...M) entry {
		ms := extra
		ms = append(ms,
			M{"status", "active"},
			M{"scope", concept(coding("http://terminology.hl7.org/CodeSystem/consentscope", scope, ""))},
			M{"category", A{cpmsConcept("cpms-consent-category", kind, "")}},
			M{"patient", ref(pref)},
			M{"dateTime", p.Enrolled},
			M{"organization", A{ref(centre)}},
			M{"policy", A{O{{"uri", consentPolicy}}}},
			M{"provision", O{{"type", provision}}},
		)
		return res("Consent", id+"-consent-"+kind, profile, ms...)
	}
	es = append(es, consent("care", "cpms-consent-care", "treatment", "permit"))
	if len(p.Registers) > 0 {
		names := A{}
		for _, r := range p.Registers {
			names = append(names, ext("cpms-register-name", M{"valueString", r}))
		}
		es = append(es, consent("registry", "cpms-consent-registry", "research", "permit", M{"extension", names}))
	} else {
		es = append(es, consent("registry", "cpms-consent-registry", "research", "deny"))
	}
	contact := "deny"
	if p.ResearchContact {
		contact = "permit"
	}
	es = append(es, consent("research-contact", "cpms-consent-research-contact", "research", contact))

	period := O{{"start", p.EpisodeStart}}
	status := "in-progress"
	if p.EpisodeEnd != "" {
		period = append(period, M{"end", p.EpisodeEnd})
		status = "finished"
	}
	es = append(es, res("Encounter", episodeID(p), "cpms-encounter",
		M{"status", status},
		M{"class", coding(sysActCode, p.EpisodeClass, map[string]string{"AMB": "ambulatory", "IMP": "inpatient encounter"}[p.EpisodeClass])},
		M{"subject", ref(pref)},
		M{"period", period},
		M{"reasonCode", A{text(p.Reason)}},
		M{"serviceProvider", ref(centre)},
	))

	category := func(code string) M {
		return M{"category", A{cpmsConcept("cpms-condition-category", code, "")}}
	}
	episode := M{"encounter", ref("Encounter/" + episodeID(p))}
	for i, d := range p.Diagnoses {
		es = append(es, res("Condition", id+"-diagnosis-"+strconv.Itoa(i+1), "cpms-condition-rare-disease",
			M{"clinicalStatus", concept(coding(sysClinical, "active", ""))},
			M{"verificationStatus", concept(coding(sysVerStatus, d.Verification, ""))},
			category("rare-disease"),
			M{"code", concept(coding(sysOrpha, d.Orpha, d.OrphaDisplay), coding(sysICD10, d.ICD10, d.ICD10Display))},
			M{"subject", ref(pref)},
			episode,
			M{"onsetDateTime", d.Onset},
		))
	}
	for i, ph := range p.Phenotypes {
		ms := []M{}
		ver := "confirmed"
		if ph.Excluded {
			ver = "refuted"
		} else {
			ms = append(ms, M{"clinicalStatus", concept(coding(sysClinical, "active", ""))})
		}
		ms = append(ms,
			M{"verificationStatus", concept(coding(sysVerStatus, ver, ""))},
			category("phenotype"),
			M{"code", concept(coding(sysHPO, ph.HPO, ph.Display))},
			M{"subject", ref(pref)},
			episode,
		)
		if ph.Onset != "" {
			ms = append(ms, M{"onsetDateTime", ph.Onset})
		}
		es = append(es, res("Condition", id+"-phenotype-"+strconv.Itoa(i+1), "cpms-condition-phenotype", ms...))
	}
	for i, c := range p.Comorbidities {
		es = append(es, res("Condition", id+"-comorbidity-"+strconv.Itoa(i+1), "cpms-condition-comorbidity",
			M{"clinicalStatus", concept(coding(sysClinical, "active", ""))},
			category("comorbidity"),
			M{"code", concept(coding(sysICD10, c.ICD10, c.Display))},
			M{"subject", ref(pref)},
		))
	}
	return es
}

func episodeID(p patient) string { return patientID(p) + "-episode" }

func centreIndex(code string) int {
	for i, c := range centres {
		if c.Code == code {
			return i + 1
		}
	}
	return 0
}
