package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
)

// querier is what searches and histories need: the read pool, or a
// transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Read returns the current version of t/id.
func (s *Store) Read(ctx context.Context, t fhir.ResourceType, id fhir.ID) (*fhir.Resource, error) {
	r, err := read(ctx, s.st.readCurrent, t, id)
	return visible(s, r, err)
}

// visible returns what a read of the read pool found, once it is durable
// (see logSyncer.visible): found, or known to be absent.
func visible[T any](s *Store, v T, err error) (T, error) {
	if err != nil && !fhir.IsKind(err, fhir.KindNotFound) {
		return v, err
	}
	if serr := s.sync.visible(); serr != nil {
		var zero T
		return zero, storeErr("read", serr)
	}
	return v, err
}

// read runs sqlReadCurrent prepared on the read pool or in a transaction.
func read(ctx context.Context, st *sql.Stmt, t fhir.ResourceType, id fhir.ID) (*fhir.Resource, error) {
	r := &fhir.Resource{Type: t, ID: id}
	var updated int64
	var method string
	err := st.QueryRowContext(ctx, string(t), string(id)).Scan(&r.Version, &r.Deleted, &updated, &method, &r.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fhir.Errorf(fhir.KindNotFound, "%s/%s is not known", t, id)
	}
	if err != nil {
		return nil, storeErr("read", err)
	}
	r.LastUpdated = fromMillis(updated)
	r.Method = fhir.Method(method)
	return r, nil
}

// VRead returns one version of t/id.
func (s *Store) VRead(ctx context.Context, t fhir.ResourceType, id fhir.ID, version int64) (*fhir.Resource, error) {
	r, err := s.vread(ctx, t, id, version)
	return visible(s, r, err)
}

func (s *Store) vread(ctx context.Context, t fhir.ResourceType, id fhir.ID, version int64) (*fhir.Resource, error) {
	r := &fhir.Resource{Type: t, ID: id, Version: version}
	var updated int64
	var method string
	err := s.st.readVersion.QueryRowContext(ctx, version, string(t), string(id)).Scan(&updated, &method, &r.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fhir.Errorf(fhir.KindNotFound, "version %d of %s/%s is not known", version, t, id)
	}
	if err != nil {
		return nil, storeErr("read", err)
	}
	r.LastUpdated = fromMillis(updated)
	r.Method = fhir.Method(method)
	r.Deleted = r.Body == nil
	return r, nil
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
