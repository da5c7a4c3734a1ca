package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Write runs fn in a write transaction. Writes are committed in groups:
// whoever takes the write connection runs every transaction queued
// meanwhile in one SQLite transaction, and commits them together. A
// transaction whose fn fails is undone alone (see runBatch); the others
// are committed. Write returns once its own transaction is durable (or
// failed): the log is synced after the commit by the store's log syncer,
// while the next group may already run (durable.go).
func (s *Store) Write(ctx context.Context, fn func(tx engine.Tx) error) error {
	if err := s.sync.err(); err != nil {
		return storeErr("write", err)
	}
	req := newWriteReq(ctx, fn)
	s.qmu.Lock()
	s.queue = append(s.queue, req)
	s.qmu.Unlock()

	select {
	case <-req.ready:
	case s.writer <- struct{}{}:
		// The write connection is free. Unless a group that took req has
		// just ended, req is queued still: run the queue.
		s.qmu.Lock()
		batch := s.queue
		s.queue = nil
		s.qmu.Unlock()
		if len(batch) > 0 {
			s.runBatch(batch)
		}
		s.release()
		<-req.ready
	}
	if req.panicked != nil {
		panic(req.panicked)
	}
	// Whether it wrote or failed, the transaction read what the groups
	// before it committed: nothing of that is told before it is durable.
	gen := req.gen
	if gen == 0 {
		gen = s.sync.begun.Load()
	}
	if err := s.sync.wait(gen); err != nil && req.err == nil {
		return storeErr("commit", err)
	}
	return req.err
}

func newWriteReq(ctx context.Context, fn func(tx engine.Tx) error) *writeReq {
	return &writeReq{ctx: ctx, fn: fn, ready: make(chan struct{})}
}

// writeReq is one queued write transaction. done, err, panicked and gen
// are set by the goroutine that runs it, which then closes ready.
type writeReq struct {
	ctx      context.Context
	fn       func(tx engine.Tx) error
	ready    chan struct{}
	done     bool
	err      error
	panicked any
	// gen is the generation of the commit of its group (see logSyncer),
	// 0 if it is not in a committed group.
	gen uint64
}

// runBatch runs the queued transactions in one SQLite transaction and
// commits it, then closes the requests' ready channels. The caller
// holds the writer token.
//
// The transactions run first one after the other with nothing between
// them: savepoints are not free, since every page a statement changes
// under one is first copied to a sub-journal. A transaction that fails
// before it wrote anything needs no undoing. Only when one fails after it
// wrote is the SQLite transaction rolled back and the batch run again,
// each transaction in its own savepoint (the store's contract lets a
// transaction's function run again).
func (s *Store) runBatch(batch []*writeReq) {
	if !s.runGroup(batch, false) {
		s.runGroup(batch, true)
	}
	for _, r := range batch {
		close(r.ready)
	}
}

// runGroup runs the transactions of batch not done yet, in savepoints or
// not, and commits them. Without savepoints it returns false, having
// rolled everything back, when a transaction failed after it wrote and
// another succeeded before it: the batch must run again with savepoints.
func (s *Store) runGroup(batch []*writeReq, savepoints bool) bool {
	var pending []*writeReq
	for _, r := range batch {
		if !r.done {
			pending = append(pending, r)
		}
	}
	finish := func(err error) {
		for _, r := range pending {
			if !r.done {
				r.done, r.err = true, err
			}
		}
	}
	// The batch outlives any one request, so it runs under its own context;
	// each transaction's statements run under its request's context.
	bg := context.Background()
	sqlTx, err := s.w.BeginTx(bg, nil)
	if err != nil {
		finish(storeErr("begin a transaction", err))
		return true
	}
	seq, last := s.seq, s.last
	var ok []*writeReq // the transactions to be committed
	var failed []*writeReq
	b := &batchState{tx: sqlTx, queued: s.qlen}
	// A lone transaction needs no savepoint: if it fails, the SQLite
	// transaction is rolled back whole.
	savepoints = savepoints && len(pending) > 1
	for i, r := range pending {
		if err := r.ctx.Err(); err != nil {
			r.done, r.err = true, err
			continue
		}
		if savepoints {
			if _, err := sqlTx.ExecContext(bg, `SAVEPOINT w`); err != nil {
				sqlTx.Rollback()
				finish(storeErr("begin a transaction", err))
				return true
			}
		}
		t := &tx{s: s, b: b, tx: sqlTx, seq: seq, last: last, queued: b.queued}
		r.err, r.panicked = runFn(r.ctx, t, r.fn)
		if r.err == nil && r.panicked == nil {
			if savepoints {
				if _, err := sqlTx.ExecContext(bg, `RELEASE w`); err != nil {
					sqlTx.Rollback()
					finish(storeErr("write", err))
					return true
				}
			}
			seq, last = t.seq, t.last
			b.keep(t)
			ok = append(ok, r)
			continue
		}
		switch {
		case savepoints:
			r.done = true
			_, err = sqlTx.ExecContext(bg, `ROLLBACK TO w`)
			if err == nil {
				_, err = sqlTx.ExecContext(bg, `RELEASE w`)
			}
			if err != nil {
				// SQLite rolls a whole transaction back on some failures
				// (a full disk, an I/O error): nothing of the batch is kept.
				sqlTx.Rollback()
				finish(storeErr("write", err))
				return true
			}
		case !t.wrote:
			// Nothing to undo. Its outcome stands once the batch is
			// committed: run again, it would meet another state.
			failed = append(failed, r)
		case len(ok) == 0:
			// Nothing before it to keep: roll back, and run the rest
			// afresh.
			sqlTx.Rollback()
			r.done = true
			for _, f := range failed {
				f.done = true
			}
			if i+1 < len(pending) {
				return s.runGroup(pending[i+1:], false)
			}
			return true
		default:
			sqlTx.Rollback()
			return false
		}
	}
	if err := b.flushCounts(bg, s); err != nil {
		sqlTx.Rollback()
		finish(err)
		return true
	}
	// Searches plan with the batch's date statistics from before they
	// can see its rows.
	s.dates.publish(b.dates)
	gen, err := s.sync.commit(sqlTx)
	if err != nil {
		finish(storeErr("commit", err))
		return true
	}
	s.committed()
	for k, st := range b.dates {
		s.datesCommitted[k] = s.datesCommitted[k].merge(st)
	}
	s.seq, s.last = seq, last
	s.setQueued(b.queued)
	for _, r := range ok {
		r.done, r.gen = true, gen
	}
	for _, r := range failed {
		r.done, r.gen = true, gen
	}
	finish(nil)
	return true
}

// runFn runs one transaction's function, turning a panic into a value to
// re-raise in the caller's goroutine.
func runFn(ctx context.Context, t *tx, fn func(engine.Tx) error) (err error, panicked any) {
	defer func() {
		if v := recover(); v != nil {
			panicked = v
		}
	}()
	if err := fn(t); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !fhir.IsKind(err, fhir.KindConflict) {
			// The request ended while it wrote: a cancellation, not a
			// store failure.
			return ctxErr, nil
		}
		return err, nil
	}
	return nil, nil
}

// tx is one write transaction of a batch. It takes sequence numbers and
// times from the batch's counters and hands them back when it succeeds.
type tx struct {
	s    *Store
	b    *batchState
	tx   *sql.Tx
	seq  int64
	last time.Time
	now  time.Time
	// counts are the transaction's changes to typecount and paramcount,
	// not written yet; flushed says it wrote those of the batch.
	counts  counts
	flushed bool
	// dates are the date statistics t wrote to datestat.
	dates map[int64]dateStat
	// wrote says t changed the database: if it fails, only a rollback
	// undoes it (see runBatch).
	wrote bool
	// queued is the length of the index queue, t's entries included.
	queued int64
}

// batchState is what the transactions of a batch share: the statements
// bound to the SQLite transaction, and the changes to typecount and
// paramcount of those that succeeded, written once before the commit
// (one upsert a parameter per batch rather than per transaction).
type batchState struct {
	tx     *sql.Tx
	stmts  map[*sql.Stmt]*sql.Stmt
	counts counts
	// dates are the date statistics the succeeded transactions wrote.
	dates map[int64]dateStat
	// queued is the length of the index queue after the succeeded
	// transactions.
	queued int64
}

// counts are changes to the live resources of each type and of each
// search parameter key.
type counts struct {
	types  map[fhir.ResourceType]int64
	params map[int64]int64
}

func (c *counts) add(o *counts) {
	for typ, n := range o.types {
		c.addType(typ, n)
	}
	for k, n := range o.params {
		c.addParam(k, n)
	}
}

func (c *counts) addType(typ fhir.ResourceType, n int64) {
	if c.types == nil {
		c.types = map[fhir.ResourceType]int64{}
	}
	c.types[typ] += n
}

func (c *counts) addParam(k, n int64) {
	if c.params == nil {
		c.params = map[int64]int64{}
	}
	c.params[k] += n
}

// write writes the counts through the batch's statements and clears them.
func (c *counts) write(ctx context.Context, s *Store, b *batchState) error {
	for typ, n := range c.types {
		if n != 0 {
			if _, err := b.stmt(ctx, s.st.addTypeCount).ExecContext(ctx, string(typ), n); err != nil {
				return storeErr("write", err)
			}
		}
	}
	for k, n := range c.params {
		if n != 0 {
			if _, err := b.stmt(ctx, s.st.addParamCount).ExecContext(ctx, k, n); err != nil {
				return storeErr("write", err)
			}
		}
	}
	clear(c.types)
	clear(c.params)
	return nil
}

// keep takes the counts of t, which succeeded, into the batch's.
func (b *batchState) keep(t *tx) {
	if t.flushed {
		// t wrote the batch's counts, and its savepoint is released.
		clear(b.counts.types)
		clear(b.counts.params)
	}
	b.counts.add(&t.counts)
	b.queued = t.queued
	for k, st := range t.dates {
		if b.dates == nil {
			b.dates = map[int64]dateStat{}
		}
		b.dates[k] = b.dates[k].merge(st)
	}
}

func (b *batchState) flushCounts(ctx context.Context, s *Store) error {
	return b.counts.write(ctx, s, b)
}

// flushCounts writes the counts of the batch so far and of t, so that a
// search inside t sees them. The batch's stay pending until t succeeds:
// if it fails, the rollback of its savepoint or of the batch (see
// runBatch) undoes the writing.
func (t *tx) flushCounts(ctx context.Context) error {
	if len(t.b.counts.types)+len(t.b.counts.params)+len(t.counts.types)+len(t.counts.params) > 0 {
		t.wrote = true
	}
	if !t.flushed {
		pending := counts{types: maps.Clone(t.b.counts.types), params: maps.Clone(t.b.counts.params)}
		if err := pending.write(ctx, t.s, t.b); err != nil {
			return err
		}
		t.flushed = true
	}
	return t.counts.write(ctx, t.s, t.b)
}

// countType records a change of the live resources of typ.
func (t *tx) countType(typ fhir.ResourceType, n int64) { t.counts.addType(typ, n) }

// countParam records a change of the resources with a value of the
// parameter keyed k.
func (t *tx) countParam(k, n int64) { t.counts.addParam(k, n) }

// stmt returns st bound to the transaction.
func (t *tx) stmt(ctx context.Context, st *sql.Stmt) *sql.Stmt { return t.b.stmt(ctx, st) }

// stmt returns st bound to the batch's SQLite transaction.
func (b *batchState) stmt(ctx context.Context, st *sql.Stmt) *sql.Stmt {
	if bound, ok := b.stmts[st]; ok {
		return bound
	}
	if b.stmts == nil {
		b.stmts = map[*sql.Stmt]*sql.Stmt{}
	}
	bound := b.tx.StmtContext(ctx, st)
	b.stmts[st] = bound
	return bound
}

func (t *tx) Read(ctx context.Context, typ fhir.ResourceType, id fhir.ID) (*fhir.Resource, error) {
	return read(ctx, t.stmt(ctx, t.s.st.wReadCurrent), typ, id)
}

func (t *tx) Search(ctx context.Context, q *search.Query) (*engine.SearchResult, error) {
	// The search reads what the batch has not written yet: the queued
	// search values and the counts.
	if err := t.drain(ctx); err != nil {
		return nil, err
	}
	if err := t.flushCounts(ctx); err != nil {
		return nil, err
	}
	return find(ctx, t.s, t.tx, q)
}

// Now returns one time for the whole transaction: the wall clock at
// millisecond precision, but never before the last time stored, so that
// lastUpdated never decreases along the sequence of versions.
func (t *tx) Now() time.Time {
	if t.now.IsZero() {
		t.now = time.Now().UTC().Truncate(time.Millisecond)
		if t.now.Before(t.last) {
			t.now = t.last
		}
	}
	return t.now
}

// Put stores r as the new current version: a new resource row for version
// 1, otherwise an update guarded by the previous version number, so that
// a version that does not follow the current one is a conflict.
func (t *tx) Put(ctx context.Context, r *fhir.Resource, idx *search.Index) error {
	if r.Version < 1 {
		return fhir.Errorf(fhir.KindConflict, "version %d of %s is not a version number", r.Version, r.Ref())
	}
	if r.LastUpdated.Before(t.last) {
		return fhir.Internal("the store failed to write", errors.New("lastUpdated before the last stored time"))
	}
	// The statements of a put are short: the caller's cancellation is
	// checked once, here, rather than watched during each of them (the
	// driver watches a context that can end with a goroutine a statement:
	// 2 - 3% of a bulk load's CPU).
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	wrote := t.wrote
	t.wrote = true
	seq := t.seq + 1
	var rid int64
	wasLive := false
	if r.Version == 1 {
		res, err := t.stmt(ctx, t.s.st.insertResource).ExecContext(ctx,
			string(r.Type), string(r.ID), seq, r.Deleted, r.LastUpdated.UnixMilli(), refKey(r.Type, r.ID))
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
			t.wrote = wrote // the statement failed whole: nothing written
			return fhir.Errorf(fhir.KindConflict, "version 1 of %s cannot be written: the resource exists", r.Ref())
		}
		if err == nil {
			rid, err = res.LastInsertId()
		}
		if err != nil {
			return storeErr("write", err)
		}
	} else {
		var version int64
		var deleted bool
		err := t.stmt(ctx, t.s.st.current).QueryRowContext(ctx, string(r.Type), string(r.ID)).Scan(&rid, &version, &deleted)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && version != r.Version-1) {
			t.wrote = wrote // a read only so far
			return fhir.Errorf(fhir.KindConflict, "version %d of %s does not follow the current version", r.Version, r.Ref())
		}
		if err != nil {
			return storeErr("write", err)
		}
		if _, err := t.stmt(ctx, t.s.st.updateResource).ExecContext(ctx,
			r.Version, seq, r.Deleted, r.LastUpdated.UnixMilli(), rid, version); err != nil {
			return storeErr("write", err)
		}
		wasLive = !deleted
	}
	switch {
	case wasLive && r.Deleted:
		t.countType(r.Type, -1)
	case !wasLive && !r.Deleted:
		t.countType(r.Type, 1)
	}
	var body any
	if !r.Deleted {
		body = r.Body
	}
	if _, err := t.stmt(ctx, t.s.st.insertVersion).ExecContext(ctx,
		seq, rid, string(r.Type), r.Version, r.LastUpdated.UnixMilli(), string(r.Method), body); err != nil {
		return storeErr("write", err)
	}
	if err := t.index(ctx, rid, r, idx, !wasLive); err != nil {
		return err
	}
	t.seq, t.last = seq, r.LastUpdated
	return nil
}

// index replaces the search values of resource rid: the previous
// version's rows go (a new or deleted resource has none: fresh), and those
// of idx come, unless r is a deletion. The rows are queued (queue.go),
// unless the store writes them directly during a bulk load.
func (t *tx) index(ctx context.Context, rid int64, r *fhir.Resource, idx *search.Index, fresh bool) error {
	t.wrote = true
	if r.Deleted {
		idx = nil
	}
	if t.s.direct.Load() {
		return t.indexDirect(ctx, rid, idx, r.Type, fresh)
	}
	var e entryRows
	if idx != nil {
		w := indexWriter{
			exec:  func(_ context.Context, table string, rows [][]any) error { return e.add(table, rows) },
			dates: func(k int64, n int, span int64) error { return t.noteDates(ctx, k, n, span) },
		}
		if err := w.write(ctx, rid, r.Type, idx); err != nil {
			return storeErr("index", err)
		}
	}
	if fresh && len(e.buf) == 0 {
		return nil // nothing to remove, nothing to add
	}
	return t.enqueue(ctx, rid, fresh, e.buf)
}

// indexDirect writes the search values of resource rid into the value
// tables at once, after what is queued.
func (t *tx) indexDirect(ctx context.Context, rid int64, idx *search.Index, typ fhir.ResourceType, fresh bool) error {
	if err := t.drain(ctx); err != nil {
		return err
	}
	if !fresh {
		for _, table := range valueTables {
			if err := t.b.unindex(ctx, t.s, &t.counts, table, rid); err != nil {
				return storeErr("index", err)
			}
		}
	}
	if idx == nil {
		return nil
	}
	w := indexWriter{
		exec: func(ctx context.Context, table string, rows [][]any) error {
			return t.b.insertRows(ctx, t.s, table, rows)
		},
		counted: func(k int64) { t.countParam(k, 1) },
		dates:   func(k int64, n int, span int64) error { return t.noteDates(ctx, k, n, span) },
	}
	return storeErr("index", w.write(ctx, rid, typ, idx))
}
