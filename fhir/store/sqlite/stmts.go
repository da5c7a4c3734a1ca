package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// The statements of the hot paths, prepared once: compiling SQL costs as
// much as running these small statements.
const (
	sqlReadCurrent = `SELECT r.version, r.deleted, v.updated, v.method, v.body
		FROM resource r JOIN version v ON v.seq = r.seq
		WHERE r.type = ? AND r.id = ?`
	sqlReadVersion = `SELECT v.updated, v.method, v.body
		FROM resource r JOIN version v ON v.rid = r.rid AND v.version = ?
		WHERE r.type = ? AND r.id = ?`
	// The writes return nothing (RETURNING): SQLite runs a RETURNING
	// clause as a trigger, and a statement with a trigger keeps a statement
	// journal, whose closing walks the whole sub-journal of the enclosing
	// savepoint: quadratic in the size of a large transaction in a group
	// commit.
	sqlInsertResource = `INSERT INTO resource (type, id, version, seq, deleted, updated, h) VALUES (?, ?, 1, ?, ?, ?, ?)`
	sqlUpdateResource = `UPDATE resource SET version = ?, seq = ?, deleted = ?, updated = ? WHERE rid = ? AND version = ?`
	sqlInsertVersion  = `INSERT INTO version (seq, rid, type, version, updated, method, body) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlAddTypeCount   = `INSERT INTO typecount (type, n) VALUES (?, ?) ON CONFLICT (type) DO UPDATE SET n = n + excluded.n`
	sqlAddParamCount  = `INSERT INTO paramcount (k, n) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = n + excluded.n`
	sqlCurrent        = `SELECT rid, version, deleted FROM resource WHERE type = ? AND id = ?`
	sqlReadSetting    = `SELECT value FROM setting WHERE key = ?`
	sqlPutSetting     = `INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	sqlDeleteSetting  = `DELETE FROM setting WHERE key = ?`
	sqlEnqueue        = `INSERT INTO index_queue (rid, fresh, rows) VALUES (?, ?, ?)`
	sqlQueued         = `SELECT rid, fresh, rows FROM index_queue ORDER BY n`
	sqlClearQueue     = `DELETE FROM index_queue`
	sqlNoteDates      = `INSERT INTO datestat (k, span, multi) VALUES (?, ?, ?)
		ON CONFLICT (k) DO UPDATE SET span = max(span, excluded.span), multi = max(multi, excluded.multi)`
)

// statements holds the prepared statements: reads on the read pool,
// writes (and reads inside write transactions) on the write connection.
type statements struct {
	readCurrent, readVersion, readSetting *sql.Stmt // read pool

	wReadCurrent, insertResource, updateResource, insertVersion *sql.Stmt
	addTypeCount, addParamCount, current                        *sql.Stmt
	putSetting, deleteSetting, noteDates                        *sql.Stmt
	enqueue, queued, clearQueue                                 *sql.Stmt
	// insert[table][i] inserts 1<<i rows into a value table; delete
	// deletes a resource's rows from it, counted lists the parameters of
	// those rows that paramcount counts.
	insert  map[string][]*sql.Stmt
	delete  map[string]*sql.Stmt
	counted map[string]*sql.Stmt
}

func (s *Store) prepare(ctx context.Context) error {
	s.st.insert, s.st.delete, s.st.counted = map[string][]*sql.Stmt{}, map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	type prep struct {
		db   *sql.DB
		dst  **sql.Stmt
		text string
	}
	list := []prep{
		{s.r, &s.st.readCurrent, sqlReadCurrent},
		{s.r, &s.st.readVersion, sqlReadVersion},
		{s.r, &s.st.readSetting, sqlReadSetting},
		{s.w, &s.st.wReadCurrent, sqlReadCurrent},
		{s.w, &s.st.insertResource, sqlInsertResource},
		{s.w, &s.st.updateResource, sqlUpdateResource},
		{s.w, &s.st.insertVersion, sqlInsertVersion},
		{s.w, &s.st.addTypeCount, sqlAddTypeCount},
		{s.w, &s.st.addParamCount, sqlAddParamCount},
		{s.w, &s.st.current, sqlCurrent},
		{s.w, &s.st.putSetting, sqlPutSetting},
		{s.w, &s.st.deleteSetting, sqlDeleteSetting},
		{s.w, &s.st.noteDates, sqlNoteDates},
		{s.w, &s.st.enqueue, sqlEnqueue},
		{s.w, &s.st.queued, sqlQueued},
		{s.w, &s.st.clearQueue, sqlClearQueue},
	}
	ins := make([][maxChunk + 1]*sql.Stmt, len(valueTables))
	del := make([]*sql.Stmt, len(valueTables))
	counted := make([]*sql.Stmt, len(valueTables))
	for i, t := range valueTables {
		for n := range maxChunk + 1 {
			list = append(list, prep{s.w, &ins[i][n], insertSQL(t, 1<<n)})
		}
		list = append(list, prep{s.w, &del[i], deleteSQL[t]}, prep{s.w, &counted[i], countedSQL[t]})
	}
	for _, p := range list {
		st, err := p.db.PrepareContext(ctx, p.text)
		if err != nil {
			return fmt.Errorf("sqlite: prepare statements: %w", err)
		}
		*p.dst = st
	}
	for i, t := range valueTables {
		s.st.insert[t], s.st.delete[t], s.st.counted[t] = ins[i][:], del[i], counted[i]
	}
	return nil
}

func (st *statements) close() {
	all := []*sql.Stmt{st.readCurrent, st.readVersion, st.wReadCurrent, st.insertResource,
		st.updateResource, st.insertVersion, st.addTypeCount, st.addParamCount, st.current,
		st.readSetting, st.putSetting, st.deleteSetting, st.noteDates, st.enqueue, st.queued, st.clearQueue}
	for _, l := range st.insert {
		all = append(all, l...)
	}
	for _, s := range st.delete {
		all = append(all, s)
	}
	for _, s := range st.counted {
		all = append(all, s)
	}
	for _, s := range all {
		if s != nil {
			s.Close()
		}
	}
}
