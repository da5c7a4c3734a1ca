package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// Batch and transaction Bundles (POST [base]). A transaction's writes go
// to the engine as one unit (engine.Transaction: all or none); its reads,
// processed last as the specification orders, and every entry of a batch
// are answered as if they were requests of their own, by the same
// handlers, inside the server (recorded by net/http/httptest's
// ResponseRecorder, an in-memory http.ResponseWriter).

// bundleIn is the part of a posted Bundle the server reads.
type bundleIn struct {
	ResourceType string    `json:"resourceType"`
	Type         string    `json:"type"`
	Entry        []entryIn `json:"entry"`
}

type entryIn struct {
	FullURL  string         `json:"fullUrl"`
	Resource jsontext.Value `json:"resource"`
	Request  *struct {
		Method          string `json:"method"`
		URL             string `json:"url"`
		IfNoneMatch     string `json:"ifNoneMatch"`
		IfModifiedSince string `json:"ifModifiedSince"`
		IfMatch         string `json:"ifMatch"`
		IfNoneExist     string `json:"ifNoneExist"`
	} `json:"request"`
}

// postBundle answers POST [base]: a batch or a transaction.
func (s *Server) postBundle(c *gin.Context) error {
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	// json/v2 (the jsontext package is fhir.Prepare's) reads a Bundle five
	// times faster than encoding/json, with FHIR's own rules on top:
	// names match exactly, and duplicate names and invalid UTF-8 are
	// refused.
	var in bundleIn
	if err := jsonv2.Unmarshal(body, &in); err != nil {
		if _, perr := fhir.Prepare(body); perr != nil {
			return perr // says where the JSON is malformed
		}
		return shapeErr(err)
	}
	if in.ResourceType != "Bundle" {
		return bundleErr("resourceType", "POST to the base takes a Bundle of type batch or transaction, not a %s", quoteFor(in.ResourceType))
	}
	for i, en := range in.Entry {
		at := "Bundle.entry[" + strconv.Itoa(i) + "].request"
		switch {
		case en.Request == nil:
			return bundleErr(at, "entry %d has no request (method and url)", i)
		case en.Request.Method == "":
			return bundleErr(at+".method", "entry %d: its request has no method", i)
		case en.Request.URL == "":
			return bundleErr(at+".url", "entry %d: its request has no url", i)
		}
	}
	switch in.Type {
	case "batch":
		return s.batch(c, in.Entry)
	case "transaction":
		return s.transaction(c, in.Entry)
	}
	return bundleErr("Bundle.type", "POST to the base takes a Bundle of type batch or transaction, not %s", quoteFor(in.Type))
}

// validInstant reports whether v is a FHIR instant.
func validInstant(v string) bool {
	_, err := time.Parse(time.RFC3339Nano, v)
	return err == nil
}

// shapeErr is the error of a Bundle whose JSON is well formed but breaks
// a rule of FHIR JSON (a member named twice, invalid UTF-8) or has a value
// of the wrong kind where the server reads it ("entry":{}), named by its
// location rather than by the server's Go types.
func shapeErr(err error) *fhir.Error {
	path := func(p jsontext.Pointer) string {
		out := "Bundle"
		for tok := range p.Tokens() {
			if _, err := strconv.Atoi(tok); err == nil {
				out += "[" + tok + "]"
			} else {
				out += "." + tok
			}
		}
		return out
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) && syn.Err != nil {
		at := path(syn.JSONPointer)
		return bundleErr(at, "%s: %v", at, syn.Err)
	}
	var se *jsonv2.SemanticError
	if !errors.As(err, &se) {
		return bundleErr("Bundle", "the body is not a Bundle")
	}
	at := path(se.JSONPointer)
	want := map[jsontext.Kind]string{'{': "an object", '[': "an array", '"': "a string", '0': "a number",
		't': "a boolean", 'f': "a boolean", 'n': "null"}[se.JSONKind]
	if want == "" {
		return bundleErr(at, "%s does not hold what a Bundle holds there", at)
	}
	return bundleErr(at, "%s cannot be %s", at, want)
}

func bundleErr(expr, format string, args ...any) *fhir.Error {
	e := fhir.Errorf(fhir.KindInvalid, format, args...)
	e.Issues = []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueInvalid, Diagnostics: e.Message, Expression: []string{expr}}}
	return e
}

func quoteFor(s string) string {
	if s == "" {
		return "(none)"
	}
	return strconv.Quote(truncate(s, 40))
}

// batch answers every entry on its own: one failing does not stop the
// others. The entries run in the steps of a transaction (DELETE, POST,
// PUT and PATCH, then GET and HEAD), as the specification considers a
// batch to run, and within a step several at once (batchParallel), so
// that their validation shares the cores and their writes share the
// store's group commits rather than each waiting for a commit of its
// own. Entries on one target (see batchTarget) run one after the
// other, in the Bundle's order. The answers keep the Bundle's order.
func (s *Server) batch(c *gin.Context, entries []entryIn) error {
	out := newBundle("batch-response")
	out.Entry = make([]bundleEntry, len(entries))
	for _, step := range s.batchSteps(c, entries) {
		runGroups(step, batchParallel, func(i int) {
			out.Entry[i], _ = s.subRequest(c.Request.Context(), c, i, entries[i])
		})
	}
	return s.writeBundle(c, out)
}

// batchParallel is the number of a batch's entries answered at once.
// The engine bounds the entries validated at once by the cores; the
// others wait for the store's writer, and the more wait, the more one
// commit holds: a commit writes every page its writes touched (index
// pages all over their b-trees) and syncs once, so that larger commits
// write fewer pages per entry. Loading the first 60 Synthea bundles as
// batches of updates from 4 clients: 4 at once 885 - 933 resources/s,
// 16 at once 1,161 - 1,388, 64 at once 1,306.
const batchParallel = 16

// batchSteps sorts the entries of a batch into the steps of a
// transaction, each a list of groups of entry indexes: the entries of a
// group share a target and run in the Bundle's order.
func (s *Server) batchSteps(c *gin.Context, entries []entryIn) [][][]int {
	steps := make([][][]int, 4)
	groups := make([]map[string]int, 4) // target -> group of its step
	for i, en := range entries {
		method := en.Request.Method
		step := 3 // GET, HEAD, and methods answered with an error
		switch method {
		case http.MethodDelete:
			step = 0
		case http.MethodPost:
			step = 1
		case http.MethodPut, http.MethodPatch:
			step = 2
		}
		target := s.batchTarget(c, method, en)
		if target == "" {
			steps[step] = append(steps[step], []int{i})
			continue
		}
		if groups[step] == nil {
			groups[step] = map[string]int{}
		}
		g, ok := groups[step][target]
		if !ok {
			g = len(steps[step])
			groups[step][target] = g
			steps[step] = append(steps[step], nil)
		}
		steps[step][g] = append(steps[step][g], i)
	}
	return steps
}

// batchTarget names what an entry of a batch writes, for the entries that
// must not run at the same time: the url of an update, patch or delete
// (an id, or conditional criteria), and the criteria of a conditional
// create (ifNoneExist), so that two creates on the same criteria create
// one resource. Other entries, and those whose url is refused, have no
// target and run freely. The url is read as the entry's request is
// (entryURL): relative or in full, its query in any order, one target.
func (s *Server) batchTarget(c *gin.Context, method string, en entryIn) string {
	u := en.Request.URL
	switch method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
	case http.MethodPost:
		if en.Request.IfNoneExist == "" {
			return ""
		}
		u += "?" + en.Request.IfNoneExist
	default:
		return ""
	}
	path, query, err := s.entryURL(c, u)
	if err != nil {
		return ""
	}
	return path + "?" + query.Encode()
}

// runGroups calls answer for the entries of every group, the groups at
// the same time, at most n at once, and the entries of a group one after
// the other; it returns when all are answered.
func runGroups(groups [][]int, n int, answer func(i int)) {
	if len(groups) == 1 {
		for _, i := range groups[0] {
			answer(i)
		}
		return
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, g := range groups {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for _, i := range g {
				answer(i)
			}
		})
	}
	wg.Wait()
}

// transaction answers a transaction: its writes in one engine transaction,
// then its reads, inside that transaction, so that they see its writes
// and a read that fails (an unknown resource, a refused search) fails the
// whole transaction as a write would.
func (s *Server) transaction(c *gin.Context, entries []entryIn) error {
	var writes []engine.TxEntry
	var reads []int
	at := make([]int, len(entries)) // the write of entry i, or -1
	for i, en := range entries {
		at[i] = -1
		m := en.Request.Method
		if m == http.MethodGet || m == http.MethodHead {
			reads = append(reads, i)
			continue
		}
		w, err := s.txEntry(c, i, en)
		if err != nil {
			return err
		}
		at[i] = len(writes)
		writes = append(writes, w)
	}
	out := newBundle("transaction-response")
	out.Entry = make([]bundleEntry, len(entries))
	if len(writes) == 0 {
		// Nothing to write: the reads run as a batch's, several at once.
		failed := make([]error, len(entries))
		runGroups(oneEach(reads), batchParallel, func(i int) {
			out.Entry[i], failed[i] = s.txRead(c.Request.Context(), c, i, entries[i])
		})
		if err := firstErr(failed); err != nil {
			return err
		}
		return s.writeBundle(c, out)
	}
	var answerReads func(ctx context.Context) error
	if len(reads) > 0 {
		// Inside the store transaction: one after the other.
		answerReads = func(ctx context.Context) error {
			for _, i := range reads {
				var err error
				if out.Entry[i], err = s.txRead(ctx, c, i, entries[i]); err != nil {
					return err
				}
			}
			return nil
		}
	}
	results, err := s.eng.TransactionWithReads(c.Request.Context(), writes, answerReads)
	if err != nil {
		return err
	}
	for i := range entries {
		if at[i] >= 0 {
			out.Entry[i] = s.writeEntry(c, results[at[i]])
		}
	}
	return s.writeBundle(c, out)
}

// oneEach puts each entry index in a group of its own (see runGroups).
func oneEach(entries []int) [][]int {
	groups := make([][]int, len(entries))
	for k, i := range entries {
		groups[k] = []int{i}
	}
	return groups
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// txRead answers the read (GET or HEAD) entry i of a transaction under
// ctx; an answer of 400 or above is returned as the error that fails the
// transaction, located at the entry.
func (s *Server) txRead(ctx context.Context, c *gin.Context, i int, en entryIn) (bundleEntry, error) {
	e, status := s.subRequest(ctx, c, i, en)
	if status < 400 {
		return e, nil
	}
	issues, _ := fhir.ParseOutcome(e.Response.Outcome)
	if len(issues) == 0 {
		issues = []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueProcessing, Diagnostics: "answered " + e.Response.Status}}
	}
	what := "entry " + strconv.Itoa(i) + " (" + en.Request.Method + " " + truncate(en.Request.URL, 80) + ")"
	at := "Bundle.entry[" + strconv.Itoa(i) + "].request.url"
	for k := range issues {
		issues[k].Diagnostics = what + ": " + issues[k].Diagnostics
		issues[k].Expression = []string{at}
	}
	return e, &fhir.Error{Kind: kindOf(status), Issues: issues, Message: what + " failed with " + e.Response.Status}
}

// txEntry parses entry i of a transaction as a write.
func (s *Server) txEntry(c *gin.Context, i int, en entryIn) (engine.TxEntry, error) {
	req := en.Request
	w := engine.TxEntry{Index: i, FullURL: en.FullURL, Base: s.baseURL(c), Method: req.Method, IfNoneExist: req.IfNoneExist}
	at := "Bundle.entry[" + strconv.Itoa(i) + "].request"
	switch w.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return w, bundleErr(at+".method", "entry %d: the method %s is not one of GET, HEAD, POST, PUT, PATCH, DELETE", i, quoteFor(req.Method))
	}
	path, query, err := s.entryURL(c, req.URL)
	if err != nil {
		return w, bundleErr(at+".url", "entry %d: %v", i, err)
	}
	seg := strings.Split(path, "/")
	switch {
	case len(seg) == 1 && seg[0] != "" && !strings.HasPrefix(seg[0], "$") && !strings.HasPrefix(seg[0], "_"):
		w.Type = fhir.ResourceType(seg[0])
		if len(query) > 0 {
			w.Criteria = query
		}
	case len(seg) == 2 && len(query) == 0 && !strings.HasPrefix(seg[1], "$") && !strings.HasPrefix(seg[1], "_"):
		w.Type, w.ID = fhir.ResourceType(seg[0]), fhir.ID(seg[1])
	default:
		return w, bundleErr(at+".url", "entry %d: a %s in a transaction goes to [type], [type]/[id] or [type]?[criteria], not %s",
			i, w.Method, quoteFor(req.URL))
	}
	if w.Method == http.MethodPost && w.Criteria != nil {
		return w, bundleErr(at+".url", "entry %d: a create goes to [type]; make it conditional with ifNoneExist", i)
	}
	if req.IfMatch != "" {
		if strings.TrimSpace(req.IfMatch) == "*" {
			w.IfMatch = engine.IfMatchAny
		} else if v, ok := parseETag(req.IfMatch); ok {
			w.IfMatch = v
		} else {
			return w, bundleErr(at+".ifMatch", "entry %d: ifMatch must name a version as W/\"n\", got %s", i, quoteFor(req.IfMatch))
		}
	}
	if req.IfNoneMatch != "" {
		if w.Method != http.MethodPut {
			return w, bundleErr(at+".ifNoneMatch", "entry %d: ifNoneMatch applies to reads, and (as *) to updates, not to a %s", i, w.Method)
		}
		v, err := ifNoneMatchPut(req.IfNoneMatch, w.IfMatch)
		if err != nil {
			return w, bundleErr(at+".ifNoneMatch", "entry %d: %s", i, err.(*fhir.Error).Issues[0].Diagnostics)
		}
		w.IfMatch = v
	}
	switch w.Method {
	case http.MethodPost, http.MethodPut:
		w.Body = en.Resource
	case http.MethodPatch:
		patch, format, err := patchOf(en.Resource)
		if err != nil {
			return w, bundleErr("Bundle.entry["+strconv.Itoa(i)+"].resource", "entry %d: %v", i, err)
		}
		w.Body, w.PatchFormat = patch, format
	}
	return w, nil
}

// patchOf returns the patch document a PATCH entry carries: a FHIRPath
// Patch is the entry's Parameters resource; a JSON Patch is the data, in
// base64, of a Binary resource of contentType application/json-patch+json.
func patchOf(res []byte) ([]byte, engine.PatchFormat, error) {
	var bin struct {
		ResourceType string `json:"resourceType"`
		ContentType  string `json:"contentType"`
		Data         string `json:"data"`
	}
	const want = "a PATCH entry carries a FHIRPath Patch (a Parameters resource) or a JSON Patch (in a Binary resource)"
	if len(res) == 0 || json.Unmarshal(res, &bin) != nil {
		return nil, 0, errors.New(want)
	}
	switch bin.ResourceType {
	case "Parameters":
		return res, engine.FHIRPathPatch, nil
	case "Binary":
	default:
		return nil, 0, errors.New(want)
	}
	if ct, _, _ := strings.Cut(bin.ContentType, ";"); strings.TrimSpace(ct) != mediaJSONPatch {
		return nil, 0, errors.New("the Binary of a PATCH entry must have contentType " + mediaJSONPatch)
	}
	patch, err := base64.StdEncoding.DecodeString(bin.Data)
	if err != nil {
		return nil, 0, errors.New("the Binary's data is not base64")
	}
	return patch, engine.JSONPatch, nil
}

// entryURL splits an entry's request.url, relative to the base or absolute
// on this server, into its path (no leading slash) and query.
func (s *Server) entryURL(c *gin.Context, raw string) (string, url.Values, error) {
	if base := s.baseURL(c); strings.HasPrefix(raw, base+"/") {
		raw = strings.TrimPrefix(raw, base+"/")
	} else if u, err := url.Parse(raw); err == nil && u.IsAbs() {
		return "", nil, fmt.Errorf("the url %s is not on this server (%s)", quoteFor(raw), base)
	}
	raw = strings.TrimPrefix(raw, "/")
	path, rawQuery, _ := strings.Cut(raw, "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", nil, fmt.Errorf("the query of %s is not valid", quoteFor(raw))
	}
	return path, query, nil
}

// writeEntry describes the result of a transaction's write.
func (s *Server) writeEntry(c *gin.Context, res *engine.Result) bundleEntry {
	r := res.Resource
	if r == nil {
		// A conditional delete that matched nothing.
		return bundleEntry{Response: &entryResponse{Status: statusText(http.StatusOK),
			Outcome: outcomeOf(fhir.SeverityInformation, "no resource matched the criteria; nothing was deleted")}}
	}
	status := http.StatusOK
	switch {
	case res.Created:
		status = http.StatusCreated
	case r.Deleted && !res.Unchanged:
		status = http.StatusNoContent
	}
	e := bundleEntry{Response: &entryResponse{Status: statusText(status), Etag: r.ETag(),
		LastModified: fhir.FormatInstant(r.LastUpdated)}}
	if !r.Deleted {
		// The location also where nothing was written (a conditional
		// create that found its resource): what the entry stands for.
		e.FullURL = s.baseURL(c) + "/" + r.Ref()
		e.Response.Location = r.Ref() + "/_history/" + r.VersionID()
	}
	msg := "resource " + r.Ref() + " stored as version " + r.VersionID()
	switch {
	case r.Deleted && res.Unchanged:
		msg = "resource " + r.Ref() + " was already deleted"
	case r.Deleted:
		msg = "resource " + r.Ref() + " deleted"
	case res.Unchanged:
		msg = "resource " + r.Ref() + " unchanged at version " + r.VersionID()
	}
	switch preferOf(c.Request) {
	case returnOutcome:
		e.Response.Outcome = outcomeOf(fhir.SeverityInformation, msg)
	case returnRepresentation:
		if !r.Deleted {
			e.Resource = r.Body
		}
	}
	return e
}

func outcomeOf(sev fhir.Severity, msg string) json.RawMessage {
	return fhir.Outcome([]fhir.Issue{{Severity: sev, Code: fhir.IssueInformational, Diagnostics: msg}})
}

// subRequest answers entry i of a batch, or a read of a transaction, as a
// request of its own to the same handlers, under ctx, with the caller and
// the Prefer header of the Bundle's request. It returns the entry's
// response and its HTTP status.
func (s *Server) subRequest(ctx context.Context, c *gin.Context, i int, en entryIn) (bundleEntry, int) {
	fail := func(err error) (bundleEntry, int) {
		fe := err.(*fhir.Error)
		status := statusOf[fe.Kind].status
		return bundleEntry{Response: &entryResponse{Status: statusText(status), Outcome: fhir.Outcome(fe.Issues)}}, status
	}
	req := en.Request
	method := req.Method
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return fail(bundleErr("Bundle.entry["+strconv.Itoa(i)+"].request.method",
			"entry %d: the method %s is not one of GET, HEAD, POST, PUT, PATCH, DELETE", i, quoteFor(req.Method)))
	}
	path, query, err := s.entryURL(c, req.URL)
	if err != nil {
		return fail(bundleErr("Bundle.entry["+strconv.Itoa(i)+"].request.url", "entry %d: %v", i, err))
	}
	if req.IfModifiedSince != "" && !validInstant(req.IfModifiedSince) {
		return fail(bundleErr("Bundle.entry["+strconv.Itoa(i)+"].request.ifModifiedSince",
			"entry %d: ifModifiedSince %s is not an instant (such as 2026-01-31T12:00:00Z)", i, quoteFor(req.IfModifiedSince)))
	}
	if path == "" && method == http.MethodPost {
		return fail(bundleErr("Bundle.entry["+strconv.Itoa(i)+"].request.url", "entry %d: a Bundle cannot hold another batch or transaction", i))
	}
	body := []byte(en.Resource)
	if (method == http.MethodPost || method == http.MethodPut) && len(body) > 0 {
		t, _, _ := strings.Cut(path, "/")
		if ref := engine.FirstPlaceholder(body, fhir.ResourceType(t)); ref != "" {
			return fail(bundleErr("Bundle.entry["+strconv.Itoa(i)+"].resource", "entry %d: the reference %s names a Bundle entry; "+
				"the entries of a batch are independent and are not linked (a transaction links them)", i, quoteFor(ref)))
		}
	}
	contentType := mediaFHIRJSON
	if method == http.MethodPatch {
		var format engine.PatchFormat
		if body, format, err = patchOf(en.Resource); err != nil {
			return fail(bundleErr("Bundle.entry["+strconv.Itoa(i)+"].resource", "entry %d: %v", i, err))
		}
		if format == engine.JSONPatch {
			contentType = mediaJSONPatch
		}
	}
	u := BasePath + "/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var updated time.Time
	r, err := http.NewRequestWithContext(context.WithValue(ctx, versionKey{}, &updated), method, u, bytes.NewReader(body))
	if err != nil {
		return fail(bundleErr("Bundle.entry["+strconv.Itoa(i)+"].request.url", "entry %d: %v", i, err))
	}
	r.Host, r.TLS = c.Request.Host, c.Request.TLS
	r.Header.Set("Accept", mediaFHIRJSON)
	if len(body) > 0 {
		r.Header.Set("Content-Type", contentType)
	}
	for h, v := range map[string]string{"If-None-Match": req.IfNoneMatch, "If-Modified-Since": fhirTimeToHTTP(req.IfModifiedSince),
		"If-Match": req.IfMatch, "If-None-Exist": req.IfNoneExist} {
		if v != "" {
			r.Header.Set(h, v)
		}
	}
	for _, p := range c.Request.Header.Values("Prefer") {
		r.Header.Add("Prefer", p)
	}
	r.Header.Set(RequestIDHeader, c.GetString(keyRequestID))
	rec := httptest.NewRecorder()
	s.sub.ServeHTTP(rec, r)
	e := s.responseEntry(c, rec)
	if !updated.IsZero() {
		e.Response.LastModified = fhir.FormatInstant(updated)
	}
	if method == http.MethodHead {
		// As over HTTP, a HEAD answers with the status and headers of a
		// GET, without the resource; a failure keeps its outcome.
		e.Resource, e.FullURL = nil, ""
	}
	return e, rec.Code
}

// fhirTimeToHTTP turns entry.request.ifModifiedSince (a FHIR instant,
// checked by subRequest) into an HTTP date.
func fhirTimeToHTTP(v string) string {
	if v == "" {
		return ""
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC().Format(http.TimeFormat)
	}
	return v
}

// writeBundle answers with a batch-response or transaction-response.
func (s *Server) writeBundle(c *gin.Context, b *bundle) error {
	body, err := b.encode()
	if err != nil {
		return err
	}
	s.writeJSON(c, http.StatusOK, body)
	return nil
}

// responseEntry describes the answer to a sub-request as a response
// entry: an OperationOutcome goes to response.outcome, another resource
// (or searchset) to resource.
func (s *Server) responseEntry(c *gin.Context, rec *httptest.ResponseRecorder) bundleEntry {
	h := rec.Header()
	e := bundleEntry{Response: &entryResponse{Status: statusText(rec.Code), Etag: h.Get("ETag")}}
	loc := h.Get("Location")
	if loc == "" {
		loc = h.Get("Content-Location")
	}
	if loc != "" {
		e.Response.Location = strings.TrimPrefix(loc, s.baseURL(c)+"/")
	}
	if lm := h.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			e.Response.LastModified = fhir.FormatInstant(t)
		}
	}
	body := bytes.TrimSpace(rec.Body.Bytes())
	if len(body) > 0 {
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		_ = json.Unmarshal(body, &head) // the handlers wrote valid JSON
		if head.ResourceType == "OperationOutcome" {
			e.Response.Outcome = body
		} else {
			e.Resource = body
			if head.ID != "" && head.ResourceType != "Bundle" {
				e.FullURL = s.baseURL(c) + "/" + head.ResourceType + "/" + head.ID
			}
		}
	}
	return e
}
