package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Write runs fn in one SQLite transaction on the write connection.
func (s *Store) Write(ctx context.Context, fn func(tx engine.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return storeErr("begin a transaction", err)
	}
	// Roll back whatever way fn ends, a panic included, so that the one
	// write connection is never left in an open transaction; after a
	// commit this does nothing.
	defer sqlTx.Rollback()
	tx := &tx{s: s, tx: sqlTx, seq: s.seq, last: s.last}
	if err := fn(tx); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The context ended first and database/sql rolled the
			// transaction back: a cancellation, not a store failure.
			return ctxErr
		}
		return storeErr("commit", err)
	}
	s.seq, s.last = tx.seq, tx.last
	return nil
}

// tx is a write transaction. It takes sequence numbers and times from the
// store's counters and hands them back on commit.
type tx struct {
	s    *Store
	tx   *sql.Tx
	seq  int64
	last time.Time
	now  time.Time
}

func (t *tx) Read(ctx context.Context, typ fhir.ResourceType, id fhir.ID) (*fhir.Resource, error) {
	return read(ctx, t.tx.StmtContext(ctx, t.s.st.wReadCurrent), typ, id)
}

func (t *tx) Search(ctx context.Context, q *search.Query, limit int) ([]*fhir.Resource, error) {
	return find(ctx, t.tx, q, limit)
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
	seq := t.seq + 1
	var rid int64
	var err error
	if r.Version == 1 {
		err = t.tx.StmtContext(ctx, t.s.st.insertResource).QueryRowContext(ctx,
			string(r.Type), string(r.ID), seq, r.Deleted).Scan(&rid)
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
			return fhir.Errorf(fhir.KindConflict, "version 1 of %s cannot be written: the resource exists", r.Ref())
		}
	} else {
		err = t.tx.StmtContext(ctx, t.s.st.updateResource).QueryRowContext(ctx,
			r.Version, seq, r.Deleted, string(r.Type), string(r.ID), r.Version-1).Scan(&rid)
		if errors.Is(err, sql.ErrNoRows) {
			return fhir.Errorf(fhir.KindConflict, "version %d of %s does not follow the current version", r.Version, r.Ref())
		}
	}
	if err != nil {
		return storeErr("write", err)
	}
	var body any
	if !r.Deleted {
		body = r.Body
	}
	if _, err := t.tx.StmtContext(ctx, t.s.st.insertVersion).ExecContext(ctx,
		seq, rid, string(r.Type), r.Version, r.LastUpdated.UnixMilli(), string(r.Method), body); err != nil {
		return storeErr("write", err)
	}
	if err := t.index(ctx, rid, r, idx, r.Version == 1); err != nil {
		return err
	}
	t.seq, t.last = seq, r.LastUpdated
	return nil
}

// index replaces the search values of resource rid.
func (t *tx) index(ctx context.Context, rid int64, r *fhir.Resource, idx *search.Index, fresh bool) error {
	if !fresh {
		if _, err := t.tx.StmtContext(ctx, t.s.st.deleteTokens).ExecContext(ctx, rid); err != nil {
			return storeErr("index", err)
		}
	}
	if idx == nil || r.Deleted || len(idx.Tokens) == 0 {
		return nil
	}
	ins := t.tx.StmtContext(ctx, t.s.st.insertToken)
	for _, tok := range idx.Tokens {
		if _, err := ins.ExecContext(ctx, rid, string(r.Type), tok.Param, tok.System, tok.Code); err != nil {
			return storeErr("index", err)
		}
	}
	return nil
}
