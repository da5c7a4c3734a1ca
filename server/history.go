package server

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// history answers the history interactions: a history Bundle of versions,
// newest first, with self and next links.
func (s *Server) history(c *gin.Context, t fhir.ResourceType, id fhir.ID) error {
	params := c.Request.URL.Query()
	page, err := s.eng.History(c.Request.Context(), engine.HistoryRequest{Type: t, ID: id, Params: params})
	if err != nil {
		return err
	}
	base := s.baseURL(c)
	self := base + "/"
	switch {
	case id != "":
		self += string(t) + "/" + string(id) + "/_history"
	case t != "":
		self += string(t) + "/_history"
	default:
		self += "_history"
	}
	b := newBundle("history")
	if page.Total >= 0 {
		b.Total = &page.Total
	}
	b.Link = append(b.Link, bundleLink{"self", withQuery(self, params)})
	if page.Next != "" {
		next := cloneValues(params)
		next.Set(engine.CursorParam, page.Next)
		b.Link = append(b.Link, bundleLink{"next", withQuery(self, next)})
	}
	versions := page.Versions
	if params.Get("_summary") != "count" { // the total alone: nothing to shape
		if versions, err = s.eng.Shape(t, params, page.Versions); err != nil {
			return err
		}
	}
	b.Entry = make([]bundleEntry, 0, len(versions))
	for _, r := range versions {
		b.Entry = append(b.Entry, historyEntry(base, r))
	}
	out, err := b.encode()
	if err != nil {
		return fhir.Internal("the history Bundle could not be written", err)
	}
	s.writeJSON(c, http.StatusOK, out)
	return nil
}

func withQuery(u string, q url.Values) string {
	if len(q) == 0 {
		return u
	}
	return u + "?" + q.Encode()
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
