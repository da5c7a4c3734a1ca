package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Bulk loads: the search indexes built after the rows.
//
// An index of a value table that leads with the value (token_v,
// string_value, date_lo, ref_th, ...) receives each new row at a random
// place, so a large load dirties, and writes to the log, a page of each
// such index for nearly every row it adds. Built afterwards from the whole
// table, an index costs one sort and a sequential write instead. A load
// into a store that is small compared with what it loads therefore drops
// those indexes first (DeferIndexes) and builds them when it ends
// (BuildIndexes). The indexes that lead with rid stay: writes find the
// rows of a resource they replace through them, and they grow at their
// end anyway.
//
// The definitions of the dropped indexes are recorded in deferred_index
// in the transaction that drops them, and removed in the one that builds
// them again; a load that never ends (a crash, a kill) leaves a store that
// builds them when it next opens. Searches are answered all along, from
// the tables, only slower.

// DeferIndexes drops the value-ordered search indexes before a bulk load
// of about incoming bytes of resources, when the database is smaller than
// that; it reports whether it did. Whoever loads then calls BuildIndexes.
//
// Building the indexes afterwards sorts the rows already stored too, but
// costs far less per row than the random inserts it replaces: on 100
// Synthea bundles (96 MB, 26,077 resources) loaded into an empty store,
// the inserts cost 3.3 s more with the indexes in place than without, and
// building them took 0.9 - 1.25 s.
func (s *Store) DeferIndexes(ctx context.Context, incoming int64) (bool, error) {
	var size int64
	if err := s.w.QueryRowContext(ctx, `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&size); err != nil {
		return false, fmt.Errorf("sqlite: read the database size: %w", err)
	}
	if size > incoming {
		return false, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: defer indexes: %w", err)
	}
	defer tx.Rollback()
	defs, err := namedSQL(ctx, tx, `SELECT m.name, m.sql FROM sqlite_schema m
		WHERE m.type = 'index' AND m.sql IS NOT NULL AND m.tbl_name IN ('`+strings.Join(valueTables, "', '")+`')
		AND (SELECT i.name FROM pragma_index_info(m.name) i WHERE i.seqno = 0) <> 'rid'
		ORDER BY m.name`)
	if err != nil {
		return false, fmt.Errorf("sqlite: defer indexes: %w", err)
	}
	if len(defs) == 0 {
		return false, nil // deferred already, by a load that did not end
	}
	for _, d := range defs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO deferred_index (name, sql) VALUES (?, ?)`, d[0], d[1]); err != nil {
			return false, fmt.Errorf("sqlite: defer indexes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+d[0]+`"`); err != nil {
			return false, fmt.Errorf("sqlite: defer indexes: %w", err)
		}
	}
	if err := s.sync.commitSynced(tx); err != nil {
		return false, fmt.Errorf("sqlite: defer indexes: %w", err)
	}
	// Until BuildIndexes, writes put their values in the tables at once:
	// without the value indexes, that costs no more than queuing them.
	s.direct.Store(true)
	s.log.Info("search indexes deferred to the end of a bulk load", "indexes", len(defs), "database_bytes", size, "incoming_bytes", incoming)
	return true, nil
}

// BuildIndexes builds the indexes a bulk load deferred, in one
// transaction, and does nothing when none are.
func (s *Store) BuildIndexes(ctx context.Context) error {
	s.direct.Store(false)
	start := time.Now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: build indexes: %w", err)
	}
	defer tx.Rollback()
	defs, err := namedSQL(ctx, tx, `SELECT name, sql FROM deferred_index ORDER BY name`)
	if err != nil {
		return fmt.Errorf("sqlite: build indexes: %w", err)
	}
	if len(defs) == 0 {
		return nil
	}
	if err := s.createIndexes(ctx, tx, defs); err != nil {
		return err
	}
	s.committed()
	s.log.Info("search indexes built", "indexes", len(defs), "seconds", time.Since(start).Seconds())
	// The planner's statistics of the new indexes.
	return s.writeStats(ctx)
}

// createIndexes creates the deferred indexes defs (name, definition) and
// commits tx.
func (s *Store) createIndexes(ctx context.Context, tx *sql.Tx, defs [][2]string) error {
	for _, d := range defs {
		// A server of an earlier schema may have opened the store in
		// between; it does not know of the deferral, but neither does
		// it create indexes outside its migrations.
		q, ok := strings.CutPrefix(d[1], "CREATE INDEX ")
		if !ok {
			return fmt.Errorf("sqlite: build indexes: unexpected definition of %s", d[0])
		}
		if _, err := tx.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS "+q); err != nil {
			return fmt.Errorf("sqlite: build index %s: %w", d[0], err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM deferred_index`); err != nil {
		return fmt.Errorf("sqlite: build indexes: %w", err)
	}
	if err := s.sync.commitSynced(tx); err != nil {
		return fmt.Errorf("sqlite: build indexes: %w", err)
	}
	return nil
}

// namedSQL returns the rows (name, definition) of query.
func namedSQL(ctx context.Context, tx *sql.Tx, query string) ([][2]string, error) {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var defs [][2]string
	for rows.Next() {
		var d [2]string
		if err := rows.Scan(&d[0], &d[1]); err != nil {
			return nil, err
		}
		defs = append(defs, d)
	}
	return defs, rows.Err()
}
