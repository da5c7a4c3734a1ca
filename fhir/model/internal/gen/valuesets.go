package gen

import (
	"encoding/json"
	"github.com/cpms-fhir/cpms/internal/gendata"
	"strings"
)

// ValueSetsFile is the definition bundle holding the R4 value sets, read
// to find the code system of required bindings.
const ValueSetsFile = "valuesets.json.gz"

// valueSets maps a value set URL to its compose.
type valueSets map[string]*compose

type compose struct {
	Include []struct {
		System   string   `json:"system"`
		ValueSet []string `json:"valueSet"`
	} `json:"include"`
}

func readValueSets(path string) (valueSets, error) {
	var b bundle
	if err := gendata.ReadGzipJSON(path, &b); err != nil {
		return nil, err
	}
	vs := valueSets{}
	for _, e := range b.Entry {
		var r struct {
			ResourceType string   `json:"resourceType"`
			URL          string   `json:"url"`
			Compose      *compose `json:"compose"`
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			return nil, err
		}
		if r.ResourceType == "ValueSet" && r.Compose != nil {
			vs[r.URL] = r.Compose
		}
	}
	return vs, nil
}

// singleSystem returns the code system all codes of the value set come
// from (following included value sets), or "" when they come from several
// systems or the value set is unknown or has no compose.
func (vs valueSets) singleSystem(url string) string {
	systems := map[string]bool{}
	if !vs.collect(url, systems, map[string]bool{}) || len(systems) != 1 {
		return ""
	}
	for s := range systems {
		return s
	}
	return ""
}

func (vs valueSets) collect(url string, systems, seen map[string]bool) bool {
	url, _, _ = strings.Cut(url, "|")
	if seen[url] {
		return true
	}
	seen[url] = true
	c := vs[url]
	if c == nil {
		return false
	}
	for _, inc := range c.Include {
		if inc.System != "" {
			systems[inc.System] = true
		}
		for _, u := range inc.ValueSet {
			if !vs.collect(u, systems, seen) {
				return false
			}
		}
		if inc.System == "" && len(inc.ValueSet) == 0 {
			return false
		}
	}
	return true
}
