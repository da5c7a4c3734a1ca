package sqlite

import (
	"context"
	"database/sql"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// schemaVersion is stored in PRAGMA user_version; migrations bring older
// databases up to it.
const schemaVersion = 6

// migration brings a database from the schema before it to the next: its
// SQL, then its Go step (nil when the SQL suffices), in one transaction.
type migration struct {
	sql  string
	step func(ctx context.Context, tx *sql.Tx) error
}

var migrations = []migration{
	// 1: resources, versions, token index.
	{sql: `CREATE TABLE resource (
		rid     INTEGER PRIMARY KEY,
		type    TEXT NOT NULL,
		id      TEXT NOT NULL,
		version INTEGER NOT NULL,
		seq     INTEGER NOT NULL,
		deleted INTEGER NOT NULL,
		UNIQUE (type, id)
	);
	CREATE TABLE version (
		seq     INTEGER PRIMARY KEY,
		rid     INTEGER NOT NULL,
		type    TEXT NOT NULL,
		version INTEGER NOT NULL,
		updated INTEGER NOT NULL,
		method  TEXT NOT NULL,
		body    BLOB,
		UNIQUE (rid, version)
	);
	CREATE INDEX version_type ON version (type, seq);
	CREATE INDEX version_updated ON version (updated);
	CREATE TABLE token (
		rid    INTEGER NOT NULL,
		type   TEXT NOT NULL,
		param  TEXT NOT NULL,
		system TEXT NOT NULL,
		code   TEXT NOT NULL
	);
	CREATE INDEX token_value ON token (type, param, code, system, rid);
	CREATE INDEX token_rid ON token (rid);`},

	// 2: the search index of every value kind, per-type and per-parameter
	// counts, the resource columns searches need, and server settings.
	{sql: schema2, step: migrate2},
	// 3: the shape of each date parameter's values (see datestat.go).
	{sql: `CREATE TABLE datestat (k INTEGER PRIMARY KEY, span REAL NOT NULL, multi INTEGER NOT NULL);
	INSERT INTO datestat (k, span, multi)
		SELECT k, max(CAST(hi AS REAL) - lo), count(*) > count(DISTINCT rid) FROM date GROUP BY k;`},
	// 4: no index on sv alone. A code in a system is found through the
	// index on its code (v), whose entries hold sv too, being the table's
	// key (token) or checked in the row (comp). The index cost a b-tree
	// insert at a random place for every token a resource has (6.1 for
	// a Synthea resource; docs/performance.md).
	{sql: `DROP INDEX IF EXISTS token_sv; DROP INDEX IF EXISTS comp_sv;`},
	// The search indexes a bulk load dropped, to build at its end (see
	// DeferIndexes).
	{sql: `CREATE TABLE deferred_index (name TEXT PRIMARY KEY, sql TEXT NOT NULL) WITHOUT ROWID;`},
	// 6: the search values of writes, queued for the value tables (see
	// queue.go).
	{sql: `CREATE TABLE index_queue (n INTEGER PRIMARY KEY, rid INTEGER NOT NULL, fresh INTEGER NOT NULL, rows BLOB NOT NULL);`},
}

// schema2 is the search index. Every value row is keyed by the rid of its
// resource and holds the values of current, not deleted versions only.
// Parameters are named by k, a hash of (resource type, parameter code)
// (see keys.go), so that one index range holds one parameter of one type.
// Column f marks, among the rows of one resource and parameter, the row
// with the lowest sort key (bit 1) and the one with the highest (bit 2):
// bit 1 also counts the resource once in paramcount, and both let a sort
// walk an index in order, meeting each resource once.
//
// typecount holds the live resources of each type, paramcount those with
// a value for each parameter (by k). Writes keep them (tx.counts), not
// triggers: a trigger makes SQLite journal every page an insert touches,
// statement by statement, which costs more than the insert.
var schema2 = `
	ALTER TABLE token RENAME TO token_v1;
	ALTER TABLE resource ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE resource ADD COLUMN h INTEGER NOT NULL DEFAULT 0;
	UPDATE resource SET updated = (SELECT updated FROM version WHERE version.seq = resource.seq);
	CREATE INDEX resource_live ON resource (type, rid) WHERE deleted = 0;
	CREATE INDEX resource_updated ON resource (type, updated, rid) WHERE deleted = 0;
	CREATE INDEX resource_h ON resource (h, type) WHERE deleted = 0;

	CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
	CREATE TABLE typecount (type TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
	CREATE TABLE paramcount (k INTEGER PRIMARY KEY, n INTEGER NOT NULL);

	-- token: v = hash(type, param, code), sv = hash(type, param, system,
	-- code), s = hash(type, param, system); code for sorting.
	CREATE TABLE token (
		rid  INTEGER NOT NULL,
		k    INTEGER NOT NULL,
		v    INTEGER NOT NULL,
		sv   INTEGER NOT NULL,
		s    INTEGER NOT NULL,
		code TEXT NOT NULL,
		f    INTEGER NOT NULL,
		PRIMARY KEY (rid, sv)
	) WITHOUT ROWID;
	CREATE INDEX token_v ON token (v, rid);
	CREATE INDEX token_sv ON token (sv, rid);
	CREATE INDEX token_s ON token (s, rid);

	-- string: value folded, exact as written. Token texts (:text) are
	-- strings of a derived parameter.
	CREATE TABLE string (
		rid   INTEGER NOT NULL,
		k     INTEGER NOT NULL,
		value TEXT NOT NULL,
		exact TEXT NOT NULL,
		f     INTEGER NOT NULL,
		PRIMARY KEY (rid, k, exact)
	) WITHOUT ROWID;
	CREATE INDEX string_value ON string (k, value, rid, f);

	-- date: [lo, hi) in Unix milliseconds.
	CREATE TABLE date (
		rid INTEGER NOT NULL,
		k   INTEGER NOT NULL,
		lo  INTEGER NOT NULL,
		hi  INTEGER NOT NULL,
		f   INTEGER NOT NULL,
		PRIMARY KEY (rid, k, lo, hi)
	) WITHOUT ROWID;
	CREATE INDEX date_lo ON date (k, lo, rid, f);
	CREATE INDEX date_hi ON date (k, hi, rid, f);

	CREATE TABLE number (
		rid INTEGER NOT NULL,
		k   INTEGER NOT NULL,
		lo  REAL NOT NULL,
		hi  REAL NOT NULL,
		f   INTEGER NOT NULL,
		PRIMARY KEY (rid, k, lo, hi)
	) WITHOUT ROWID;
	CREATE INDEX number_lo ON number (k, lo, rid, f);
	CREATE INDEX number_hi ON number (k, hi, rid, f);

	-- quantity: the value as written with its unit, and in the canonical
	-- unit (cc, clo, chi) when it converts (cc NULL otherwise).
	CREATE TABLE quantity (
		rid    INTEGER NOT NULL,
		k      INTEGER NOT NULL,
		lo     REAL NOT NULL,
		hi     REAL NOT NULL,
		system TEXT NOT NULL,
		code   TEXT NOT NULL,
		unit   TEXT NOT NULL,
		cc     TEXT,
		clo    REAL,
		chi    REAL,
		f      INTEGER NOT NULL
	);
	CREATE INDEX quantity_rid ON quantity (rid, k);
	CREATE INDEX quantity_lo ON quantity (k, lo, rid, f);
	CREATE INDEX quantity_hi ON quantity (k, hi, rid, f);
	CREATE INDEX quantity_c ON quantity (k, cc, clo, rid) WHERE cc IS NOT NULL;

	-- ref: th = hash(target type, id) (resource.h of the target), u =
	-- hash(URL); txt is the reference as written, for sorting.
	CREATE TABLE ref (
		rid INTEGER NOT NULL,
		k   INTEGER NOT NULL,
		th  INTEGER,
		u   INTEGER,
		ver TEXT NOT NULL,
		txt TEXT NOT NULL,
		f   INTEGER NOT NULL
	);
	CREATE INDEX ref_rid ON ref (rid, k, th, u);
	CREATE INDEX ref_th ON ref (k, th, rid) WHERE th IS NOT NULL;
	CREATE INDEX ref_u ON ref (k, u, rid) WHERE u IS NOT NULL;

	CREATE TABLE uri (
		rid   INTEGER NOT NULL,
		k     INTEGER NOT NULL,
		value TEXT NOT NULL,
		f     INTEGER NOT NULL,
		PRIMARY KEY (rid, k, value)
	) WITHOUT ROWID;
	CREATE INDEX uri_value ON uri (k, value, rid, f);

	-- comp: one row per component (i) of each composite value (e), with
	-- the columns of the component's kind t (see compKind) filled.
	CREATE TABLE comp (
		rid    INTEGER NOT NULL,
		k      INTEGER NOT NULL,
		e      INTEGER NOT NULL,
		i      INTEGER NOT NULL,
		t      INTEGER NOT NULL,
		v      INTEGER,
		sv     INTEGER,
		s      INTEGER,
		value  TEXT,
		exact  TEXT,
		lo     REAL,
		hi     REAL,
		system TEXT,
		code   TEXT,
		unit   TEXT,
		cc     TEXT,
		clo    REAL,
		chi    REAL,
		th     INTEGER,
		u      INTEGER,
		ver    TEXT,
		f      INTEGER NOT NULL
	);
	CREATE INDEX comp_rid ON comp (rid, k, e, i);
	CREATE INDEX comp_v ON comp (v, rid) WHERE v IS NOT NULL;
	CREATE INDEX comp_sv ON comp (sv, rid) WHERE sv IS NOT NULL;
`

// valueTables are the tables of search values.
var valueTables = []string{"token", "string", "date", "number", "quantity", "ref", "uri", "comp"}

// migrate2 fills what SQL cannot: the hashes of resources and the old
// token values in the new token table.
func migrate2(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT rid, type, id FROM resource`)
	if err != nil {
		return err
	}
	type res struct {
		rid int64
		typ fhir.ResourceType
		id  fhir.ID
	}
	var all []res
	for rows.Next() {
		var r res
		if err := rows.Scan(&r.rid, &r.typ, &r.id); err != nil {
			rows.Close()
			return err
		}
		all = append(all, r)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, r := range all {
		if _, err := tx.ExecContext(ctx, `UPDATE resource SET h = ? WHERE rid = ?`, refKey(r.typ, r.id), r.rid); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO typecount (type, n)
		SELECT type, count(*) FROM resource WHERE deleted = 0 GROUP BY type`); err != nil {
		return err
	}

	rows, err = tx.QueryContext(ctx, `SELECT t.rid, t.type, t.param, t.system, t.code FROM token_v1 t
		JOIN resource r ON r.rid = t.rid AND r.deleted = 0 ORDER BY t.rid`)
	if err != nil {
		return err
	}
	idx := map[int64]*search.Index{}
	types := map[int64]fhir.ResourceType{}
	var order []int64
	for rows.Next() {
		var rid int64
		var typ fhir.ResourceType
		var tok search.Token
		if err := rows.Scan(&rid, &typ, &tok.Param, &tok.System, &tok.Code); err != nil {
			rows.Close()
			return err
		}
		if idx[rid] == nil {
			idx[rid] = &search.Index{}
			types[rid] = typ
			order = append(order, rid)
		}
		idx[rid].Tokens = append(idx[rid].Tokens, tok)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	w := &indexWriter{exec: func(ctx context.Context, table string, rows [][]any) error {
		for _, args := range rows {
			if _, err := tx.ExecContext(ctx, insertSQL(table, 1), args...); err != nil {
				return err
			}
		}
		return nil
	}}
	for _, rid := range order {
		if err := w.write(ctx, rid, types[rid], idx[rid]); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO paramcount (k, n) SELECT k, count(*) FROM token WHERE f & 1 GROUP BY k;
		DROP TABLE token_v1`)
	return err
}
