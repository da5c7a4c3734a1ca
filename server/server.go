package server

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/terminology"
)

// Options configure a Server.
type Options struct {
	// BaseURL is the public base of the FHIR API, such as
	// "https://cpms.example.org/fhir", used in fullUrl, Location and links.
	// Empty: derived from each request's Host.
	BaseURL string
	// MaxBodyBytes limits request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives request logs; nil means slog.Default().
	Logger *slog.Logger
	// Version is the software version reported in the CapabilityStatement.
	Version string
	// Terminology answers $lookup, $validate-code, $subsumes, $expand and
	// $translate; nil: those operations are not served.
	Terminology *terminology.Service
	// SupportedProfiles are the profiles the server validates against,
	// by resource type, for the CapabilityStatement's supportedProfile.
	SupportedProfiles map[fhir.ResourceType][]string
	// Questionnaires are the forms Questionnaire/$populate and
	// QuestionnaireResponse/$extract (SDC) know besides the stored ones,
	// by canonical URL (url and url|version); nil: those operations are
	// not served.
	Questionnaires map[string][]byte
}

// DefaultMaxBodyBytes is the request body limit unless configured: 16 MiB.
const DefaultMaxBodyBytes = 16 << 20

// BasePath is where the FHIR API is mounted.
const BasePath = "/fhir"

// Server serves the FHIR API over an Engine.
type Server struct {
	eng     *engine.Engine
	opts    Options
	log     *slog.Logger
	router  *gin.Engine
	sub     *gin.Engine // answers the entries of batches
	started time.Time

	// capabilities caches the rendered CapabilityStatement by base URL.
	capabilities sync.Map
}

// New returns a Server for eng.
func New(eng *engine.Engine, opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	s := &Server{eng: eng, opts: opts, log: opts.Logger, started: time.Now().UTC()}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "http")
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = false
	r.ContextWithFallback = true
	r.Use(s.requestID, s.cors, s.accessLog, s.recover)
	r.GET("/healthz", s.healthz)
	r.HEAD("/healthz", s.healthz)
	fhirAPI := s.fhirHandler()
	r.Any(BasePath, fhirAPI)
	r.Any(BasePath+"/*path", fhirAPI)
	// The entries of a batch, and a transaction's reads, are requests to
	// the same handlers, made inside the server: the caller and request
	// id are the Bundle request's, and they are not logged on their own.
	sub := gin.New()
	sub.RedirectTrailingSlash, sub.RedirectFixedPath = false, false
	sub.ContextWithFallback = true
	sub.Use(func(c *gin.Context) { c.Set(keyRequestID, c.GetHeader(RequestIDHeader)) }, s.recover)
	sub.Any(BasePath, fhirAPI)
	sub.Any(BasePath+"/*path", fhirAPI)
	s.sub = sub
	r.NoRoute(func(c *gin.Context) {
		s.fail(c, notFoundPath(c.Request.URL.Path))
	})
	s.router = r
	return s
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

func (s *Server) healthz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}
