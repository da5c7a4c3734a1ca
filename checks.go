package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/profiles"
	"github.com/cpms-fhir/cpms/profiles/base"
	"github.com/cpms-fhir/cpms/profiles/questionnaire"
	"github.com/cpms-fhir/cpms/profiles/validate"
	"github.com/cpms-fhir/cpms/terminology"
)

// checks are what a server checks resources with beyond the base
// specification (engine.Checker): the profiles a resource claims, with
// the R4 base definitions, the CPMS profiles and the StructureDefinitions
// stored through the API; and the answers of QuestionnaireResponses,
// against their Questionnaire.
type checks struct {
	profiles *validate.Validator
	answers  *questionnaire.Checker
	// eng is the engine the lookups read through, set once it exists.
	eng atomic.Pointer[engine.Engine]
	log *slog.Logger
}

// newChecks builds the checks, with terms for bindings and answer value
// sets.
func newChecks(log *slog.Logger, terms *terminology.Service) (*checks, error) {
	start := time.Now()
	c := &checks{log: log.With("component", "profiles")}
	c.profiles = validate.New(validate.Options{Logger: c.log, Terminology: validate.TerminologyFunc(
		func(system, version, code, display, valueSet, where string) []fhir.Issue {
			return terms.CheckCoding(terminology.Coding{System: system, Version: version, Code: code, Display: display}, valueSet, where)
		})})
	sds, err := profiles.StructureDefinitions()
	if err != nil {
		return nil, err
	}
	// The base definitions of the resources the profiles constrain and of
	// the types their elements have tell the validator which constraints
	// and bindings the base validation already enforces.
	want := map[string]bool{}
	for _, b := range sds {
		var sd struct {
			Type     string
			Snapshot struct {
				Element []struct {
					Type []struct{ Code string }
				}
			}
		}
		json.Unmarshal(b, &sd)
		want[sd.Type] = true
		for _, e := range sd.Snapshot.Element {
			for _, t := range e.Type {
				want[t.Code] = true
			}
		}
	}
	for _, u := range base.URLs() {
		sd, _ := base.Get(u)
		if !want[sd.Type] || sd.Derivation == "constraint" {
			continue
		}
		b, err := json.Marshal(sd)
		if err == nil {
			err = c.profiles.Add(b)
		}
		if err != nil {
			return nil, fmt.Errorf("base definition %s: %w", u, err)
		}
	}
	for u, b := range sds {
		if err := c.profiles.Add(b); err != nil {
			return nil, fmt.Errorf("profile %s: %w", u, err)
		}
	}
	c.answers, err = questionnaire.New(questionnaire.Options{
		Terminology:   answerTerminology{terms},
		Questionnaire: c.questionnaire,
		Patient:       c.patient,
	})
	if err != nil {
		return nil, err
	}
	c.log.Info("profiles loaded", "took", time.Since(start).Round(time.Millisecond).String())
	return c, nil
}

// checkers returns the engine's checkers.
func (c *checks) checkers() []engine.Checker {
	return []engine.Checker{c.profiles, c.answers}
}

// started gives the checks the engine their lookups read through.
func (c *checks) started(eng *engine.Engine) { c.eng.Store(eng) }

// observe follows the StructureDefinitions stored through the API.
func (c *checks) observe(ctx context.Context, r *fhir.Resource) {
	if r.Type != "StructureDefinition" {
		return
	}
	var head struct {
		URL      string `json:"url"`
		Snapshot *struct {
			Element json.RawMessage `json:"element"`
		} `json:"snapshot"`
	}
	if err := json.Unmarshal(r.Body, &head); err != nil || head.URL == "" {
		return
	}
	if r.Deleted || head.Snapshot == nil {
		if !base.IsCore(head.URL) {
			c.profiles.Remove(head.URL)
		}
		return
	}
	if err := c.profiles.Add(r.Body); err != nil {
		c.log.Warn("a stored StructureDefinition cannot be used for validation", "resource", r.Ref(), "error", err.Error())
	}
}

// questionnaire finds a stored Questionnaire by canonical URL.
func (c *checks) questionnaire(ctx context.Context, canonical string) ([]byte, bool, error) {
	eng := c.eng.Load()
	if eng == nil {
		return nil, false, nil
	}
	params := url.Values{}
	u, version, ok := strings.Cut(canonical, "|")
	params.Set("url", u)
	if ok {
		params.Set("version", version)
	}
	page, err := eng.Search(ctx, engine.SearchRequest{Type: "Questionnaire", Params: params})
	if err != nil || len(page.Matches) == 0 {
		return nil, false, err
	}
	return page.Matches[0].Body, true, nil
}

// patient reads the Patient a reference names (Patient/id, or an
// absolute URL ending so).
func (c *checks) patient(ctx context.Context, reference string) ([]byte, bool, error) {
	eng := c.eng.Load()
	i := strings.LastIndex(reference, "Patient/")
	if eng == nil || i < 0 {
		return nil, false, nil
	}
	id, _, _ := strings.Cut(reference[i+len("Patient/"):], "/")
	r, err := eng.Read(ctx, "Patient", fhir.ID(id))
	if fhir.IsKind(err, fhir.KindNotFound) || fhir.IsKind(err, fhir.KindGone) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return r.Body, true, nil
}

// answerTerminology checks answer codings against value sets with the
// terminology service.
type answerTerminology struct{ svc *terminology.Service }

func (t answerTerminology) InValueSet(valueSet string, c questionnaire.Coding) (ok, known bool) {
	v, err := t.svc.ValidateCodeInValueSet(nil, valueSet, "", []terminology.CodingToCheck{{System: c.System, Version: c.Version, Code: c.Code}}, "", false)
	if err != nil || v.UnknownSystem {
		return false, false
	}
	return v.Result, true
}
