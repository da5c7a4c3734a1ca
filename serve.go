package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cpms-fhir/cpms/examples"
	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search/parse"
	"github.com/cpms-fhir/cpms/profiles"
	"github.com/cpms-fhir/cpms/profiles/questionnaire"
	"github.com/cpms-fhir/cpms/server"
	"github.com/cpms-fhir/cpms/terminology"
)

// serveConfig is the configuration of "cpms serve", from flags and their
// environment equivalents (flags win).
type serveConfig struct {
	addr         string
	store        storeFlags
	baseURL      string
	maxBody      int64
	logLevel     string
	logFormat    string
	shutdownWait time.Duration
	searchCount  int
	searchMax    int
	// loadExamples loads the synthetic ERN of package examples once the
	// server has started.
	loadExamples bool
}

func serveFlags(stderr io.Writer) (*flag.FlagSet, *serveConfig) {
	cfg := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", env("CPMS_ADDR", "127.0.0.1:8080"), "listen address (CPMS_ADDR)")
	cfg.store.add(fs, "data directory of the embedded store, created if absent")
	fs.StringVar(&cfg.baseURL, "base-url", env("CPMS_BASE_URL", ""), "public base URL of the FHIR API, e.g. https://cpms.example.org/fhir; default: from each request's Host (CPMS_BASE_URL)")
	fs.Int64Var(&cfg.maxBody, "max-body", envInt("CPMS_MAX_BODY", server.DefaultMaxBodyBytes), "request body limit in bytes (CPMS_MAX_BODY)")
	fs.StringVar(&cfg.logLevel, "log-level", env("CPMS_LOG_LEVEL", "info"), "log level: debug, info, warn, error (CPMS_LOG_LEVEL)")
	fs.StringVar(&cfg.logFormat, "log-format", env("CPMS_LOG_FORMAT", "json"), "log format: json or text (CPMS_LOG_FORMAT)")
	fs.DurationVar(&cfg.shutdownWait, "shutdown-timeout", 30*time.Second, "how long to let in-flight requests finish on SIGTERM")
	fs.IntVar(&cfg.searchCount, "search-count", int(envInt("CPMS_SEARCH_COUNT", parse.DefaultCount)), "search page size when _count is not given (CPMS_SEARCH_COUNT)")
	fs.IntVar(&cfg.searchMax, "search-max-count", int(envInt("CPMS_SEARCH_MAX_COUNT", parse.MaxCount)), "largest _count a search may ask for (CPMS_SEARCH_MAX_COUNT)")
	loadEx, _ := strconv.ParseBool(env("CPMS_LOAD_EXAMPLES", "false"))
	fs.BoolVar(&cfg.loadExamples, "load-examples", loadEx, "load the synthetic EuroBloodNet example data on start; loading again changes nothing (CPMS_LOAD_EXAMPLES=1)")
	return fs, cfg
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envInt(key string, def int64) int64 {
	if v, ok := os.LookupEnv(key); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return def
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad log level %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("bad log format %q (json or text)", format)
}

func serve(args []string, stderr io.Writer) int {
	fs, cfg := serveFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log, err := newLogger(stderr, cfg.logLevel, cfg.logFormat)
	if err != nil {
		fmt.Fprintln(stderr, "cpms serve:", err)
		return 2
	}
	if cfg.baseURL != "" {
		u, err := url.Parse(cfg.baseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			fmt.Fprintf(stderr, "cpms serve: --base-url %q is not an http or https URL (such as https://cpms.example.org/fhir)\n", cfg.baseURL)
			return 2
		}
		if !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), server.BasePath) {
			log.Warn("the base URL does not end in "+server.BasePath+": Location headers, fullUrls and links are built on it as the FHIR base, "+
				"which is right only behind a proxy that maps it to "+server.BasePath, "base", cfg.baseURL)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runServer(ctx, cfg, log, nil); err != nil {
		log.Error("server failed", "error", err.Error())
		return 1
	}
	return 0
}

// runServer runs the server until ctx is done, then stops accepting
// connections, lets in-flight requests finish and closes the store. ready,
// if not nil, receives the listening address once requests are served.
func runServer(ctx context.Context, cfg *serveConfig, log *slog.Logger, ready chan<- string) error {
	start := time.Now()
	store, err := cfg.store.open(ctx, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing the store", "error", err.Error())
			return
		}
		log.Info("store closed")
	}()
	// The terminology seed and the profiles load at the same time.
	svc := terminology.New()
	checksDone := make(chan error, 1)
	var checks *checks
	go func() {
		var err error
		checks, err = newChecks(log, svc)
		checksDone <- err
	}()
	sources := []seedSource{profiles.Resources, questionnaire.Resources}
	terms, err := loadTerminology(log, svc, sources...)
	if cerr := <-checksDone; err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	observe := func(ctx context.Context, r *fhir.Resource) {
		terms.observe(ctx, r)
		checks.observe(ctx, r)
	}
	eng, err := engine.New(store, engine.Options{Logger: log, Base: cfg.baseURL,
		DefaultCount: cfg.searchCount, MaxCount: cfg.searchMax,
		Observe: observe, ObserveTypes: append(slices.Clone(terminology.ResourceTypes), "StructureDefinition"),
		Terminology: server.SearchTerminology{Service: terms.Service}, Checkers: checks.checkers()})
	if err != nil {
		return err
	}
	checks.started(eng)
	if err := terms.readSeedState(ctx, eng); err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	terms.engineStarted()
	if err := terms.storeSearchParameters(ctx, eng, sources...); err != nil {
		return err
	}
	// The start read every stored terminology resource and profile; their
	// pages need not stay mapped.
	releaseIdle(store)
	// The seed is stored in the background; the store is closed only
	// once that has stopped (defers run last first).
	seedCtx, stopSeed := context.WithCancel(ctx)
	seedDone := make(chan struct{})
	defer func() { stopSeed(); <-seedDone }()
	go func() {
		defer close(seedDone)
		if err := terms.storeSeed(seedCtx, eng, sources...); err != nil && seedCtx.Err() == nil {
			log.Error("the terminology seed could not be stored as resources", "error", err.Error())
		}
	}()
	supported, err := profiles.SupportedProfiles()
	if err != nil {
		return err
	}
	srv := server.New(eng, server.Options{BaseURL: cfg.baseURL, MaxBodyBytes: cfg.maxBody, Logger: log, Version: version(),
		Terminology: terms.Service, SupportedProfiles: supported, Questionnaires: questionnaire.Questionnaires()})
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Warn("access control is not enforced yet: every request is allowed; keep the server on loopback or behind an authenticating proxy")
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !isLoopback(host) {
		log.Warn("listening on a non-loopback address without access control", "addr", ln.Addr().String())
	}
	log.Info("serving", append(cfg.store.where(), "addr", ln.Addr().String(), "base", cfg.baseURL, "version", version(),
		"startup", time.Since(start).Round(time.Millisecond).String())...)
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	if cfg.loadExamples {
		loadExamples(ctx, eng, log)
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownWait)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadExamples loads the example Bundles, each as a transaction, and logs
// what they did; a failure is logged and the server goes on.
func loadExamples(ctx context.Context, eng *engine.Engine, log *slog.Logger) {
	start := time.Now()
	loaded, err := examples.Load(ctx, eng)
	var created, updated, unchanged int
	for _, l := range loaded {
		log.Debug("example loaded", "bundle", l.Bundle, "created", l.Created, "updated", l.Updated, "unchanged", l.Unchanged)
		created, updated, unchanged = created+l.Created, updated+l.Updated, unchanged+l.Unchanged
	}
	if err != nil {
		log.Error("the examples could not be loaded", "error", err.Error(), "bundles_loaded", len(loaded))
		return
	}
	log.Info("examples loaded", "bundles", len(loaded), "created", created, "updated", updated, "unchanged", unchanged,
		"took", time.Since(start).Round(time.Millisecond).String())
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
