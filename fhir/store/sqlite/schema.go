package sqlite

// schemaVersion is stored in PRAGMA user_version; migrations bring older
// databases up to it.
const schemaVersion = 1

var migrations = []string{
	// 1: resources, versions, token index.
	`CREATE TABLE resource (
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
	CREATE INDEX token_rid ON token (rid);`,
}
