package sqlitebench

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Schema mirrors the embedded store: a history table holding every version's
// body and a current-version table pointing at it.
const schema = `
CREATE TABLE IF NOT EXISTS history (
	seq INTEGER PRIMARY KEY,
	type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
	updated INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS current (
	type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, seq INTEGER NOT NULL,
	PRIMARY KEY (type, id)) WITHOUT ROWID;`

// Body is a Patient of about 2.5 KB, the size the targets name.
var Body = []byte(`{"resourceType":"Patient","id":"x","meta":{"versionId":"1"},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` + strings.Repeat("Peter James Chalmers ", 90) + `</div>"},"identifier":[{"use":"usual","system":"urn:oid:1.2.36.146.595.217.0.1","value":"12345"}],"active":true,"name":[{"use":"official","family":"Chalmers","given":["Peter","James"]}],"gender":"male","birthDate":"1974-12-25"}`)

// Open opens a database in a fresh directory with the pragmas the store uses,
// as the store does: one handle with a single connection for writes, one
// pool for reads. dsn builds the driver-specific data source name (with a
// busy timeout) from a file path.
func Open(tb testing.TB, driver string, dsn func(path string) string) (w, r *sql.DB) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "bench.db")
	w = open(tb, driver, dsn(path))
	w.SetMaxOpenConns(1)
	r = open(tb, driver, dsn(path))
	r.SetMaxOpenConns(8)
	return w, r
}

func open(tb testing.TB, driver, dsn string) *sql.DB {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, p := range []string{"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"} {
		if _, err := db.Exec(p); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := db.Exec(schema); err != nil {
		tb.Fatal(err)
	}
	return db
}

// Write stores version 1 of resource id in one transaction, as a create does.
func Write(db *sql.DB, id string) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.Exec(`INSERT INTO history(type,id,version,updated,body) VALUES('Patient',?,1,0,?)`, id, Body)
	if err != nil {
		return err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO current(type,id,version,seq) VALUES('Patient',?,1,?)`, id, seq); err != nil {
		return err
	}
	return tx.Commit()
}

// Read fetches the current body of resource id.
func Read(db *sql.DB, id string) ([]byte, error) {
	var body []byte
	err := db.QueryRow(`SELECT h.body FROM current c JOIN history h ON h.seq = c.seq WHERE c.type='Patient' AND c.id=?`, id).Scan(&body)
	return body, err
}

// indexSchema mirrors the store's search index tables that a Patient
// fills most: tokens (hashes, four b-trees) and strings (two).
const indexSchema = `
CREATE TABLE IF NOT EXISTS token (
	rid INTEGER NOT NULL, k INTEGER NOT NULL, v INTEGER NOT NULL, sv INTEGER NOT NULL,
	s INTEGER NOT NULL, code TEXT NOT NULL, f INTEGER NOT NULL,
	PRIMARY KEY (rid, sv)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS token_v ON token (v, rid);
CREATE INDEX IF NOT EXISTS token_sv ON token (sv, rid);
CREATE INDEX IF NOT EXISTS token_s ON token (s, rid);
CREATE TABLE IF NOT EXISTS string (
	rid INTEGER NOT NULL, k INTEGER NOT NULL, value TEXT NOT NULL, exact TEXT NOT NULL,
	f INTEGER NOT NULL, PRIMARY KEY (rid, k, exact)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS string_value ON string (k, value, rid, f);`

// The rows of each kind one indexed Patient writes (the R4 example
// Patient: 12 token values, 24 string values).
const tokenRows, stringRows = 12, 24

// Indexed writes resources with their search index rows through prepared
// statements, as the store does.
type Indexed struct {
	db                           *sql.DB
	history, current, tok, strng *sql.Stmt
}

// NewIndexed creates the index tables in db and prepares the statements.
func NewIndexed(db *sql.DB) (*Indexed, error) {
	if _, err := db.Exec(indexSchema); err != nil {
		return nil, err
	}
	x := &Indexed{db: db}
	for _, p := range []struct {
		dst  **sql.Stmt
		text string
	}{
		{&x.history, `INSERT INTO history(type,id,version,updated,body) VALUES('Patient',?,1,0,?)`},
		{&x.current, `INSERT INTO current(type,id,version,seq) VALUES('Patient',?,1,?)`},
		{&x.tok, `INSERT INTO token (rid, k, v, sv, s, code, f) VALUES (?, ?, ?, ?, ?, ?, 3)`},
		{&x.strng, `INSERT INTO string (rid, k, value, exact, f) VALUES (?, ?, ?, ?, 3)`},
	} {
		st, err := db.Prepare(p.text)
		if err != nil {
			return nil, err
		}
		*p.dst = st
	}
	return x, nil
}

// Write stores version 1 of resource n with its search index rows, in
// one transaction, as the store's create does.
func (x *Indexed) Write(n int64) error {
	tx, err := x.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := x.write(tx, n); err != nil {
		return err
	}
	return tx.Commit()
}

// WriteBulk stores resources from..to-1 in one transaction, as a group
// commit of bulk ingest does.
func (x *Indexed) WriteBulk(from, to int64) error {
	tx, err := x.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for n := from; n < to; n++ {
		if err := x.write(tx, n); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (x *Indexed) write(tx *sql.Tx, n int64) error {
	res, err := tx.Stmt(x.history).Exec(fmt.Sprint(n), Body)
	if err != nil {
		return err
	}
	rid, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if _, err := tx.Stmt(x.current).Exec(fmt.Sprint(n), rid); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	tok := tx.Stmt(x.tok)
	for i := range tokenRows {
		if _, err := tok.Exec(rid, i, rng.Int64(), rng.Int64(), rng.Int64(), fmt.Sprint("code", rng.IntN(50))); err != nil {
			return err
		}
	}
	str := tx.Stmt(x.strng)
	for i := range stringRows {
		v := fmt.Sprint("value", rng.IntN(5000))
		if _, err := str.Exec(rid, i%8, v, v+fmt.Sprint(i)); err != nil {
			return err
		}
	}
	return nil
}

// Run runs the write and read benchmarks for one driver.
func Run(b *testing.B, driver string, dsn func(path string) string) {
	b.Run("write-indexed", func(b *testing.B) {
		// A create with its search index: 38 rows in 6 more b-trees. CPU
		// bound (synchronous=NORMAL), where the drivers differ most.
		db, _ := Open(b, driver, dsn)
		x, err := NewIndexed(db)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		b.ReportAllocs()
		for b.Loop() {
			n++
			if err := x.Write(n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write-indexed-bulk", func(b *testing.B) {
		// The same creates, 500 to a transaction: the b-tree work of bulk
		// ingest, with commits amortised (ns/op is per create).
		db, _ := Open(b, driver, dsn)
		x, err := NewIndexed(db)
		if err != nil {
			b.Fatal(err)
		}
		const per = 500
		var n int64
		b.ReportAllocs()
		for b.Loop() {
			if err := x.WriteBulk(n, n+per); err != nil {
				b.Fatal(err)
			}
			n += per
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/create")
	})
	b.Run("write-sync-full", func(b *testing.B) {
		// synchronous=FULL: the WAL is synced on every commit, so a commit
		// survives power loss, not only a process crash.
		db, _ := Open(b, driver, dsn)
		if _, err := db.Exec("PRAGMA synchronous=FULL"); err != nil {
			b.Fatal(err)
		}
		var n int
		b.ReportAllocs()
		for b.Loop() {
			n++
			if err := Write(db, fmt.Sprint(n)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write", func(b *testing.B) {
		db, _ := Open(b, driver, dsn)
		var n int
		b.ReportAllocs()
		for b.Loop() {
			n++
			if err := Write(db, fmt.Sprint(n)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read-parallel", func(b *testing.B) {
		w, r := Open(b, driver, dsn)
		const rows = 10000
		for i := range rows {
			if err := Write(w, fmt.Sprint(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.SetParallelism(4)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := Read(r, fmt.Sprint(rand.IntN(rows))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("mixed-parallel", func(b *testing.B) {
		// Readers on 8 goroutines beside writers, as a server under load sees.
		w, r := Open(b, driver, dsn)
		const rows = 10000
		for i := range rows {
			if err := Write(w, fmt.Sprint(i)); err != nil {
				b.Fatal(err)
			}
		}
		var next atomic.Int64
		next.Store(rows)
		b.SetParallelism(4)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				var err error
				if i%5 == 0 {
					err = Write(w, fmt.Sprint(next.Add(1)))
				} else {
					_, err = Read(r, fmt.Sprint(rand.IntN(rows)))
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
