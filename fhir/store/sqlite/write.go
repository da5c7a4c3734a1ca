package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

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
	return read(ctx, t.tx, typ, id)
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

func (t *tx) Put(ctx context.Context, r *fhir.Resource, idx *search.Index) error {
	var rid, cur int64
	err := t.tx.QueryRowContext(ctx, `SELECT rid, version FROM resource WHERE type = ? AND id = ?`, string(r.Type), string(r.ID)).Scan(&rid, &cur)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		cur = 0
	case err != nil:
		return storeErr("write", err)
	}
	if r.Version != cur+1 {
		return fhir.Errorf(fhir.KindConflict, "version %d of %s cannot follow version %d", r.Version, r.Ref(), cur)
	}
	t.seq++
	seq := t.seq
	if r.LastUpdated.Before(t.last) {
		return fhir.Internal("the store failed to write", errors.New("lastUpdated before the last stored time"))
	}
	t.last = r.LastUpdated
	if cur == 0 {
		err = t.tx.QueryRowContext(ctx, `INSERT INTO resource (type, id, version, seq, deleted) VALUES (?, ?, ?, ?, ?) RETURNING rid`,
			string(r.Type), string(r.ID), r.Version, seq, r.Deleted).Scan(&rid)
	} else {
		_, err = t.tx.ExecContext(ctx, `UPDATE resource SET version = ?, seq = ?, deleted = ? WHERE rid = ?`, r.Version, seq, r.Deleted, rid)
	}
	if err != nil {
		return storeErr("write", err)
	}
	var body any
	if !r.Deleted {
		body = r.Body
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO version (seq, rid, type, version, updated, method, body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		seq, rid, string(r.Type), r.Version, r.LastUpdated.UnixMilli(), string(r.Method), body); err != nil {
		return storeErr("write", err)
	}
	return t.index(ctx, rid, r, idx, cur == 0)
}

// index replaces the search values of resource rid.
func (t *tx) index(ctx context.Context, rid int64, r *fhir.Resource, idx *search.Index, fresh bool) error {
	if !fresh {
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM token WHERE rid = ?`, rid); err != nil {
			return storeErr("index", err)
		}
	}
	if idx == nil || r.Deleted {
		return nil
	}
	for _, tok := range idx.Tokens {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO token (rid, type, param, system, code) VALUES (?, ?, ?, ?, ?)`,
			rid, string(r.Type), tok.Param, tok.System, tok.Code); err != nil {
			return storeErr("index", err)
		}
	}
	return nil
}
