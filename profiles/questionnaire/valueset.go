package questionnaire

import (
	"encoding/json"
	"fmt"
)

// localValueSet is a value set of this package whose members are known
// here: every include names concepts, or a whole CodeSystem of this
// package.
type localValueSet struct {
	include, exclude []localPart
}

// localPart is one include or exclude: codes of one system.
type localPart struct {
	system string
	codes  map[string]bool
}

func (l *localValueSet) contains(c Coding) bool {
	in := func(parts []localPart) bool {
		for _, p := range parts {
			if p.system == c.System && p.codes[c.Code] {
				return true
			}
		}
		return false
	}
	return in(l.include) && !in(l.exclude)
}

type codeSystemJSON struct {
	URL     string        `json:"url"`
	Content string        `json:"content"`
	Concept []conceptJSON `json:"concept"`
}

type conceptJSON struct {
	Code    string        `json:"code"`
	Concept []conceptJSON `json:"concept"`
}

type valueSetJSON struct {
	URL     string `json:"url"`
	Version string `json:"version"`
	Compose *struct {
		Include []composePart `json:"include"`
		Exclude []composePart `json:"exclude"`
	} `json:"compose"`
}

type composePart struct {
	System   string            `json:"system"`
	Version  string            `json:"version"`
	Concept  []conceptJSON     `json:"concept"`
	Filter   []json.RawMessage `json:"filter"`
	ValueSet []string          `json:"valueSet"`
}

// localValueSets evaluates the value sets of the definitions that can be
// evaluated without the terminology service, by url and url|version.
func localValueSets(defs []definition) (map[string]*localValueSet, error) {
	systems := map[string]map[string]bool{}
	for _, d := range defs {
		if d.t != "CodeSystem" {
			continue
		}
		var cs codeSystemJSON
		if err := json.Unmarshal(d.body, &cs); err != nil {
			return nil, fmt.Errorf("questionnaire: %s: %w", d.file, err)
		}
		if cs.Content != "complete" {
			continue
		}
		codes := map[string]bool{}
		var add func([]conceptJSON)
		add = func(cs []conceptJSON) {
			for _, c := range cs {
				codes[c.Code] = true
				add(c.Concept)
			}
		}
		add(cs.Concept)
		systems[cs.URL] = codes
	}
	out := map[string]*localValueSet{}
	for _, d := range defs {
		if d.t != "ValueSet" {
			continue
		}
		var vs valueSetJSON
		if err := json.Unmarshal(d.body, &vs); err != nil {
			return nil, fmt.Errorf("questionnaire: %s: %w", d.file, err)
		}
		if vs.Compose == nil {
			continue
		}
		l := &localValueSet{}
		ok := true
		part := func(p composePart) (localPart, bool) {
			if p.System == "" || len(p.Filter) > 0 || len(p.ValueSet) > 0 {
				return localPart{}, false
			}
			if len(p.Concept) == 0 {
				codes, known := systems[p.System]
				return localPart{p.System, codes}, known
			}
			codes := map[string]bool{}
			for _, c := range p.Concept {
				codes[c.Code] = true
			}
			return localPart{p.System, codes}, true
		}
		for _, p := range vs.Compose.Include {
			lp, known := part(p)
			ok = ok && known
			l.include = append(l.include, lp)
		}
		for _, p := range vs.Compose.Exclude {
			lp, known := part(p)
			ok = ok && known
			l.exclude = append(l.exclude, lp)
		}
		if !ok || len(l.include) == 0 {
			continue
		}
		out[vs.URL] = l
		if vs.Version != "" {
			out[vs.URL+"|"+vs.Version] = l
		}
	}
	return out, nil
}
