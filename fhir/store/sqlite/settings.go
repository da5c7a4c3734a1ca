package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Setting returns the value of a server setting, "" when unset.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.st.readSetting.QueryRowContext(ctx, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return visible(s, v, storeErr("read a setting", err))
}

// PutSetting sets a server setting in the transaction; "" removes it.
func (t *tx) PutSetting(ctx context.Context, key, value string) error {
	t.wrote = true
	var err error
	if value == "" {
		_, err = t.stmt(ctx, t.s.st.deleteSetting).ExecContext(ctx, key)
	} else {
		_, err = t.stmt(ctx, t.s.st.putSetting).ExecContext(ctx, key, value)
	}
	return storeErr("write a setting", err)
}

// Reindex replaces the search values of r when it is the current, not
// deleted version of its resource, and does nothing otherwise (a newer
// version was indexed by its own write).
func (t *tx) Reindex(ctx context.Context, r *fhir.Resource, idx *search.Index) error {
	var rid, version int64
	var deleted bool
	err := t.stmt(ctx, t.s.st.current).QueryRowContext(ctx, string(r.Type), string(r.ID)).Scan(&rid, &version, &deleted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return storeErr("index", err)
	case version != r.Version || deleted:
		return nil
	}
	live := *r
	live.Deleted = false
	return t.index(ctx, rid, &live, idx, false)
}

// Settings returns every server setting, for a migration to another store.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	m, err := s.settings(ctx)
	return visible(s, m, err)
}

func (s *Store) settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM setting`)
	if err != nil {
		return nil, storeErr("read the settings", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, storeErr("read the settings", err)
		}
		out[k] = v
	}
	return out, storeErr("read the settings", rows.Err())
}
