package server

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// search answers the search interactions: GET [base]/Type?..., POST
// [base]/Type/_search (parameters in the URL and a form body), and the
// same on the whole system without Type.
func (s *Server) search(c *gin.Context, t fhir.ResourceType) error {
	params, err := s.searchParams(c)
	if err != nil {
		return err
	}
	path := ""
	if t != "" {
		path = "/" + string(t)
	}
	return s.searchBundle(c, engine.SearchRequest{Type: t, Params: params, Strict: preferStrict(c.Request)}, path)
}

// searchCompartment answers a search in the compartment of owner/id
// (GET [base]/Patient/1/Observation, Patient/1/*, or a POST to
// .../Observation/_search): typ is a resource type or "*" for every type
// of the compartment.
func (s *Server) searchCompartment(c *gin.Context, owner fhir.ResourceType, id fhir.ID, typ string) error {
	params, err := s.searchParams(c)
	if err != nil {
		return err
	}
	req := engine.SearchRequest{Params: params, Strict: preferStrict(c.Request), Compartment: owner, Owners: []fhir.ID{id}}
	if typ != "*" {
		req.Type = fhir.ResourceType(typ)
	}
	return s.searchBundle(c, req, "/"+string(owner)+"/"+string(id)+"/"+typ)
}

// searchBundle runs req and answers its page as a searchset Bundle whose
// links are on the base URL followed by path.
func (s *Server) searchBundle(c *gin.Context, req engine.SearchRequest, path string) error {
	page, err := s.eng.Search(c.Request.Context(), req)
	if err != nil {
		return err
	}
	// The links show the parameters the search used (search.html#conformance):
	// not those it ignored, which its outcome names.
	used := cloneValues(req.Params)
	for _, name := range page.Query.Unknown {
		used.Del(name)
	}
	return s.writeSearchset(c, page, path, used)
}

// writeSearchset answers page as a searchset Bundle. Its links are on the
// base URL followed by path, with the parameters params (those of the
// request that chose the page).
func (s *Server) writeSearchset(c *gin.Context, page *engine.SearchPage, path string, params url.Values) error {
	base := s.baseURL(c)
	self := base + path
	b := newBundle("searchset")
	if page.Total >= 0 {
		total := page.Total
		b.Total = &total
	}
	shown := cloneValues(params)
	shown.Del(engine.CursorParam)
	shown.Del("_format")
	shown.Del("_pretty")
	b.Link = append(b.Link, bundleLink{"self", withQuery(self, params)})
	if params.Has(engine.CursorParam) {
		b.Link = append(b.Link, bundleLink{"first", withQuery(self, shown)})
	}
	for _, l := range []struct{ rel, cursor string }{{"previous", page.Prev}, {"next", page.Next}} {
		if l.cursor != "" {
			at := cloneValues(shown)
			at.Set(engine.CursorParam, l.cursor)
			b.Link = append(b.Link, bundleLink{l.rel, withQuery(self, at)})
		}
	}
	b.Entry = make([]bundleEntry, 0, len(page.Matches)+len(page.Included)+1)
	for _, r := range page.Matches {
		b.Entry = append(b.Entry, bundleEntry{FullURL: base + "/" + r.Ref(), Resource: r.Body, Search: &entrySearch{Mode: "match"}})
	}
	for _, r := range page.Included {
		b.Entry = append(b.Entry, bundleEntry{FullURL: base + "/" + r.Ref(), Resource: r.Body, Search: &entrySearch{Mode: "include"}})
	}
	if len(page.Warnings) > 0 {
		b.Entry = append(b.Entry, bundleEntry{Resource: fhir.Outcome(page.Warnings), Search: &entrySearch{Mode: "outcome"}})
	}
	out, err := b.encode()
	if err != nil {
		return fhir.Internal("the search Bundle could not be written", err)
	}
	s.writeJSON(c, http.StatusOK, out)
	return nil
}

// searchParams returns the parameters of a search: the URL's, and for a
// POST to _search also those of its form body.
func (s *Server) searchParams(c *gin.Context) (url.Values, error) {
	params := c.Request.URL.Query()
	if c.Request.Method != http.MethodPost {
		return params, nil
	}
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, &fhir.Error{Kind: fhir.KindUnsupportedMedia, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueNotSupported, Diagnostics: "a POST to _search takes its parameters as application/x-www-form-urlencoded"}}}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.opts.MaxBodyBytes))
	if err != nil {
		return nil, tooLarge(s.opts.MaxBodyBytes)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueInvalid, Diagnostics: "the form body is not a valid query string"}}}
	}
	for k, vs := range form {
		params[k] = append(params[k], vs...)
	}
	return params, nil
}

// preferStrict reports Prefer: handling=strict.
func preferStrict(r *http.Request) bool {
	for _, h := range r.Header.Values("Prefer") {
		for _, part := range strings.FieldsFunc(h, func(r rune) bool { return r == ',' || r == ';' }) {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if strings.EqualFold(strings.TrimSpace(k), "handling") && strings.EqualFold(strings.Trim(strings.TrimSpace(v), `"`), "strict") {
				return true
			}
		}
	}
	return false
}
