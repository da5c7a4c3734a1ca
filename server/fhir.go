package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// fhirHandler routes every request under /fhir. FHIR URLs mix ids,
// "_history", "_search" and "$operation" segments in the same positions,
// so they are routed here by segment rather than by gin patterns.
func (s *Server) fhirHandler() gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := checkResponseFormat(c.Request); err != nil {
			s.fail(c, err)
			return
		}
		path := strings.TrimPrefix(c.Request.URL.Path, BasePath)
		path = strings.Trim(path, "/")
		var seg []string
		if path != "" {
			seg = strings.Split(path, "/")
		}
		if err := s.route(c, seg); err != nil {
			s.fail(c, err)
		}
	}
}

func (s *Server) route(c *gin.Context, seg []string) error {
	m := c.Request.Method
	is := func(methods ...string) bool {
		for _, x := range methods {
			if m == x {
				return true
			}
		}
		return false
	}
	switch len(seg) {
	case 0:
		switch {
		case is(http.MethodGet, http.MethodHead):
			return s.search(c, "")
		case is(http.MethodPost):
			return s.postBundle(c)
		}
		return methodNotAllowed(c, http.MethodGet, http.MethodPost)
	case 1:
		switch {
		case seg[0] == "_search":
			if is(http.MethodPost) {
				return s.search(c, "")
			}
			return methodNotAllowed(c, http.MethodPost)
		case seg[0] == "metadata":
			if is(http.MethodGet, http.MethodHead) {
				return s.metadata(c)
			}
			return methodNotAllowed(c, http.MethodGet)
		case seg[0] == "_history":
			if is(http.MethodGet, http.MethodHead) {
				return s.history(c, "", "")
			}
			return methodNotAllowed(c, http.MethodGet)
		case strings.HasPrefix(seg[0], "$") || strings.HasPrefix(seg[0], "_"):
			return notFoundPath(c.Request.URL.Path)
		}
		t := fhir.ResourceType(seg[0])
		switch m {
		case http.MethodGet, http.MethodHead:
			return s.search(c, t)
		case http.MethodPost:
			return s.create(c, t)
		case http.MethodPut:
			return s.conditionalUpdate(c, t)
		case http.MethodDelete:
			return s.conditionalDelete(c, t)
		case http.MethodPatch:
			return s.conditionalPatch(c, t)
		}
		if err := engine.CheckType(t); err != nil {
			return err // an unknown type is not found, whatever the method
		}
		return methodNotAllowed(c, http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch)
	case 2:
		t := fhir.ResourceType(seg[0])
		switch {
		case seg[1] == "_search":
			if is(http.MethodPost) {
				return s.search(c, t)
			}
			return methodNotAllowed(c, http.MethodPost)
		case seg[1] == "_history":
			if is(http.MethodGet, http.MethodHead) {
				return s.history(c, t, "")
			}
			return methodNotAllowed(c, http.MethodGet)
		case seg[1] == "$validate":
			if is(http.MethodPost) {
				return s.validate(c, t, "")
			}
			return methodNotAllowed(c, http.MethodPost)
		case s.isTermOperation(t, seg[1]):
			return s.termOperation(c, t, "", seg[1])
		case s.isSDCOperation(t, seg[1]):
			return s.sdcOperation(c, t, "")
		case seg[1] == "$everything" && t == "Patient":
			if is(http.MethodGet, http.MethodHead, http.MethodPost) {
				return s.everything(c, t, "")
			}
			return methodNotAllowed(c, http.MethodGet, http.MethodPost)
		case strings.HasPrefix(seg[1], "$") || strings.HasPrefix(seg[1], "_"):
			return notFoundPath(c.Request.URL.Path)
		}
		id := fhir.ID(seg[1])
		switch m {
		case http.MethodGet, http.MethodHead:
			return s.read(c, t, id)
		case http.MethodPut:
			return s.update(c, t, id)
		case http.MethodDelete:
			return s.delete(c, t, id)
		case http.MethodPatch:
			return s.patch(c, t, id)
		}
		if err := engine.CheckType(t); err != nil {
			return err
		}
		return methodNotAllowed(c, http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch)
	case 3:
		if t := fhir.ResourceType(seg[0]); s.isTermOperation(t, seg[2]) {
			return s.termOperation(c, t, fhir.ID(seg[1]), seg[2])
		}
		if t := fhir.ResourceType(seg[0]); s.isSDCOperation(t, seg[2]) {
			return s.sdcOperation(c, t, fhir.ID(seg[1]))
		}
		if seg[2] == "_history" {
			if is(http.MethodGet, http.MethodHead) {
				return s.history(c, fhir.ResourceType(seg[0]), fhir.ID(seg[1]))
			}
			return methodNotAllowed(c, http.MethodGet)
		}
		if seg[2] == "$everything" {
			if is(http.MethodGet, http.MethodHead, http.MethodPost) {
				return s.everything(c, fhir.ResourceType(seg[0]), fhir.ID(seg[1]))
			}
			return methodNotAllowed(c, http.MethodGet, http.MethodPost)
		}
		if isCompartment(seg[0], seg[2]) {
			if is(http.MethodGet, http.MethodHead) {
				return s.searchCompartment(c, fhir.ResourceType(seg[0]), fhir.ID(seg[1]), seg[2])
			}
			return methodNotAllowed(c, http.MethodGet)
		}
		if seg[2] == "$validate" {
			// GET only for mode=delete, the one use without a resource
			// (an operation that changes nothing, with simple parameters).
			if is(http.MethodPost) || is(http.MethodGet) && c.Query("mode") == "delete" {
				return s.validate(c, fhir.ResourceType(seg[0]), fhir.ID(seg[1]))
			}
			return methodNotAllowed(c, http.MethodPost)
		}
	case 4:
		if seg[3] == "_search" && isCompartment(seg[0], seg[2]) {
			if is(http.MethodPost) {
				return s.searchCompartment(c, fhir.ResourceType(seg[0]), fhir.ID(seg[1]), seg[2])
			}
			return methodNotAllowed(c, http.MethodPost)
		}
		if seg[2] == "_history" {
			if is(http.MethodGet, http.MethodHead) {
				return s.vread(c, fhir.ResourceType(seg[0]), fhir.ID(seg[1]), seg[3])
			}
			return methodNotAllowed(c, http.MethodGet)
		}
	}
	return notFoundPath(c.Request.URL.Path)
}

// readBody reads the request body within the configured limit and checks
// its media type.
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	if err := checkBodyType(c.Request); err != nil {
		return nil, err
	}
	if c.Request.ContentLength > s.opts.MaxBodyBytes {
		return nil, tooLarge(s.opts.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(s.opts.MaxBodyBytes)
		}
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Err: err, Message: "the request body could not be read"}
	}
	// A byte order mark, which some editors write at the start of UTF-8
	// text, is ignored as JSON readers may (RFC 8259, section 8.1).
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if len(body) == 0 {
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueRequired, Diagnostics: "the request has no body"}}}
	}
	return body, nil
}

func tooLarge(limit int64) *fhir.Error {
	return &fhir.Error{Kind: fhir.KindTooLarge, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueTooLong, Diagnostics: "the request body exceeds the limit of " + byteSize(limit)}}}
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// isCompartment reports whether owner/id/typ is the path of a search in a
// compartment (Patient/1/Observation, Patient/1/*): typ is a resource
// type or *, owner a resource type (whether it owns a compartment is the
// engine's answer).
func isCompartment(owner, typ string) bool {
	return engine.CheckType(fhir.ResourceType(owner)) == nil && (typ == "*" || engine.CheckType(fhir.ResourceType(typ)) == nil)
}
