package server

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/validate"
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
var TypeInteractions = []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create"}

// SystemInteractions are the interactions declared at the system level.
var SystemInteractions = []string{"history-system"}

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
		PatchFormat: []string{mediaJSONPatch},
	}
	rest := capRest{
		Mode: "server",
		Documentation: "Every resource type of FHIR R4, versioned, validated against the base specification on every write. " +
			"Conditional create, update, patch and delete select by _id and identifier.",
		Security: &capSecurity{Description: "Access control is not enforced yet: the server binds to loopback by default."},
	}
	for _, code := range SystemInteractions {
		rest.Interaction = append(rest.Interaction, capInteraction{code})
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
		for _, code := range TypeInteractions {
			r.Interaction = append(r.Interaction, capInteraction{code})
		}
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
	out, err := json.Marshal(s.capabilityStatement(base))
	if err != nil {
		return fhir.Internal("the CapabilityStatement could not be written", err)
	}
	s.capabilities.Store(base, out)
	s.writeJSON(c, http.StatusOK, out)
	return nil
}
