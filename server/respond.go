package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// baseURL returns the public base of the FHIR API for links.
func (s *Server) baseURL(c *gin.Context) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host + BasePath
}

// writeJSON writes a FHIR JSON body, indented under _pretty=true.
func (s *Server) writeJSON(c *gin.Context, status int, body []byte) {
	if c.Query("_pretty") == "true" {
		var buf bytes.Buffer
		if json.Indent(&buf, body, "", "  ") == nil {
			body = buf.Bytes()
		}
	}
	c.Data(status, contentType, body)
}

// setVersionHeaders sets ETag and Last-Modified for a version.
func setVersionHeaders(c *gin.Context, r *fhir.Resource) {
	c.Header("ETag", r.ETag())
	c.Header("Last-Modified", r.LastUpdated.UTC().Format(http.TimeFormat))
	if v, ok := c.Request.Context().Value(versionKey{}).(*time.Time); ok {
		*v = r.LastUpdated
	}
}

// versionKey carries, in the context of a Bundle entry's sub-request, where
// to note the time of the version it answers with: Last-Modified has whole
// seconds, a Bundle's response.lastModified the version's milliseconds.
type versionKey struct{}

// writeResource answers a read.
func (s *Server) writeResource(c *gin.Context, r *fhir.Resource) {
	setVersionHeaders(c, r)
	s.writeJSON(c, http.StatusOK, r.Body)
}

// writeResult answers a write: status, version headers, Location for a
// created resource, and the body Prefer asks for.
func (s *Server) writeResult(c *gin.Context, res *engine.Result, created int) {
	r := res.Resource
	status := http.StatusOK
	if res.Created {
		status = created
	}
	if r == nil {
		// A conditional delete that matched nothing.
		s.writeOutcome(c, http.StatusOK, fhir.SeverityInformation, "no resource matched the criteria; nothing was deleted")
		return
	}
	setVersionHeaders(c, r)
	switch {
	case res.Created:
		c.Header("Location", s.baseURL(c)+"/"+r.Ref()+"/_history/"+r.VersionID())
	case !r.Deleted:
		// The version the answer describes: written by an update or a
		// patch, or found by a conditional create.
		c.Header("Content-Location", s.baseURL(c)+"/"+r.Ref()+"/_history/"+r.VersionID())
	}
	if r.Deleted {
		if res.Unchanged {
			s.respondPrefer(c, status, nil, "resource "+r.Ref()+" was already deleted")
			return
		}
		s.respondPrefer(c, status, nil, "resource "+r.Ref()+" deleted")
		return
	}
	msg := "resource " + r.Ref() + " stored as version " + r.VersionID()
	if res.Unchanged {
		msg = "resource " + r.Ref() + " unchanged at version " + r.VersionID()
	}
	s.respondPrefer(c, status, r.Body, msg)
}

// respondPrefer writes body, nothing or an OperationOutcome as the
// request's Prefer header asks; a nil body (a deletion) answers 204 unless
// an OperationOutcome is wanted.
func (s *Server) respondPrefer(c *gin.Context, status int, body []byte, msg string) {
	switch p := preferOf(c.Request); {
	case p == returnOutcome:
		s.writeOutcome(c, status, fhir.SeverityInformation, msg)
	case body == nil:
		c.Status(http.StatusNoContent)
	case p == returnMinimal:
		c.Status(status)
	default:
		s.writeJSON(c, status, body)
	}
}

func (s *Server) writeOutcome(c *gin.Context, status int, sev fhir.Severity, msg string) {
	s.writeJSON(c, status, fhir.Outcome([]fhir.Issue{{Severity: sev, Code: fhir.IssueInformational, Diagnostics: msg}}))
}

// statusText formats a status for Bundle entry.response.status.
func statusText(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code)
}
