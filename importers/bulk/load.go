package bulk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// A Sink stores the items of a unit: it returns one error per item (nil
// when stored) and an error that stops the load (the store or the server
// failing as a whole).
type Sink interface {
	Load(ctx context.Context, items []Item) ([]error, error)
}

// EngineSink stores items through an engine, in one store transaction
// per unit, each as an update by id (content equal to the stored version
// writes nothing).
type EngineSink struct {
	Engine *engine.Engine
	// SkipValidation checks the JSON rules only: for measuring the store.
	SkipValidation bool
	// Indexes, when set, is the engine's store, able to build its search
	// indexes after a load (see Begin).
	Indexes IndexDeferrer
}

// An IndexDeferrer is a store that can build search indexes after a bulk
// load rather than row by row (the embedded store), when the load is
// large compared with what the store holds.
type IndexDeferrer interface {
	// DeferIndexes prepares for a load of about incoming bytes of
	// resources, and reports whether indexes are deferred.
	DeferIndexes(ctx context.Context, incoming int64) (bool, error)
	// BuildIndexes builds the deferred indexes.
	BuildIndexes(ctx context.Context) error
}

// Begin prepares the store for a load of files: its search indexes are
// built at the end rather than row by row when that is faster. Whoever
// calls it calls End when the load ends, whatever the outcome (a store
// left with indexes to build builds them when it next opens).
func (s EngineSink) Begin(ctx context.Context, files []File) error {
	if s.Indexes == nil {
		return nil
	}
	var total int64
	for _, f := range files {
		total += f.Size
	}
	_, err := s.Indexes.DeferIndexes(ctx, total)
	return err
}

// End builds what Begin deferred.
func (s EngineSink) End(ctx context.Context) error {
	if s.Indexes == nil {
		return nil
	}
	return s.Indexes.BuildIndexes(ctx)
}

// Match finds what criteria match in the engine's store (see Resolver).
func (s EngineSink) Match(ctx context.Context, t fhir.ResourceType, criteria string) ([]fhir.ID, error) {
	return s.Engine.Matches(ctx, t, criteria)
}

func (s EngineSink) Load(ctx context.Context, items []Item) ([]error, error) {
	in := make([]engine.ImportItem, len(items))
	for i, it := range items {
		in[i] = engine.ImportItem{Type: it.Type, ID: it.ID, Body: it.Body}
	}
	return s.Engine.Import(ctx, in, engine.ImportOptions{SkipValidation: s.SkipValidation})
}

// HTTPSink stores items on a running server: a unit as one transaction
// Bundle of updates by id, which the server validates entry by entry at
// once and writes in one commit. A unit the server refuses as a
// transaction (a resource invalid, or one resource twice) goes again as
// a batch, which the server answers entry by entry, so that its good
// resources load and each bad one is reported. A unit larger than
// MaxBytes, or than the server takes, is sent in parts (its resources'
// references are already rewritten to their ids, so that the parts do
// not depend on each other).
type HTTPSink struct {
	// Base is the FHIR base URL ("http://host:8080/fhir").
	Base   string
	Client *http.Client
	// MaxBytes bounds the resources of one Bundle posted (default
	// DefaultPostBytes).
	MaxBytes int
}

// DefaultPostBytes is the default bound of HTTPSink.MaxBytes: half the
// server's default limit on a request's body (16 MiB), for the Bundle's
// own members.
const DefaultPostBytes = 8 << 20

func (s HTTPSink) Load(ctx context.Context, items []Item) ([]error, error) {
	limit := s.MaxBytes
	if limit <= 0 {
		limit = DefaultPostBytes
	}
	errs := make([]error, 0, len(items))
	for len(items) > 0 {
		n, size := 1, len(items[0].Body)
		for n < len(items) && size+len(items[n].Body) <= limit {
			size += len(items[n].Body)
			n++
		}
		part, err := s.loadPart(ctx, items[:n])
		if err != nil {
			return nil, err
		}
		errs = append(errs, part...)
		items = items[n:]
	}
	return errs, nil
}

// loadPart posts items as a transaction, and again as a batch if the
// server refuses the transaction for one of them; in halves if it is
// over the server's size limit (a resource alone over it is reported).
func (s HTTPSink) loadPart(ctx context.Context, items []Item) ([]error, error) {
	errs, err := s.post(ctx, "transaction", items)
	var refused *refusedErr
	if !errors.As(err, &refused) {
		return errs, err
	}
	if !refused.tooLarge {
		return s.post(ctx, "batch", items)
	}
	if len(items) == 1 {
		return []error{refused.error}, nil
	}
	half := len(items) / 2
	first, err := s.loadPart(ctx, items[:half])
	if err != nil {
		return nil, err
	}
	rest, err := s.loadPart(ctx, items[half:])
	if err != nil {
		return nil, err
	}
	return append(first, rest...), nil
}

// Match finds what criteria match on the server, with a search (see
// Resolver).
func (s HTTPSink) Match(ctx context.Context, t fhir.ResourceType, criteria string) ([]fhir.ID, error) {
	if i := strings.IndexByte(criteria, '?'); i >= 0 {
		criteria = criteria[i+1:]
	}
	u := strings.TrimSuffix(s.Base, "/") + "/" + url.PathEscape(string(t)) + "?" + criteria + "&_count=2&_elements=id"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Message: "the criteria do not make a URL: " + err.Error()}
	}
	resp, body, err := s.do(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotFound:
		return nil, &fhir.Error{Kind: fhir.KindInvalid, Message: "the server refused them: " + diagnostics(body)}
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("searching %s: the server answered %s: %s", t, resp.Status, diagnostics(body))
	}
	var page struct {
		Entry []struct {
			Resource struct {
				ID fhir.ID `json:"id"`
			} `json:"resource"`
			Search struct {
				Mode string `json:"mode"`
			} `json:"search"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("searching %s: the server's answer is not a Bundle", t)
	}
	var ids []fhir.ID
	for _, e := range page.Entry {
		if e.Search.Mode == "" || e.Search.Mode == "match" {
			ids = append(ids, e.Resource.ID)
		}
	}
	return ids, nil
}

// do sends req, asking for FHIR JSON, and returns the response with its
// body read.
func (s HTTPSink) do(req *http.Request) (*http.Response, []byte, error) {
	req.Header.Set("Accept", "application/fhir+json")
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// refusedErr is a transaction the server refused for what its entries
// hold (400, 409, 412, 422) or for its size (413), rather than for the
// request as a whole.
type refusedErr struct {
	error
	tooLarge bool
}

// post sends items as a Bundle of type typ and returns the error of each.
func (s HTTPSink) post(ctx context.Context, typ string, items []Item) ([]error, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"resourceType":"Bundle","type":"` + typ + `","entry":[`)
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"resource":%s,"request":{"method":"PUT","url":"%s/%s"}}`, it.Body, it.Type, it.ID)
	}
	buf.WriteString(`]}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(s.Base, "/"), &buf)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Prefer", "return=minimal")
	resp, body, err := s.do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("the server answered %s: %s", resp.Status, diagnostics(body))
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusConflict, http.StatusPreconditionFailed, http.StatusUnprocessableEntity:
			if typ == "transaction" {
				return nil, &refusedErr{error: err}
			}
		case http.StatusRequestEntityTooLarge:
			if typ == "transaction" {
				return nil, &refusedErr{error: err, tooLarge: true}
			}
		}
		return nil, err
	}
	var out struct {
		Entry []struct {
			Response struct {
				Status  string          `json:"status"`
				Outcome json.RawMessage `json:"outcome"`
			} `json:"response"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Entry) != len(items) {
		return nil, fmt.Errorf("the server's %s-response does not answer every entry", typ)
	}
	errs := make([]error, len(items))
	for i, e := range out.Entry {
		if !strings.HasPrefix(e.Response.Status, "2") {
			errs[i] = fmt.Errorf("%s: %s", e.Response.Status, diagnostics(e.Response.Outcome))
		}
	}
	return errs, nil
}

// diagnostics returns the diagnostics of an OperationOutcome, joined.
func diagnostics(body []byte) string {
	var oo struct{ Issue []fhir.Issue } // the JSON names match the fields
	if json.Unmarshal(body, &oo) != nil || len(oo.Issue) == 0 {
		return strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	return issuesText(oo.Issue)
}

// issuesText joins issues' diagnostics, each with its locations.
func issuesText(issues []fhir.Issue) string {
	parts := make([]string, len(issues))
	for i, is := range issues {
		parts[i] = is.Diagnostics
		if len(is.Expression) > 0 {
			parts[i] += " (at " + strings.Join(is.Expression, ", ") + ")"
		}
	}
	return strings.Join(parts, "; ")
}

// Options configure Load.
type Options struct {
	// Chunk is the number of NDJSON lines loaded together (default 500).
	Chunk int
	// Workers is the number of units loaded at once (default 4): a unit
	// validates while another writes.
	Workers int
	// Problem receives every resource or file that was not loaded.
	Problem func(Problem)
}

// Progress counts what a load has done so far; its fields are updated
// atomically and may be read while the load runs.
type Progress struct {
	Resources atomic.Int64 // stored (or found unchanged)
	Problems  atomic.Int64
	Read      atomic.Int64 // bytes of the files consumed
}

// Load reads files and stores their resources through sink, several
// units at once. A problem with a file or resource is reported and the
// rest goes on; an error of the sink itself stops the load.
func Load(ctx context.Context, files []File, sink Sink, opts Options, p *Progress) error {
	if opts.Chunk <= 0 {
		opts.Chunk = 500
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	report := func(pr Problem) {
		p.Problems.Add(1)
		if opts.Problem != nil {
			opts.Problem(pr)
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	units := make(chan Unit, opts.Workers)
	var wg sync.WaitGroup
	var mu sync.Mutex // serialises reports
	for range opts.Workers {
		wg.Go(func() {
			for u := range units {
				if ctx.Err() != nil {
					continue
				}
				items, found := u.Items, 0
				if r, ok := sink.(Resolver); ok {
					var more []Problem
					var err error
					if items, found, more, err = resolve(ctx, r, items); err != nil {
						cancel(err)
						continue
					}
					u.Problems = append(u.Problems, more...)
				}
				var errs []error
				if len(items) > 0 {
					var err error
					if errs, err = sink.Load(ctx, items); err != nil {
						cancel(err)
						continue
					}
				}
				mu.Lock()
				for _, pr := range u.Problems {
					report(pr)
				}
				for i, e := range errs {
					if e != nil {
						report(Problem{Where: items[i].Where, Err: describe(e)})
					}
				}
				mu.Unlock()
				p.Resources.Add(int64(len(items)+found) - int64(countErrs(errs)))
			}
		})
	}
	var read int64
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		err := ReadFile(f.Name, opts.Chunk, func(u Unit) error {
			p.Read.Store(read + u.Read)
			if len(u.Items) == 0 {
				mu.Lock()
				for _, pr := range u.Problems {
					report(pr)
				}
				mu.Unlock()
				return nil
			}
			select {
			case units <- u:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
		if err != nil {
			break
		}
		read += f.Size
		p.Read.Store(read)
	}
	close(units)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

func countErrs(errs []error) int {
	n := 0
	for _, e := range errs {
		if e != nil {
			n++
		}
	}
	return n
}

// describe turns an engine error into the text a user reads: the issues'
// diagnostics and locations.
func describe(err error) error {
	var fe *fhir.Error
	if !errors.As(err, &fe) || len(fe.Issues) == 0 {
		return err
	}
	return errors.New(issuesText(fe.Issues))
}
