package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/model"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Search returns the current resources matching q. Its statements run in
// one read transaction, so that a page is one snapshot of the store. When
// q reads the value tables and that snapshot holds queued search values
// (queue.go), the search runs instead on a snapshot taken right after a
// drain (searchDrained).
func (s *Store) Search(ctx context.Context, q *search.Query) (*engine.SearchResult, error) {
	if own := resourceOnly(q); own || s.queued.Load() == 0 {
		res, err, ok := s.searchSnapshot(ctx, q, !own)
		if ok {
			return visible(s, res, err)
		}
	}
	res, err := s.searchDrained(ctx, q)
	return visible(s, res, err)
}

// searchDrained runs q in a read transaction begun by the goroutine that
// holds the writer token, after it drained the queue and before it gives
// the token back: the snapshot holds every committed write with its
// search values, and the search itself keeps no write waiting.
func (s *Store) searchDrained(ctx context.Context, q *search.Query) (*engine.SearchResult, error) {
	if err := s.sync.err(); err != nil {
		return nil, storeErr("search", err)
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	tx, err := func() (*sql.Tx, error) {
		defer s.release()
		return s.drainAndPin(ctx)
	}()
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return find(ctx, s, tx, q)
}

// drainAndPin runs the writes waiting for the writer, then a drain of the
// queue in the same group, and begins a read transaction on what they
// committed. The caller holds the writer token, so nothing commits
// between the drain and the snapshot. No goroutine waits for the token
// while it holds a read connection, so waiting for one here cannot
// deadlock.
func (s *Store) drainAndPin(ctx context.Context) (*sql.Tx, error) {
	s.qmu.Lock()
	batch := s.queue
	s.queue = nil
	s.qmu.Unlock()
	if len(batch) > 0 || s.qlen > 0 {
		// The drain serves the searches after this one too: a client that
		// goes away does not undo it.
		dctx := context.WithoutCancel(ctx)
		drain := newWriteReq(dctx, drainFn(dctx))
		s.runBatch(append(batch, drain))
		if drain.err != nil {
			return nil, drain.err
		}
		if drain.panicked != nil {
			panic(drain.panicked)
		}
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, storeErr("search", err)
	}
	// The first read fixes the snapshot.
	var queued bool
	err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM index_queue)`).Scan(&queued)
	if err == nil && queued {
		err = errors.New("the index queue holds entries after a drain")
	}
	if err != nil {
		tx.Rollback()
		return nil, storeErr("search", err)
	}
	return tx, nil
}

// searchSnapshot runs q in a read transaction, unless queue is set and the
// snapshot holds queued search values (ok false).
func (s *Store) searchSnapshot(ctx context.Context, q *search.Query, queue bool) (res *engine.SearchResult, err error, ok bool) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, storeErr("search", err), true
	}
	defer tx.Rollback()
	if queue {
		var queued bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM index_queue)`).Scan(&queued); err != nil {
			return nil, storeErr("search", err), true
		}
		if queued {
			return nil, nil, false
		}
	}
	res, err = find(ctx, s, tx, q)
	return res, err, true
}

// resourceOnly reports whether q reads the resource table alone, which
// holds every committed write: its clauses and sorts are on _id and
// _lastUpdated only (as a client polling for changes, or an import
// looking up the resources it replaces, searches).
func resourceOnly(q *search.Query) bool {
	for _, cl := range q.Clauses {
		if cl.Chain != nil || cl.Has != nil {
			return false
		}
		switch {
		case cl.Param == paramID && (cl.Modifier == search.ModNone || cl.Modifier == search.ModNot):
		case cl.Param == paramLastUpdated && cl.Modifier == search.ModNone:
		default:
			return false
		}
	}
	for _, srt := range q.Sort {
		if srt.Param != paramID && srt.Param != paramLastUpdated {
			return false
		}
	}
	return true
}

// find runs q on db: the read transaction of Search, or a write
// transaction (which sees its own writes).
func find(ctx context.Context, s *Store, db querier, q *search.Query) (*engine.SearchResult, error) {
	c := &searcher{ctx: ctx, db: db, now: time.Now(), dates: s.dates.get}
	res, err := c.run(q)
	return res, storeErr("search", err)
}

// searcher runs one search: it compiles the query for each resource type
// searched, plans each type's part, and merges their pages.
type searcher struct {
	ctx context.Context
	db  querier
	now time.Time
	// mode is the query's _total mode; clauses, whether it has any;
	// single, whether it searches one resource type.
	mode    search.Total
	clauses bool
	single  bool
	// aliases counts the table aliases given out, so that nested
	// conditions never shadow each other's.
	aliases int
	// counts holds the live resources of each type (typecount).
	counts map[fhir.ResourceType]int64
	// params caches paramcount.
	params map[int64]int64
	// dates returns the statistics of a date parameter.
	dates func(k int64) (dateStat, bool)
}

// alias returns a table alias not used before in this search.
func (c *searcher) alias() string {
	c.aliases++
	return "t" + strconv.Itoa(c.aliases)
}

// typeRun is the part of a search on one resource type.
type typeRun struct {
	t    fhir.ResourceType
	n    int64 // live resources of the type
	ms   []*matcher
	keys []*sortKey
	// est holds each clause's estimated matches, -1 when not estimated;
	// capped marks estimates that stopped at estimateBound (at least).
	est       []int64
	capped    []bool
	estimated bool
	// total is the number of matches when a page counted them, else -1.
	total int64
}

func (c *searcher) run(q *search.Query) (*engine.SearchResult, error) {
	count := max(q.Count, 0)
	fp := fingerprint(q)
	var after *cursor
	if q.Cursor != "" {
		var err error
		if after, err = decodeCursor(q.Cursor, fp, len(q.Sort)); err != nil {
			return nil, err
		}
	}
	types, err := c.searchTypes(q.Types)
	if err != nil {
		return nil, err
	}
	var runs []*typeRun
	for _, t := range types {
		r := &typeRun{t: t, total: -1}
		for i := range q.Clauses {
			m, err := c.compile(t, &q.Clauses[i])
			if err != nil {
				return nil, err
			}
			r.ms = append(r.ms, m)
			r.est, r.capped = append(r.est, -1), append(r.capped, false)
		}
		for _, s := range q.Sort {
			k, err := c.compileSort(t, s)
			if err != nil {
				return nil, err
			}
			r.keys = append(r.keys, k)
		}
		c.fuseDates(r, q.Clauses)
		if r.n, err = c.typeCount(t); err != nil {
			return nil, err
		}
		if r.n > 0 {
			runs = append(runs, r)
		}
	}

	res := &engine.SearchResult{Total: -1}
	c.mode, c.clauses, c.single = q.Total, len(q.Clauses) > 0, len(runs) == 1
	if count > 0 {
		rows, more, err := c.collect(runs, after, count)
		if err != nil {
			return nil, err
		}
		if after != nil && after.before && !more {
			// Nothing is left before this page: it is the first page
			// (read forwards, so that it is full and links onwards).
			after = nil
			if rows, more, err = c.collect(runs, nil, count); err != nil {
				return nil, err
			}
		}
		switch {
		case after != nil && after.before:
			// Read backwards: the page is the rows before the cursor, in
			// the query's order; the next page starts after its last.
			slices.Reverse(rows)
			res.Prev = encodeCursor(fp, rows[0], true)
			res.Next = encodeCursor(fp, rows[len(rows)-1], false)
		default:
			if more {
				res.Next = encodeCursor(fp, rows[len(rows)-1], false)
			}
			if after != nil && len(rows) > 0 {
				res.Prev = encodeCursor(fp, rows[0], true)
			}
		}
		if res.Resources, err = c.fetch(rows); err != nil {
			return nil, err
		}
	}
	if res.Total, err = c.total(q, runs, after, count, res); err != nil {
		return nil, err
	}
	return res, nil
}

// collect returns up to count rows of the runs after the cursor (or the
// count rows before it, nearest first, when it asks for the page before),
// merged across types, and whether more rows follow in that direction.
func (c *searcher) collect(runs []*typeRun, at *cursor, count int) ([]pageRow, bool, error) {
	var rows []pageRow
	for _, r := range runs {
		got, err := c.page(r, at, count+1)
		if err != nil {
			return nil, false, err
		}
		rows = append(rows, got...)
	}
	if len(runs) > 1 {
		keys := runs[0].keys
		back := at != nil && at.before
		slices.SortFunc(rows, func(a, b pageRow) int {
			if back {
				return compareRows(b, a, keys)
			}
			return compareRows(a, b, keys)
		})
	}
	return rows[:min(count, len(rows))], len(rows) > count, nil
}

// searchTypes returns the types searched: those of the query, or every
// type that has live resources.
func (c *searcher) searchTypes(types []fhir.ResourceType) ([]fhir.ResourceType, error) {
	if len(types) == 0 {
		return c.liveTypes()
	}
	out := slices.Clone(types)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// fetch reads the current versions of the page's resources, in order.
func (c *searcher) fetch(rows []pageRow) ([]*fhir.Resource, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	rids := make([]any, len(rows))
	for i, r := range rows {
		rids[i] = r.rid
	}
	q := (&sq{}).w(`SELECT r.rid, r.type, r.id, r.version, v.updated, v.method, v.body
		FROM resource r JOIN version v ON v.seq = r.seq WHERE r.rid IN `).in(rids)
	res, err := c.query(q)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	byRID := make(map[int64]*fhir.Resource, len(rows))
	for res.Next() {
		r := &fhir.Resource{}
		var rid, updated int64
		var method string
		if err := res.Scan(&rid, &r.Type, &r.ID, &r.Version, &updated, &method, &r.Body); err != nil {
			return nil, err
		}
		r.LastUpdated, r.Method = fromMillis(updated), fhir.Method(method)
		byRID[rid] = r
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	out := make([]*fhir.Resource, 0, len(rows))
	for _, row := range rows {
		r := byRID[row.rid]
		if r == nil {
			return nil, errors.New("a matched resource is missing")
		}
		out = append(out, r)
	}
	return out, nil
}

// loadCounts reads typecount once per search.
func (c *searcher) loadCounts() error {
	if c.counts != nil {
		return nil
	}
	rows, err := c.db.QueryContext(c.ctx, `SELECT type, n FROM typecount`)
	if err != nil {
		return err
	}
	defer rows.Close()
	c.counts = map[fhir.ResourceType]int64{}
	for rows.Next() {
		var t fhir.ResourceType
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return err
		}
		c.counts[t] = n
	}
	return rows.Err()
}

// typeCount returns the number of live resources of type t.
func (c *searcher) typeCount(t fhir.ResourceType) (int64, error) {
	if err := c.loadCounts(); err != nil {
		return 0, err
	}
	return c.counts[t], nil
}

// liveTypes returns the types that have live resources, sorted.
func (c *searcher) liveTypes() ([]fhir.ResourceType, error) {
	if err := c.loadCounts(); err != nil {
		return nil, err
	}
	var out []fhir.ResourceType
	for t, n := range c.counts {
		if n > 0 {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// allTypes returns every resource type a reference may name: those of
// FHIR R4 and any other the store holds.
func (c *searcher) allTypes() ([]fhir.ResourceType, error) {
	if err := c.loadCounts(); err != nil {
		return nil, err
	}
	out := slices.Clone(r4Types())
	for t := range c.counts {
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

var r4Types = sync.OnceValue(func() []fhir.ResourceType {
	var out []fhir.ResourceType
	for _, t := range model.ResourceTypes() {
		out = append(out, fhir.ResourceType(t))
	}
	return out
})

// paramCount returns the number of live resources with a value for the
// parameter keyed k.
func (c *searcher) paramCount(k int64) (int64, error) {
	if n, ok := c.params[k]; ok {
		return n, nil
	}
	var n int64
	err := c.db.QueryRowContext(c.ctx, `SELECT n FROM paramcount WHERE k = ?`, k).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if c.params == nil {
		c.params = map[int64]int64{}
	}
	c.params[k] = n
	return n, nil
}

// traceSQL, when set, receives the statements searches run: a test hook.
var traceSQL atomic.Pointer[func(query string, args []any)]

// query runs q.
func (c *searcher) query(q *sq) (*sql.Rows, error) {
	if f := traceSQL.Load(); f != nil {
		(*f)(q.String(), q.args)
	}
	return c.db.QueryContext(c.ctx, q.String(), q.args...)
}

// queryRow runs q, which returns one row.
func (c *searcher) queryRow(q *sq) *sql.Row {
	if f := traceSQL.Load(); f != nil {
		(*f)(q.String(), q.args)
	}
	return c.db.QueryRowContext(c.ctx, q.String(), q.args...)
}
