package questionnaire

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sync"

	"github.com/cpms-fhir/cpms/fhir"
)

// Base is the canonical base of the resources of this package.
const Base = "http://cpms-fhir.org/fhir"

// Version is the version of the Questionnaires of this package.
const Version = "1.0.0"

// FormURL is the canonical URL of the whole consultation form.
const FormURL = Base + "/Questionnaire/" + formID

// NicknameLinkID is the linkId of the nickname of the case in the
// Consultation Request widget (and the consultation form).
const NicknameLinkID = "cr.nickname"

const formID = "cpms-consultation-form"

// widgetIDs lists the ids of the widget Questionnaires in the order of the
// consultation form.
var widgetIDs = []fhir.ID{
	"cpms-consultation-request",
	"cpms-patient-information",
	"cpms-episode-description",
	"cpms-rare-disease-diagnosis",
	"cpms-comorbidities",
	"cpms-phenotype-genetics-biobanks",
	"cpms-family-history",
	"cpms-health-behaviours",
	"cpms-allergies",
	"cpms-past-illness",
	"cpms-special-treatment",
	"cpms-surgical-procedures",
	"cpms-transplantation-history",
	"cpms-medication-summary",
	"cpms-others",
	"cpms-medical-documents",
}

//go:embed definitions/*.json
var definitionFiles embed.FS

// definition is one embedded resource.
type definition struct {
	file    string
	t       fhir.ResourceType
	id      fhir.ID
	url     string
	version string
	body    []byte
}

// definitions reads the embedded resources once, sorted by file name.
var definitions = sync.OnceValues(func() ([]definition, error) {
	entries, err := definitionFiles.ReadDir("definitions")
	if err != nil {
		return nil, fmt.Errorf("questionnaire: %w", err)
	}
	var defs []definition
	for _, e := range entries {
		file := path.Join("definitions", e.Name())
		body, err := definitionFiles.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("questionnaire: %w", err)
		}
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			URL          string `json:"url"`
			Version      string `json:"version"`
		}
		if err := json.Unmarshal(body, &head); err != nil {
			return nil, fmt.Errorf("questionnaire: %s: %w", file, err)
		}
		id := fhir.ID(head.ID)
		if head.ResourceType == "" || !id.Valid() {
			return nil, fmt.Errorf("questionnaire: %s: no resourceType or no valid id", file)
		}
		defs = append(defs, definition{file: file, t: fhir.ResourceType(head.ResourceType), id: id,
			url: head.URL, version: head.Version, body: body})
	}
	slices.SortFunc(defs, func(a, b definition) int {
		if a.file < b.file {
			return -1
		}
		if a.file > b.file {
			return 1
		}
		return 0
	})
	return defs, nil
})

// Resources calls fn for every resource of definitions/ (Questionnaires,
// CodeSystems, ValueSets), in file name order, with its type, id and JSON.
// It stops at the first error fn returns and returns it. body must not be
// modified.
func Resources(fn func(t fhir.ResourceType, id fhir.ID, body []byte) error) error {
	defs, err := definitions()
	if err != nil {
		return err
	}
	for _, d := range defs {
		if err := fn(d.t, d.id, d.body); err != nil {
			return err
		}
	}
	return nil
}

// Questionnaires returns the JSON of the embedded Questionnaires by
// canonical URL, each under its url and under url|version. The map is a
// new one at each call; the bodies must not be modified. It is empty only
// if the embedded definitions are broken, which the tests rule out.
func Questionnaires() map[string][]byte {
	defs, _ := definitions()
	m := map[string][]byte{}
	for _, d := range defs {
		if d.t != "Questionnaire" || d.url == "" {
			continue
		}
		m[d.url] = d.body
		if d.version != "" {
			m[d.url+"|"+d.version] = d.body
		}
	}
	return m
}
