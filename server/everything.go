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

// everything answers $everything on a Patient or an Encounter, by GET
// with query parameters or POST with a Parameters body (or none): a
// searchset Bundle, paged like a search, whose next links carry the
// operation's own parameters.
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
	req := engine.EverythingRequest{Type: t, ID: id}
	for name, values := range params {
		if len(values) == 0 {
			continue
		}
		v := values[len(values)-1]
		switch name {
		case "_count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return invalidParam("_count", "_count must be a non-negative integer, got "+strconv.Quote(v))
			}
			req.Count = n
		case "_since":
			// An unescaped "+" of a time zone arrives as a space.
			req.Since = strings.ReplaceAll(v, " ", "+")
		case "_type":
			for _, v := range values {
				for _, name := range strings.Split(v, ",") {
					if name = strings.TrimSpace(name); name != "" {
						req.Types = append(req.Types, fhir.ResourceType(name))
					}
				}
			}
		case engine.CursorParam:
			req.Cursor = v
		case "_format", "_pretty":
		case "start", "end":
			return &fhir.Error{Kind: fhir.KindNotImplemented, Issues: []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueNotSupported,
				Expression: []string{name}, Diagnostics: "the care dates start and end of $everything are not supported; _since selects by the time of the last update"}}}
		default:
			return invalidParam(name, "$everything takes _count, _since and _type, not "+strconv.Quote(name))
		}
	}
	page, err := s.eng.Everything(c.Request.Context(), req)
	if err != nil {
		return err
	}
	links := url.Values{}
	for _, name := range []string{"_count", "_since", "_type", engine.CursorParam, "_format", "_pretty"} {
		if vs := params[name]; len(vs) > 0 {
			links[name] = vs
		}
	}
	return s.writeSearchset(c, page, "/"+string(t)+"/"+string(id)+"/$everything", links)
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
