package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/validate"
	"github.com/cpms-fhir/cpms/internal/teststore"
	"github.com/cpms-fhir/cpms/server"
)

// The acceptance tests run the real server over the real engine and the
// embedded SQLite store in a temporary directory, and talk to it with a
// plain net/http client.

// sharedValidator is built once: its parser tables are expensive and it
// is safe for concurrent use.
var sharedValidator = sync.OnceValues(validate.New)

// testServer is a running server with its own empty store.
type testServer struct {
	t      testing.TB
	URL    string // the server root; the FHIR base is URL + "/fhir"
	client *http.Client
	logs   *syncBuffer
	eng    *engine.Engine
}

// newTestServer starts a server for the test; opts adjust its options.
func newTestServer(t testing.TB, opts ...func(*server.Options)) *testServer {
	t.Helper()
	return newTestServerWith(t, nil, opts...)
}

// newTestServerWith is newTestServer with engine options adjusted by
// engOpts too (nil: none).
func newTestServerWith(t testing.TB, engOpts func(*engine.Options), opts ...func(*server.Options)) *testServer {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := teststore.Open(t, quiet)
	v, err := sharedValidator()
	if err != nil {
		t.Fatalf("validator: %v", err)
	}
	eo := engine.Options{Validator: v, Logger: quiet}
	if engOpts != nil {
		engOpts(&eo)
	}
	eng, err := engine.New(store, eo)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	logs := &syncBuffer{}
	o := server.Options{
		Logger:  slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version: "test",
	}
	for _, f := range opts {
		f(&o)
	}
	hs := httptest.NewServer(server.New(eng, o))
	t.Cleanup(func() {
		hs.Close()
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &testServer{t: t, URL: hs.URL, client: hs.Client(), logs: logs, eng: eng}
}

// response is an answer of the server.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	// JSON is the body decoded (numbers as json.Number), nil when the body
	// is empty or not a JSON object.
	JSON map[string]any
}

// do sends a request. path is relative to the server root ("/fhir/Patient")
// or an absolute URL (a next link). body is nil, a string, []byte, or a
// value marshalled as JSON; a body gets Content-Type application/fhir+json
// unless headers name one ("" to send none). headers are name, value pairs.
//
// do checks what every answer must satisfy: an X-Request-Id; FHIR JSON for
// a body; and for every error status an OperationOutcome with at least one
// issue that leaks nothing of the implementation.
func (ts *testServer) do(method, path string, body any, headers ...string) *response {
	ts.t.Helper()
	r, err := ts.send(method, path, body, headers...)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send is do for other goroutines than the test's: it returns transport
// failures instead of stopping the test.
func (ts *testServer) send(method, path string, body any, headers ...string) (*response, error) {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b // sent chunked: the length is unknown
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	url := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		url = ts.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if len(headers)%2 != 0 {
		return nil, fmt.Errorf("headers must be name, value pairs")
	}
	seen := map[string]bool{}
	for i := 0; i < len(headers); i += 2 {
		name := http.CanonicalHeaderKey(headers[i])
		if !seen[name] {
			req.Header.Del(name)
			seen[name] = true
		}
		if headers[i+1] != "" {
			req.Header.Add(name, headers[i+1])
		}
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if dec.Decode(&m) == nil {
			r.JSON = m
		}
	}
	ts.checkInvariants(method, path, r)
	return r, nil
}

// leaks are fragments that must never reach a client: Go stack traces,
// source locations, database internals.
var leaks = []string{"goroutine", ".go:", "panic", "runtime.", "sql", "modernc", "jsonpbhelper", "proto",
	"go value", "json: cannot", "jsonpatch", "invalid state detected", "<nil>", "%!"}

func (ts *testServer) checkInvariants(method, path string, r *response) {
	t := ts.t
	t.Helper()
	if r.Header.Get(server.RequestIDHeader) == "" {
		t.Errorf("%s %s: no %s in the answer", method, path, server.RequestIDHeader)
	}
	if len(r.Body) > 0 && method != http.MethodHead && strings.Contains(path, "/fhir") {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
			t.Errorf("%s %s: Content-Type %q, want application/fhir+json", method, path, ct)
		}
		if r.JSON == nil {
			t.Errorf("%s %s: the body is not a JSON object: %.200s", method, path, r.Body)
		}
	}
	if r.Status == http.StatusNotModified && len(r.Body) > 0 {
		t.Errorf("%s %s: 304 with a body", method, path)
	}
	if r.Status < 400 || method == http.MethodHead {
		return
	}
	issues := issuesOf(r)
	if r.JSON["resourceType"] != "OperationOutcome" || len(issues) == 0 {
		t.Errorf("%s %s: status %d without an OperationOutcome with issues: %.300s", method, path, r.Status, r.Body)
	}
	if v, err := sharedValidator(); err == nil {
		if err := v.Validate(r.Body); err != nil {
			t.Errorf("%s %s: the OperationOutcome is not valid R4: %v: %s", method, path, err, r.Body)
		}
	}
	for _, is := range issues {
		if is["severity"] == nil || is["code"] == nil {
			t.Errorf("%s %s: issue without severity or code: %v", method, path, is)
		}
	}
	lower := strings.ToLower(string(r.Body))
	// What the request named (server-assigned ids are random letters and
	// may spell "sql") is not a leak when the answer repeats it.
	for _, seg := range strings.FieldsFunc(path, func(c rune) bool { return strings.ContainsRune("/?&=", c) }) {
		if len(seg) >= 8 {
			lower = strings.ReplaceAll(lower, strings.ToLower(seg), "")
		}
	}
	for _, l := range leaks {
		if strings.Contains(lower, strings.ToLower(l)) {
			t.Errorf("%s %s: the error body leaks %q: %s", method, path, l, r.Body)
		}
	}
}

// issuesOf returns the issues of an OperationOutcome answer.
func issuesOf(r *response) []map[string]any {
	list, _ := r.JSON["issue"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// expressions returns the expressions of every issue of an OperationOutcome,
// one string per issue (several joined with "|"), failing the test for an
// error issue without one.
func expressions(t testing.TB, r *response) []string {
	t.Helper()
	var out []string
	for _, is := range issuesOf(r) {
		list, _ := is["expression"].([]any)
		if len(list) == 0 && is["severity"] == "error" {
			t.Errorf("issue without a FHIRPath expression: %v", is)
			continue
		}
		var parts []string
		for _, x := range list {
			parts = append(parts, fmt.Sprint(x))
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

// wantStatus fails the test unless r has the status.
func wantStatus(t testing.TB, r *response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %.600s", r.Status, want, r.Body)
	}
}

// get walks a decoded JSON value: string keys index objects, ints arrays.
// It returns nil when the path does not exist.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// str returns the string at path, or "".
func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

// patientJSON returns a valid Patient with the given id ("" for none),
// family name and identifiers (each "system|value").
func patientJSON(id, family string, identifiers ...string) string {
	p := map[string]any{"resourceType": "Patient"}
	if id != "" {
		p["id"] = id
	}
	if family != "" {
		p["name"] = []any{map[string]any{"family": family}}
	}
	var ids []any
	for _, s := range identifiers {
		sys, val, _ := strings.Cut(s, "|")
		ids = append(ids, map[string]any{"system": sys, "value": val})
	}
	if len(ids) > 0 {
		p["identifier"] = ids
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// create posts a Patient and returns its id.
func (ts *testServer) createPatient(family string, identifiers ...string) string {
	ts.t.Helper()
	r := ts.do(http.MethodPost, "/fhir/Patient", patientJSON("", family, identifiers...))
	wantStatus(ts.t, r, http.StatusCreated)
	return str(r.JSON, "id")
}

// historyTotal returns how many versions the system history holds.
func (ts *testServer) historyCount(path string) int {
	ts.t.Helper()
	r := ts.do(http.MethodGet, path+"?_count=1000", nil)
	wantStatus(ts.t, r, http.StatusOK)
	entries, _ := r.JSON["entry"].([]any)
	return len(entries)
}

// compactJSON is json.Compact.
func compactJSON(dst *bytes.Buffer, src []byte) error { return json.Compact(dst, src) }

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
