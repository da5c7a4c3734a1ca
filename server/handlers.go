package server

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

func (s *Server) read(c *gin.Context, t fhir.ResourceType, id fhir.ID) error {
	r, err := s.eng.Read(c.Request.Context(), t, id)
	if err != nil {
		return err
	}
	if notModified(c.Request, r) {
		setVersionHeaders(c, r)
		c.Status(http.StatusNotModified)
		return nil
	}
	return s.writeShaped(c, r)
}

// writeShaped answers with r, shaped by the request's _summary and
// _elements.
func (s *Server) writeShaped(c *gin.Context, r *fhir.Resource) error {
	shaped, err := s.eng.Shape(r.Type, c.Request.URL.Query(), []*fhir.Resource{r})
	if err != nil {
		return err
	}
	s.writeResource(c, shaped[0])
	return nil
}

// notModified answers the conditional read headers: If-None-Match with the
// current ETag (in a list, or "*"), or If-Modified-Since not before the
// last update.
func notModified(req *http.Request, r *fhir.Resource) bool {
	if inm := req.Header.Get("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			tag = strings.TrimSpace(tag)
			if v, ok := parseETag(tag); tag == "*" || (ok && v == r.Version) {
				return true
			}
		}
		return false
	}
	if ims := req.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !r.LastUpdated.Truncate(time.Second).After(t)
	}
	return false
}

func (s *Server) vread(c *gin.Context, t fhir.ResourceType, id fhir.ID, vid string) error {
	r, err := s.eng.VRead(c.Request.Context(), t, id, vid)
	if err != nil {
		return err
	}
	return s.writeShaped(c, r)
}

// writeBody carries out a write whose request has a body and may have
// If-Match, and answers its result; created is the status of a write that
// created the resource.
func (s *Server) writeBody(c *gin.Context, created int, do func(ctx context.Context, body []byte, ifMatch int64) (*engine.Result, error)) error {
	ifMatch, err := parseIfMatch(c.Request)
	if err != nil {
		return err
	}
	if c.Request.Method == http.MethodPut {
		if ifMatch, err = ifNoneMatchPut(c.Request.Header.Get("If-None-Match"), ifMatch); err != nil {
			return err
		}
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	res, err := do(c.Request.Context(), body, ifMatch)
	if err != nil {
		return err
	}
	s.writeResult(c, res, created)
	return nil
}

func (s *Server) create(c *gin.Context, t fhir.ResourceType) error {
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	res, err := s.eng.Create(c.Request.Context(), t, body, c.GetHeader("If-None-Exist"))
	if err != nil {
		return err
	}
	s.writeResult(c, res, http.StatusCreated)
	return nil
}

func (s *Server) update(c *gin.Context, t fhir.ResourceType, id fhir.ID) error {
	return s.writeBody(c, http.StatusCreated, func(ctx context.Context, body []byte, ifMatch int64) (*engine.Result, error) {
		return s.eng.Update(ctx, t, id, body, ifMatch)
	})
}

func (s *Server) conditionalUpdate(c *gin.Context, t fhir.ResourceType) error {
	return s.writeBody(c, http.StatusCreated, func(ctx context.Context, body []byte, ifMatch int64) (*engine.Result, error) {
		return s.eng.ConditionalUpdate(ctx, t, criteria(c), body, ifMatch)
	})
}

func (s *Server) patch(c *gin.Context, t fhir.ResourceType, id fhir.ID) error {
	return s.writeBody(c, http.StatusOK, func(ctx context.Context, body []byte, ifMatch int64) (*engine.Result, error) {
		return s.eng.Patch(ctx, t, id, patchFormat(c.Request, body), body, ifMatch)
	})
}

func (s *Server) conditionalPatch(c *gin.Context, t fhir.ResourceType) error {
	return s.writeBody(c, http.StatusOK, func(ctx context.Context, body []byte, ifMatch int64) (*engine.Result, error) {
		return s.eng.ConditionalPatch(ctx, t, criteria(c), patchFormat(c.Request, body), body, ifMatch)
	})
}

func (s *Server) delete(c *gin.Context, t fhir.ResourceType, id fhir.ID) error {
	ifMatch, err := parseIfMatch(c.Request)
	if err != nil {
		return err
	}
	res, err := s.eng.Delete(c.Request.Context(), t, id, ifMatch)
	if err != nil {
		return err
	}
	s.writeResult(c, res, http.StatusOK)
	return nil
}

func (s *Server) conditionalDelete(c *gin.Context, t fhir.ResourceType) error {
	ifMatch, err := parseIfMatch(c.Request)
	if err != nil {
		return err
	}
	res, err := s.eng.ConditionalDelete(c.Request.Context(), t, criteria(c), ifMatch)
	if err != nil {
		return err
	}
	s.writeResult(c, res, http.StatusOK)
	return nil
}

// validate answers $validate (operation-resource-validate) on a type, or
// on the resource id (id not ""): an OperationOutcome with the issues
// found, 200 whether or not the resource is valid (the outcome says
// which). The resource comes as the body, or as the "resource" of a
// Parameters body; profiles to check besides the resource's own come as
// "profile", and the mode (create, update, delete) as "mode", in the
// query or the Parameters. An update must carry an id, the URL's on an
// instance; a delete (of an instance, with no resource) checks that the
// resource exists.
func (s *Server) validate(c *gin.Context, t fhir.ResourceType, id fhir.ID) error {
	if err := engine.CheckType(t); err != nil {
		return err
	}
	mode := c.Query("mode")
	var body []byte
	if c.Request.ContentLength != 0 || mode != "delete" {
		var err error
		if body, err = s.readBody(c); err != nil {
			return err
		}
	}
	profiles := c.QueryArray("profile")
	if t != "Parameters" {
		if res, more, m, ok := validateParameters(body); ok {
			body, profiles, mode = res, append(profiles, more...), cmp.Or(m, mode)
		}
	}
	ctx := c.Request.Context()
	var issues []fhir.Issue
	switch mode {
	case "delete":
		if id == "" {
			return invalidParam("mode", "mode delete validates the deletion of a resource: POST [type]/[id]/$validate")
		}
		if _, err := s.eng.Read(ctx, t, id); err != nil {
			if !fhir.IsKind(err, fhir.KindNotFound) && !fhir.IsKind(err, fhir.KindGone) {
				return err
			}
			issues = []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueNotFound,
				Diagnostics: string(t) + "/" + string(id) + " does not exist: there is nothing to delete"}}
		}
		s.writeJSON(c, http.StatusOK, fhir.Outcome(issues))
		return nil
	case "", "create", "update":
	default:
		return invalidParam("mode", "mode must be create, update or delete, not "+strconv.Quote(truncate(mode, 40)))
	}
	if len(body) == 0 {
		return invalidParam("resource", "$validate needs the resource to validate")
	}
	issues, err := s.eng.ValidateProfiles(ctx, t, body, profiles)
	if err != nil {
		return err
	}
	var head struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &head) // an unreadable body has its issues already
	switch {
	case id != "" && head.ID != "" && head.ID != string(id):
		issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueInvalid, Expression: []string{string(t) + ".id"},
			Diagnostics: "the resource's id " + strconv.Quote(truncate(head.ID, 64)) + " is not the id in the URL (" + string(id) + ")"})
	case mode == "update" && head.ID == "":
		issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueRequired, Expression: []string{string(t) + ".id"},
			Diagnostics: "an update needs the resource's id"})
	}
	s.writeJSON(c, http.StatusOK, fhir.Outcome(issues))
	return nil
}

func invalidParam(name, msg string) *fhir.Error {
	return &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueInvalid, Diagnostics: msg, Expression: []string{name}}}}
}

// validateParameters reads a $validate Parameters body: the resource, the
// profiles and the mode. ok is false when body is not a Parameters
// resource.
func validateParameters(body []byte) (resource []byte, profiles []string, mode string, ok bool) {
	var p struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name           string          `json:"name"`
			Resource       json.RawMessage `json:"resource"`
			ValueURI       string          `json:"valueUri"`
			ValueCanonical string          `json:"valueCanonical"`
			ValueCode      string          `json:"valueCode"`
		} `json:"parameter"`
	}
	if json.Unmarshal(body, &p) != nil || p.ResourceType != "Parameters" {
		return nil, nil, "", false
	}
	for _, x := range p.Parameter {
		switch x.Name {
		case "resource":
			resource = x.Resource
		case "profile":
			profiles = append(profiles, cmp.Or(x.ValueCanonical, x.ValueURI))
		case "mode":
			mode = x.ValueCode
		}
	}
	return resource, profiles, mode, true
}

// criteria returns the search criteria of a conditional interaction: the
// URL's parameters, less those that only shape the response.
func criteria(c *gin.Context) url.Values {
	q := c.Request.URL.Query()
	q.Del("_format")
	q.Del("_pretty")
	return q
}
