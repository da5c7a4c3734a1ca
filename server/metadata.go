package server

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/validate"
	"github.com/cpms-fhir/cpms/terminology"
)

// The CapabilityStatement lists what this server does, and only that: a
// test calls every interaction it declares.

type capability struct {
	ResourceType   string      `json:"resourceType"`
	ID             string      `json:"id"`
	URL            string      `json:"url"`
	Name           string      `json:"name"`
	Title          string      `json:"title"`
	Status         string      `json:"status"`
	Date           string      `json:"date"`
	Publisher      string      `json:"publisher"`
	Description    string      `json:"description"`
	Kind           string      `json:"kind"`
	Software       capSoftware `json:"software"`
	Implementation capImpl     `json:"implementation"`
	FHIRVersion    string      `json:"fhirVersion"`
	Format         []string    `json:"format"`
	PatchFormat    []string    `json:"patchFormat"`
	Rest           []capRest   `json:"rest"`
}

type capSoftware struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	ReleaseDate string `json:"releaseDate,omitempty"`
}

type capImpl struct {
	Description string `json:"description"`
	URL         string `json:"url"`
}

type capRest struct {
	Mode          string           `json:"mode"`
	Documentation string           `json:"documentation"`
	Security      *capSecurity     `json:"security,omitempty"`
	Resource      []capResource    `json:"resource"`
	Interaction   []capInteraction `json:"interaction"`
	SearchParam   []capSearchParam `json:"searchParam,omitempty"`
	Compartment   []string         `json:"compartment,omitempty"`
}

type capSearchParam struct {
	Name       string `json:"name"`
	Definition string `json:"definition,omitempty"`
	Type       string `json:"type"`
}

type capSecurity struct {
	CORS        bool   `json:"cors"`
	Description string `json:"description"`
}

type capResource struct {
	Type              string           `json:"type"`
	Interaction       []capInteraction `json:"interaction"`
	Versioning        string           `json:"versioning"`
	ReadHistory       bool             `json:"readHistory"`
	UpdateCreate      bool             `json:"updateCreate"`
	ConditionalCreate bool             `json:"conditionalCreate"`
	ConditionalRead   string           `json:"conditionalRead"`
	ConditionalUpdate bool             `json:"conditionalUpdate"`
	ConditionalDelete string           `json:"conditionalDelete"`
	SearchInclude     []string         `json:"searchInclude,omitempty"`
	SearchRevInclude  []string         `json:"searchRevInclude,omitempty"`
	SupportedProfile  []string         `json:"supportedProfile,omitempty"`
	SearchParam       []capSearchParam `json:"searchParam,omitempty"`
	Operation         []capOperation   `json:"operation,omitempty"`
}

type capInteraction struct {
	Code string `json:"code"`
}

type capOperation struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
}

// TypeInteractions are the interactions declared for every resource type.
var TypeInteractions = []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"}

// SystemInteractions are the interactions declared at the system level.
var SystemInteractions = []string{"transaction", "batch", "history-system", "search-system"}

// unsearchable are parameters of the definitions that the server does not
// evaluate (they are ignored, or refused under handling=strict), so the
// statement does not list them.
var unsearchable = map[string]bool{"_text": true, "_content": true, "_query": true, "_list": true, "_filter": true, "_has": true, "_type": true}

// searchParams lists the parameters the server evaluates for type t.
func searchParams(params []*search.Param) []capSearchParam {
	var out []capSearchParam
	for _, p := range params {
		if p.Type == search.TypeSpecial || unsearchable[p.Code] {
			continue
		}
		out = append(out, capSearchParam{Name: p.Code, Definition: p.URL, Type: string(p.Type)})
	}
	return out
}

func (s *Server) capabilityStatement(base string) *capability {
	cs := &capability{
		ResourceType: "CapabilityStatement",
		ID:           "cpms-fhir",
		URL:          base + "/metadata",
		Name:         "CPMSFHIR",
		Title:        "CPMS-FHIR server",
		Status:       "active",
		Date:         fhir.FormatInstant(s.started),
		Publisher:    "CPMS-FHIR",
		Description:  "FHIR R4 clinical data server for the European Reference Networks' Clinical Patient Management System.",
		Kind:         "instance",
		Software:     capSoftware{Name: "CPMS-FHIR", Version: s.opts.Version},
		Implementation: capImpl{
			Description: "CPMS-FHIR",
			URL:         base,
		},
		FHIRVersion: "4.0.1",
		Format:      []string{mediaFHIRJSON, mediaJSON},
		PatchFormat: []string{mediaJSONPatch, mediaFHIRJSON},
	}
	rest := capRest{
		Mode: "server",
		Documentation: "Every resource type of FHIR R4, versioned, validated against the base specification on every write, " +
			"and searchable by every R4 search parameter (chains, _has, composites, _include, _revinclude, _sort, cursor paging). " +
			"Conditional create, update, patch and delete select by any search. " +
			"Searches in the five R4 compartments (Patient/[id]/[type], Patient/[id]/*) and $everything on Patient and Encounter, and on the patients _id names (Patient/$everything) " +
			"(start, end, _since, _type, _count).",
		Security: &capSecurity{CORS: true, Description: "Access control is not enforced yet: the server binds to loopback by default."},
	}
	if s.opts.Terminology != nil {
		rest.Documentation += " Token :below and :above (system|code) and :in and :not-in (value sets, implicit ones too) are answered " +
			"through the terminology service, up to 10,000 codes a search; :not-in also matches resources without a code."
	}
	for _, code := range SystemInteractions {
		rest.Interaction = append(rest.Interaction, capInteraction{code})
	}
	for _, c := range search.Compartments() {
		rest.Compartment = append(rest.Compartment, c.URL)
	}
	table := s.eng.Params()
	rest.SearchParam = searchParams(table.Params("Resource"))
	revIncludes := map[string][]string{} // target type → Source:param
	for _, t := range validate.ResourceTypes() {
		for _, p := range table.Params(t) {
			if p.Type != search.TypeReference {
				continue
			}
			for _, target := range p.Targets {
				revIncludes[string(target)] = append(revIncludes[string(target)], string(t)+":"+p.Code)
			}
		}
	}
	for _, t := range validate.ResourceTypes() {
		r := capResource{
			Type:              string(t),
			Versioning:        "versioned-update",
			ReadHistory:       true,
			UpdateCreate:      true,
			ConditionalCreate: true,
			ConditionalRead:   "full-support",
			ConditionalUpdate: true,
			ConditionalDelete: "single",
			Operation: []capOperation{{Name: "validate",
				Definition: "http://hl7.org/fhir/OperationDefinition/Resource-validate"}},
		}
		if s.opts.Terminology != nil {
			for _, op := range terminology.Operations[t] {
				r.Operation = append(r.Operation, capOperation{Name: op, Definition: operationDefinitions[string(t)+"/"+op]})
			}
		}
		if op, ok := sdcDefinitions[t]; ok && s.opts.Questionnaires != nil {
			r.Operation = append(r.Operation, op)
		}
		if slices.Contains(engine.EverythingTypes, t) {
			r.Operation = append(r.Operation, capOperation{Name: "everything",
				Definition: "http://hl7.org/fhir/OperationDefinition/" + string(t) + "-everything"})
		}
		for _, code := range TypeInteractions {
			r.Interaction = append(r.Interaction, capInteraction{code})
		}
		r.SupportedProfile = s.opts.SupportedProfiles[t]
		r.SearchParam = searchParams(table.Params(t))
		r.SearchInclude = []string{"*"}
		for _, p := range table.Params(t) {
			if p.Type == search.TypeReference {
				r.SearchInclude = append(r.SearchInclude, string(t)+":"+p.Code)
			}
		}
		r.SearchRevInclude = revIncludes[string(t)]
		rest.Resource = append(rest.Resource, r)
	}
	cs.Rest = []capRest{rest}
	return cs
}

// metadata answers the capabilities interaction. The statement is rendered
// once per base URL (one, unless the base comes from each request's Host).
func (s *Server) metadata(c *gin.Context) error {
	base := s.baseURL(c)
	if out, ok := s.capabilities.Load(base); ok {
		s.writeJSON(c, http.StatusOK, out.([]byte))
		return nil
	}
	out, err := marshal(s.capabilityStatement(base))
	if err != nil {
		return fhir.Internal("the CapabilityStatement could not be written", err)
	}
	s.capabilities.Store(base, out)
	s.writeJSON(c, http.StatusOK, out)
	return nil
}
