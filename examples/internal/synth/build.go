// Package synth builds the synthetic EuroBloodNet example data set of
// package examples as FHIR transaction Bundles. The Bundles are written
// to examples/eurobloodnet by "go generate ./examples" and checked to be
// up to date by the examples tests.
package synth

import (
	"fmt"
	"slices"
	"strings"
)

// File is one generated Bundle.
type File struct {
	Name string
	JSON []byte
}

// entry is a resource of a Bundle, with its type and id.
type entry struct {
	typ, id string
	res     O
}

func res(typ, id, profile string, members ...M) entry {
	o := O{{"resourceType", typ}, {"id", id}, {"meta", meta(profile)}}
	return entry{typ, id, append(o, members...)}
}

// bundle returns a transaction Bundle of PUT entries.
func bundle(entries []entry) O {
	a := make(A, len(entries))
	for i, e := range entries {
		a[i] = O{
			{"fullUrl", uuidFor(e.typ + "/" + e.id)},
			{"resource", e.res},
			{"request", O{{"method", "PUT"}, {"url", e.typ + "/" + e.id}}},
		}
	}
	return O{{"resourceType", "Bundle"}, {"type", "transaction"}, {"entry", a}}
}

// Files returns the Bundles of the data set, in the order they load (the
// order of their names):
// the network and its people, then each patient, then each panel (whose
// consultation form names a patient already stored, so that its nickname
// is checked against the patient's name).
func Files() ([]File, error) {
	var files []File
	add := func(name string, entries []entry) error {
		b, err := encode(bundle(entries))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		files = append(files, File{name, b})
		return nil
	}
	if err := add("01-network.json", network()); err != nil {
		return nil, err
	}
	for _, p := range patients {
		if err := add(fmt.Sprintf("02-patient-%s-%03d.json", strings.ToLower(p.Centre), p.Number), patientEntries(p)); err != nil {
			return nil, err
		}
	}
	for _, p := range panels {
		pat, ok := patientByID(p.Patient)
		if !ok {
			return nil, fmt.Errorf("panel %d: no patient %s", p.Number, p.Patient)
		}
		for _, m := range p.Members {
			if _, ok := personByID(m.Person); !ok {
				return nil, fmt.Errorf("panel %d: no person %s", p.Number, m.Person)
			}
		}
		if err := add(fmt.Sprintf("03-panel-%d-%s.json", p.Number, p.Status), panelEntries(p, pat)); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return files, nil
}

// Ids of the resources.

const ernID = "ebn-eurobloodnet"

func centreID(code string) string    { return "ebn-centre-" + strings.ToLower(code) }
func practitionerID(p string) string { return "ebn-" + p }
func roleID(p string) string         { return "ebn-" + p + "-role" }
func patientID(p patient) string {
	return fmt.Sprintf("ebn-%s-%03d", strings.ToLower(p.Centre), p.Number)
}
func panelID(n int) string { return fmt.Sprintf("ebn-panel-%d", n) }

// CPMSID returns the patient's CPMS ID.
func (p patient) CPMSID() string {
	return fmt.Sprintf("ERN-%s-EuroBloodNet-%03d", p.Centre, p.Number)
}

func patientByID(cpmsID string) (patient, bool) {
	for _, p := range patients {
		if p.CPMSID() == cpmsID {
			return p, true
		}
	}
	return patient{}, false
}

func personByID(id string) (person, bool) {
	for _, p := range people {
		if p.ID == id {
			return p, true
		}
	}
	return person{}, false
}

func roleRef(p string) string { return "PractitionerRole/" + roleID(p) }

// network returns the ERN, its centres and its people.
func network() []entry {
	es := []entry{res("Organization", ernID, "cpms-organization-ern",
		M{"identifier", A{O{{"system", sysERN}, {"value", "EuroBloodNet"}}}},
		M{"active", true},
		M{"type", A{cpmsConcept("cpms-organization-type", "ern", "European Reference Network")}},
		M{"name", "European Reference Network on Rare Haematological Diseases"},
		M{"alias", A{"EuroBloodNet"}},
	)}
	for _, c := range centres {
		es = append(es, res("Organization", centreID(c.Code), "cpms-organization-centre",
			M{"extension", A{extRef("cpms-ern-affiliation", "Organization/"+ernID)}},
			M{"identifier", A{O{{"system", sysCentre}, {"value", c.Code}}}},
			M{"active", true},
			M{"type", A{cpmsConcept("cpms-organization-type", "hcp", "Healthcare provider (centre)")}},
			M{"name", c.Name},
			M{"address", A{O{{"city", c.City}, {"country", c.Country}}}},
		))
	}
	for _, p := range people {
		name := O{{"family", p.Family}, {"given", A{p.Given}}}
		if p.Prefix != "" {
			name = append(name, M{"prefix", A{p.Prefix}})
		}
		email := strings.ToLower(strings.ReplaceAll(ascii(p.Given+"."+p.Family), " ", "")) + "@eurobloodnet.example"
		es = append(es, res("Practitioner", practitionerID(p.ID), "cpms-practitioner",
			M{"active", true},
			M{"name", A{name}},
			M{"telecom", A{O{{"system", "email"}, {"value", email}}}},
		))
		exts := A{extRef("cpms-ern", "Organization/"+ernID)}
		for _, a := range p.Areas {
			exts = append(exts, ext("cpms-thematic-area", M{"valueCodeableConcept", text(a)}))
		}
		org := "Organization/" + ernID
		if p.Centre != "" {
			org = "Organization/" + centreID(p.Centre)
		}
		codes := A{}
		for _, r := range p.Roles {
			codes = append(codes, cpmsConcept("cpms-role", r, roleDisplay[r]))
		}
		role := []M{
			{"extension", exts},
			{"active", true},
			{"practitioner", ref("Practitioner/" + practitionerID(p.ID))},
			{"organization", ref(org)},
			{"code", codes},
		}
		if p.Specialty != "" {
			role = append(role, M{"specialty", A{concept(coding("http://snomed.info/sct", p.Specialty, p.SpecialtyLabel))}})
		}
		es = append(es, res("PractitionerRole", roleID(p.ID), "cpms-practitionerrole", role...))
	}
	return es
}

var roleDisplay = map[string]string{
	"healthcare-professional": "Healthcare professional",
	"member-expert":           "Member expert",
	"guest-expert":            "Guest expert",
	"ern-coordinator":         "ERN coordinator",
	"panel-manager-ern":       "ERN panel manager",
	"researcher":              "Researcher",
	"panel-lead":              "Panel lead",
	"panel-member":            "Panel member",
	"panel-guest":             "Panel guest",
	"referring-professional":  "Referring professional",
}

// ascii folds the accented letters of the names for e-mail addresses.
func ascii(s string) string {
	r := strings.NewReplacer("á", "a", "č", "c", "é", "e", "É", "E", "ě", "e", "í", "i", "ř", "r", "š", "s", "ž", "z", "ý", "y", "ů", "u")
	return r.Replace(s)
}
