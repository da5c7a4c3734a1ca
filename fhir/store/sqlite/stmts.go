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
	sqlInsertResource = `INSERT INTO resource (type, id, version, seq, deleted) VALUES (?, ?, 1, ?, ?) RETURNING rid`
	sqlUpdateResource = `UPDATE resource SET version = ?, seq = ?, deleted = ?
		WHERE type = ? AND id = ? AND version = ? RETURNING rid`
	sqlInsertVersion = `INSERT INTO version (seq, rid, type, version, updated, method, body) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlDeleteTokens  = `DELETE FROM token WHERE rid = ?`
	sqlInsertToken   = `INSERT INTO token (rid, type, param, system, code) VALUES (?, ?, ?, ?, ?)`
)

// statements holds the prepared statements: reads on the read pool,
// writes (and reads inside write transactions) on the write connection.
type statements struct {
	readCurrent, readVersion *sql.Stmt // read pool

	wReadCurrent, insertResource, updateResource, insertVersion, deleteTokens, insertToken *sql.Stmt
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		db   *sql.DB
		dst  **sql.Stmt
		text string
	}{
		{s.r, &s.st.readCurrent, sqlReadCurrent},
		{s.r, &s.st.readVersion, sqlReadVersion},
		{s.w, &s.st.wReadCurrent, sqlReadCurrent},
		{s.w, &s.st.insertResource, sqlInsertResource},
		{s.w, &s.st.updateResource, sqlUpdateResource},
		{s.w, &s.st.insertVersion, sqlInsertVersion},
		{s.w, &s.st.deleteTokens, sqlDeleteTokens},
		{s.w, &s.st.insertToken, sqlInsertToken},
	} {
		st, err := p.db.PrepareContext(ctx, p.text)
		if err != nil {
			return fmt.Errorf("sqlite: prepare statements: %w", err)
		}
		*p.dst = st
	}
	return nil
}

func (st *statements) close() {
	for _, s := range []*sql.Stmt{st.readCurrent, st.readVersion, st.wReadCurrent, st.insertResource,
		st.updateResource, st.insertVersion, st.deleteTokens, st.insertToken} {
		if s != nil {
			s.Close()
		}
	}
}
