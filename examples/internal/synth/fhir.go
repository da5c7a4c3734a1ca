package synth

// Canonical URLs and code systems the examples use.
const (
	base          = "http://cpms-fhir.org/fhir"
	sdBase        = base + "/StructureDefinition/"
	csBase        = base + "/CodeSystem/"
	sysCPMSID     = base + "/sid/cpms-id"
	sysCentre     = base + "/sid/centre"
	sysERN        = base + "/sid/ern"
	sysOrpha      = "https://www.orpha.net"
	sysICD10      = "http://hl7.org/fhir/sid/icd-10"
	sysHPO        = "http://human-phenotype-ontology.org"
	sysClinical   = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	sysVerStatus  = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	sysYesNo      = "http://terminology.hl7.org/CodeSystem/v2-0136"
	sysActCode    = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	consultForm   = base + "/Questionnaire/cpms-consultation-form|1.0.0"
	consentPolicy = "https://ec.europa.eu/health/ern/consent-form/en"
)

func ref(r string) O { return O{{"reference", r}} }

func meta(profile string) O { return O{{"profile", A{sdBase + profile}}} }

func coding(system, code, display string) O {
	c := O{{"system", system}, {"code", code}}
	if display != "" {
		c = append(c, M{"display", display})
	}
	return c
}

func concept(codings ...O) O {
	a := make(A, len(codings))
	for i, c := range codings {
		a[i] = c
	}
	return O{{"coding", a}}
}

func cpmsConcept(cs, code, display string) O { return concept(coding(csBase+cs, code, display)) }

func ext(name string, value M) O { return O{{"url", sdBase + name}, value} }

func extRef(name, reference string) O { return ext(name, M{"valueReference", ref(reference)}) }

func text(s string) O { return O{{"text", s}} }

func xhtml(s string) O {
	return O{{"status", "generated"}, {"div", `<div xmlns="http://www.w3.org/1999/xhtml">` + s + `</div>`}}
}

func minutes(n int) O {
	return O{{"value", n}, {"unit", "min"}, {"system", "http://unitsofmeasure.org"}, {"code", "min"}}
}

func hours(n float64) O {
	return O{{"value", n}, {"unit", "h"}, {"system", "http://unitsofmeasure.org"}, {"code", "h"}}
}
