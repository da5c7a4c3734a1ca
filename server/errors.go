package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
)

// statusOf maps error kinds to HTTP status codes and the issue type used
// when an error carries no issues of its own. This is the one place where
// domain errors become HTTP.
var statusOf = map[fhir.Kind]struct {
	status int
	code   fhir.IssueType
}{
	fhir.KindInternal:           {http.StatusInternalServerError, fhir.IssueException},
	fhir.KindInvalid:            {http.StatusBadRequest, fhir.IssueInvalid},
	fhir.KindUnprocessable:      {http.StatusUnprocessableEntity, fhir.IssueProcessing},
	fhir.KindNotFound:           {http.StatusNotFound, fhir.IssueNotFound},
	fhir.KindGone:               {http.StatusGone, fhir.IssueDeleted},
	fhir.KindConflict:           {http.StatusConflict, fhir.IssueConflict},
	fhir.KindPreconditionFailed: {http.StatusPreconditionFailed, fhir.IssueConflict},
	fhir.KindMethodNotAllowed:   {http.StatusMethodNotAllowed, fhir.IssueNotSupported},
	fhir.KindUnsupportedMedia:   {http.StatusUnsupportedMediaType, fhir.IssueNotSupported},
	fhir.KindNotAcceptable:      {http.StatusNotAcceptable, fhir.IssueNotSupported},
	fhir.KindTooLarge:           {http.StatusRequestEntityTooLarge, fhir.IssueTooLong},
	fhir.KindForbidden:          {http.StatusForbidden, fhir.IssueForbidden},
	fhir.KindUnauthorized:       {http.StatusUnauthorized, fhir.IssueLogin},
	fhir.KindNotImplemented:     {http.StatusNotImplemented, fhir.IssueNotSupported},
	fhir.KindUnavailable:        {http.StatusServiceUnavailable, fhir.IssueTransient},
}

// kindOf returns the error kind answered with an HTTP status, or
// KindInternal for a status no kind has.
func kindOf(status int) fhir.Kind {
	for k, m := range statusOf {
		if m.status == status {
			return k
		}
	}
	return fhir.KindInternal
}

// fail answers err as an OperationOutcome with the status of its kind.
// Internal errors are logged with their cause; the client gets a generic
// message and the request id to quote.
func (s *Server) fail(c *gin.Context, err error) {
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		if errors.Is(err, context.Canceled) {
			// The client went away; nobody reads the answer.
			s.logger(c).Info("request canceled")
			c.Status(499)
			return
		}
		fe = fhir.Internal("internal error", err)
	}
	m, ok := statusOf[fe.Kind]
	if !ok {
		m = statusOf[fhir.KindInternal]
	}
	issues := fe.Issues
	switch {
	case fe.Kind == fhir.KindInternal || fe.Kind == fhir.KindUnavailable:
		s.logger(c).Error("request failed", "error", fe.Error())
		msg := "internal error"
		if fe.Kind == fhir.KindUnavailable {
			msg = "the service is temporarily unavailable"
		}
		id, _ := c.Get(keyRequestID)
		issues = []fhir.Issue{{Severity: fhir.SeverityError, Code: m.code,
			Diagnostics: msg + "; quote request id " + id.(string) + " when reporting it"}}
	case len(issues) == 0:
		issues = []fhir.Issue{{Severity: fhir.SeverityError, Code: m.code, Diagnostics: fe.Message}}
	default:
		if fe.Err != nil {
			s.logger(c).Debug("request refused", "error", fe.Err.Error())
		}
	}
	if m.status == http.StatusMethodNotAllowed {
		// A 405 must carry Allow (RFC 9110 15.5.6), empty when no method
		// is allowed; c.Header would drop an empty value.
		c.Writer.Header()["Allow"] = []string{c.GetString(keyAllow)}
	}
	s.writeJSON(c, m.status, fhir.Outcome(issues))
	c.Abort()
}

const keyAllow = "cpms.allow"

func notFoundPath(path string) *fhir.Error {
	return &fhir.Error{Kind: fhir.KindNotFound, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueNotFound, Diagnostics: "no FHIR endpoint at " + truncate(path, 200)}}}
}

func methodNotAllowed(c *gin.Context, allowed ...string) *fhir.Error {
	c.Set(keyAllow, strings.Join(allowed, ", "))
	msg := "method " + c.Request.Method + " is not allowed here"
	if len(allowed) > 0 {
		msg += "; allowed: " + strings.Join(allowed, ", ")
	}
	return &fhir.Error{Kind: fhir.KindMethodNotAllowed, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueNotSupported, Diagnostics: msg}}}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
