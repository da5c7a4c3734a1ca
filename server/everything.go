package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// everything answers $everything on a Patient or an Encounter, or on the
// Patients that _id names (id empty: Patient/$everything), by GET with
// query parameters or POST with a Parameters body (or none): a searchset
// Bundle, paged like a search, whose next links carry the operation's
// own parameters.
func (s *Server) everything(c *gin.Context, t fhir.ResourceType, id fhir.ID) error {
	params := c.Request.URL.Query()
	if c.Request.Method == http.MethodPost && (c.Request.ContentLength > 0 || c.Request.ContentLength == -1) {
		body, err := s.readBody(c)
		if err != nil {
			return err
		}
		if err := parametersInto(params, body); err != nil {
			return err
		}
	}
	page, err := s.eng.Everything(c.Request.Context(), engine.EverythingRequest{Type: t, ID: id, Params: params})
	if err != nil {
		return err
	}
	path := "/" + string(t) + "/$everything"
	if id != "" {
		path = "/" + string(t) + "/" + string(id) + "/$everything"
	}
	return s.writeSearchset(c, page, path, params)
}

// parametersInto adds the primitive values of a Parameters body to params,
// by name.
func parametersInto(params url.Values, body []byte) error {
	var p struct {
		ResourceType string `json:"resourceType"`
		Parameter    []map[string]json.RawMessage
	}
	if err := json.Unmarshal(body, &p); err != nil || p.ResourceType != "Parameters" {
		return invalidParam("resourceType", "the request body must be a Parameters resource")
	}
	for i, pp := range p.Parameter {
		var name string
		json.Unmarshal(pp["name"], &name)
		value := ""
		for key, raw := range pp {
			if !strings.HasPrefix(key, "value") {
				continue
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return invalidParam("Parameters.parameter["+strconv.Itoa(i)+"]", "the value of a parameter is not valid JSON")
			}
			switch v := v.(type) {
			case string:
				value = v
			case float64:
				value = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				return invalidParam("Parameters.parameter["+strconv.Itoa(i)+"]."+key, "$everything takes primitive parameter values")
			}
		}
		if name == "" {
			return invalidParam("Parameters.parameter["+strconv.Itoa(i)+"]", "a parameter has no name")
		}
		params[name] = append(params[name], value)
	}
	return nil
}
