package sqlite

import (
	"context"
	"fmt"
)

// SQLite's query planner chooses among indexes by statistics
// (sqlite_stat1), which it has only after ANALYZE; without them it assumes
// that one equality on an index's first column selects about ten rows, and
// may prefer a covering index on (k) to one on (rid, k) for a join on rid
// — a scan of a whole parameter per row. The store writes statistics of
// its own instead: the shape of each index on a large database (how many
// rows a value of its leading columns selects), the same whatever the
// data, so that plans are predictable and do not change as the data
// grows. The searches' own choices (which clause leads) come from bounded
// counts, not from these.
//
// Each entry is a table, an index (the table's name for the primary key of
// a WITHOUT ROWID table, "" for a rowid table's rows) and its statistics:
// rows, then the rows that one value of the first column selects, of the
// first two, and so on.
var indexStats = [][3]string{
	{"resource", "", "1000000"},
	{"resource", "sqlite_autoindex_resource_1", "1000000 50000 1"},
	{"resource", "resource_live", "1000000 50000 1"},
	{"resource", "resource_updated", "1000000 50000 2 1"},
	{"resource", "resource_h", "1000000 1 1"},
	{"version", "", "2000000"},
	{"version", "sqlite_autoindex_version_1", "2000000 2 1"},
	{"version", "version_type", "2000000 100000 1"},
	{"version", "version_updated", "2000000 2"},
	{"token", "token", "8000000 8 1"},
	{"token", "token_v", "8000000 200 1"},
	{"token", "token_s", "8000000 100000 1"},
	{"string", "string", "1000000 5 2 1"},
	{"string", "string_value", "1000000 50000 5 1 1"},
	{"date", "date", "2000000 2 1 1 1"},
	{"date", "date_lo", "2000000 200000 2 1 1"},
	{"date", "date_hi", "2000000 200000 2 1 1"},
	{"number", "number", "1000000 2 1 1 1"},
	{"number", "number_lo", "1000000 100000 2 1 1"},
	{"number", "number_hi", "1000000 100000 2 1 1"},
	{"quantity", "", "1000000"},
	{"quantity", "quantity_rid", "1000000 2 1"},
	{"quantity", "quantity_lo", "1000000 100000 2 1 1"},
	{"quantity", "quantity_hi", "1000000 100000 2 1 1"},
	{"quantity", "quantity_c", "1000000 100000 50000 2 1"},
	{"ref", "", "3000000"},
	{"ref", "ref_rid", "3000000 3 2 1 1"},
	{"ref", "ref_th", "3000000 300000 20 1"},
	{"ref", "ref_u", "3000000 300000 20 1"},
	{"uri", "uri", "1000000 2 1 1"},
	{"uri", "uri_value", "1000000 100000 5 1 1"},
	{"comp", "", "4000000"},
	{"comp", "comp_rid", "4000000 8 4 2 1"},
	{"comp", "comp_v", "4000000 200 1"},
}

// writeStats replaces SQLite's statistics with indexStats, at every
// Open (so that they follow the schema, and an ANALYZE run by hand does
// not change plans for good). ANALYZE of a small table creates
// sqlite_stat1 when it is missing; ANALYZE sqlite_schema makes the
// connection read the new statistics (others read them when they open).
func (s *Store) writeStats(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: write statistics: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`ANALYZE typecount`, `DELETE FROM sqlite_stat1`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlite: write statistics: %w", err)
		}
	}
	// Samples of ANALYZE (sqlite_stat4, when SQLite keeps them) would
	// override the statistics below for the indexes they cover.
	var stat4 int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'`).Scan(&stat4); err != nil {
		return fmt.Errorf("sqlite: write statistics: %w", err)
	}
	if stat4 > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sqlite_stat4`); err != nil {
			return fmt.Errorf("sqlite: write statistics: %w", err)
		}
	}
	for _, st := range indexStats {
		var idx any
		if st[1] != "" {
			idx = st[1]
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)`, st[0], idx, st[2]); err != nil {
			return fmt.Errorf("sqlite: write statistics: %w", err)
		}
	}
	if err := s.sync.commitSynced(tx); err != nil {
		return fmt.Errorf("sqlite: write statistics: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `ANALYZE sqlite_schema`); err != nil {
		return fmt.Errorf("sqlite: write statistics: %w", err)
	}
	return nil
}
