package server

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/terminology"
)

// operationDefinitions are the canonical definitions of the terminology
// operations, for the CapabilityStatement.
var operationDefinitions = map[string]string{
	"CodeSystem/lookup":        "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
	"CodeSystem/validate-code": "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code",
	"CodeSystem/subsumes":      "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes",
	"ValueSet/expand":          "http://hl7.org/fhir/OperationDefinition/ValueSet-expand",
	"ValueSet/validate-code":   "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code",
	"ConceptMap/translate":     "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate",
}

// isTermOperation reports whether seg ("$op") is a terminology operation
// on t that this server answers.
func (s *Server) isTermOperation(t fhir.ResourceType, seg string) bool {
	return s.opts.Terminology != nil && len(seg) > 1 && seg[0] == '$' && terminology.IsOperation(t, seg[1:])
}

// termOperation answers a terminology operation at type level (id empty)
// or on a stored CodeSystem, ValueSet or ConceptMap, by GET with query
// parameters or POST with a Parameters body.
func (s *Server) termOperation(c *gin.Context, t fhir.ResourceType, id fhir.ID, op string) error {
	var body []byte
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		var err error
		if body, err = s.readBody(c); err != nil {
			return err
		}
	default:
		return methodNotAllowed(c, http.MethodGet, http.MethodPost)
	}
	in, err := terminology.ParseInput(criteria(c), body)
	if err != nil {
		return err
	}
	var instance []byte
	if id != "" {
		r, err := s.eng.Read(c.Request.Context(), t, id)
		if err != nil {
			return err
		}
		instance = r.Body
	}
	out, err := s.opts.Terminology.Invoke(t, op[1:], instance, in)
	if err != nil {
		return err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fhir.Internal("the operation's result could not be rendered", err)
	}
	s.writeJSON(c, http.StatusOK, b)
	return nil
}
