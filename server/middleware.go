package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
)

// RequestIDHeader carries the id of a request, in requests (from a proxy
// or client that set one) and in every response.
const RequestIDHeader = "X-Request-Id"

const keyRequestID = "cpms.request_id"

var clientRequestID = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,64}$`)

// requestID gives each request an id (the client's if it sent a sane one),
// returns it in X-Request-Id and puts the caller in the context. Until
// authentication lands every caller is anonymous.
// cors lets browser applications on other origins (SMART apps, form
// renderers such as LHC-Forms) call the API: every answer allows the
// caller's origin, and a preflight (OPTIONS with
// Access-Control-Request-Method) is answered here with the methods and
// headers FHIR uses. Access control, when it lands, is by token, not by
// origin, so no origin is refused.
func (s *Server) cors(c *gin.Context) {
	origin := c.GetHeader("Origin")
	if origin == "" {
		c.Next()
		return
	}
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "Location, Content-Location, ETag, Last-Modified, "+RequestIDHeader)
	if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
		// The headers FHIR uses, and any other the client's library
		// sends (such as Medplum's X-Medplum): none is refused, as no
		// origin is.
		allow := "Authorization, Content-Type, Accept, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, Prefer, " + RequestIDHeader
		if asked := c.GetHeader("Access-Control-Request-Headers"); asked != "" {
			allow += ", " + asked
		}
		h.Set("Access-Control-Allow-Headers", allow)
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Max-Age", "600")
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	c.Next()
}

func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader(RequestIDHeader)
	if !clientRequestID.MatchString(id) {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(keyRequestID, id)
	c.Header(RequestIDHeader, id)
	c.Request = c.Request.WithContext(fhir.WithCaller(c.Request.Context(), fhir.Anonymous))
	c.Next()
}

// logger returns a logger for the request, carrying its id. It is built
// on demand: most requests log one line, written by accessLog directly.
func (s *Server) logger(c *gin.Context) *slog.Logger {
	return s.log.With("request_id", c.GetString(keyRequestID))
}

// accessLog writes one structured line per request.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	status := c.Writer.Status()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(c.Request.Context(), level, "request",
		slog.String("request_id", c.GetString(keyRequestID)),
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", status),
		slog.Int("bytes", c.Writer.Size()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("remote", c.ClientIP()),
	)
}

// recover turns a panic into a 500 with an OperationOutcome that says
// nothing of the cause; the stack goes to the log.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger(c).Error("panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				s.fail(c, fhir.Internal("internal error", fmt.Errorf("panic: %v", v)))
			}
			c.Abort()
		}
	}()
	c.Next()
}
