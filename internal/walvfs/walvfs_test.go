package walvfs_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/cpms-fhir/cpms/internal/walvfs"
)

// open opens path for writing through the VFS (as the store's writer does)
// and for reading through the unix VFS (as its readers do).
func open(t *testing.T, path string, extra string) (w, r *sql.DB) {
	t.Helper()
	if err := walvfs.Register(); err != nil {
		t.Fatal(err)
	}
	var err error
	w, err = sql.Open("sqlite", "file:"+path+"?vfs="+walvfs.Name+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"+extra)
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	if _, err := w.Exec(`CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, k TEXT, body BLOB)`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`CREATE INDEX IF NOT EXISTS t_k ON t (k)`); err != nil {
		t.Fatal(err)
	}
	r, err = sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return w, r
}

func insert(tx *sql.Tx, from, to, size int) error {
	for i := from; i < to; i++ {
		body := bytes.Repeat([]byte{byte(i)}, size)
		if _, err := tx.Exec(`INSERT INTO t (id, k, body) VALUES (?, ?, ?)`, i, fmt.Sprintf("k%08d", (i*7919)%100003), body); err != nil {
			return err
		}
	}
	return nil
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func integrity(t *testing.T, db *sql.DB) {
	t.Helper()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil {
		t.Fatal(err)
	}
	if res != "ok" {
		t.Fatalf("integrity_check: %s", res)
	}
}

// Each commit is visible to a reader on another connection and another VFS
// as soon as it returns, and its frames reach the file in a few calls:
// whether SQLite syncs the log at each commit (FULL) or not (NORMAL, where
// nothing but the commit's last frame tells the VFS to write its buffer).
func TestCommitsVisibleToReaders(t *testing.T) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		t.Run(sync, func(t *testing.T) {
			// The _pragma values apply in lexicographic order: NORMAL after FULL.
			w, r := open(t, filepath.Join(t.TempDir(), "db"), "&_pragma=synchronous("+sync+")")
			var mode int
			if err := w.QueryRow(`PRAGMA synchronous`).Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if want := map[string]int{"NORMAL": 1, "FULL": 2}[sync]; mode != want {
				t.Fatalf("PRAGMA synchronous = %d, want %d", mode, want)
			}
			commitsVisible(t, w, r)
		})
	}
}

func commitsVisible(t *testing.T, w, r *sql.DB) {
	for i := range 100 {
		sw, fw := walvfs.Stats()
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		// 40 rows of 3 KB: about 40 table pages and a few index pages.
		if err := insert(tx, i*40, i*40+40, 3000); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if n := count(t, r); n != i*40+40 {
			t.Fatalf("after commit %d the reader sees %d rows, want %d", i, n, i*40+40)
		}
		sw2, fw2 := walvfs.Stats()
		// About 45 frames of 4 KiB pages, each written by SQLite as a
		// header and a page, reach the file in calls of up to 128 KiB.
		if sw2-sw < 80 || fw2-fw > 3 {
			t.Fatalf("commit %d: SQLite wrote %d times to the log, the file was written %d times; want ≥ 80 and ≤ 3", i, sw2-sw, fw2-fw)
		}
	}
	var sum int64
	if err := r.QueryRow(`SELECT sum(length(body)) FROM t`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if sum != 100*40*3000 {
		t.Fatalf("bodies hold %d bytes, want %d", sum, 100*40*3000)
	}
	integrity(t, r)
}

// A transaction larger than the writer's page cache spills frames to the
// log before it commits, and reads some of them back; rolled back, none of
// it shows; committed, all of it does.
func TestSpillRollbackCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	w, r := open(t, path, "&_pragma=cache_size(20)")
	for _, commit := range []bool{false, true, false, true} {
		before := count(t, r)
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if err := insert(tx, before, before+3000, 1500); err != nil {
			t.Fatal(err)
		}
		// Read rows written early in the transaction, long spilled.
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM t WHERE id >= ? AND length(body) = 1500`, before).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 3000 {
			t.Fatalf("inside the transaction %d new rows, want 3000", n)
		}
		if _, err := tx.Exec(`UPDATE t SET body = zeroblob(100) WHERE id % 3 = 0 AND id >= ?`, before); err != nil {
			t.Fatal(err)
		}
		want := before
		if commit {
			err, want = tx.Commit(), before+3000
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, r); n != want {
			t.Fatalf("commit=%v: the reader sees %d rows, want %d", commit, n, want)
		}
	}
	integrity(t, w)
	integrity(t, r)
	// The log is checkpointed into the database and truncated through the VFS.
	if _, err := w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != 0 {
		t.Fatalf("log after a truncating checkpoint: %v, %v", fi, err)
	}
	if n := count(t, r); n != 6000 {
		t.Fatalf("after the checkpoint the reader sees %d rows, want 6000", n)
	}
}

// A process killed in the middle of a transaction, with frames of it still
// in the buffer, loses that transaction and no commit before it.
func TestKilledWriter(t *testing.T) {
	if dir := os.Getenv("WALVFS_KILL_DIR"); dir != "" {
		killedWriter(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestKilledWriter$")
	cmd.Env = append(os.Environ(), "WALVFS_KILL_DIR="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	ws, ok := err.(*exec.ExitError)
	if !ok || ws.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the writer was not killed: %v\n%s", err, out.String())
	}
	committed := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if n, ok := strings.CutPrefix(line, "committed "); ok {
			committed, _ = strconv.Atoi(n)
		}
	}
	if committed != 50 {
		t.Fatalf("the writer reported %d commits, want 50:\n%s", committed, out.String())
	}
	w, r := open(t, filepath.Join(dir, "db"), "")
	if n := count(t, w); n != committed*20 {
		t.Fatalf("after the kill %d rows, want %d", n, committed*20)
	}
	integrity(t, w)
	integrity(t, r)
}

func killedWriter(dir string) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "db")+"?vfs="+walvfs.Name+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=cache_size(10)&_txlock=immediate")
	if err == nil {
		err = walvfs.Register()
	}
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, body BLOB); CREATE INDEX t_k ON t (k)`); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	var synced int64
	for i := 0; ; i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err == nil {
			err = insert(tx, i*20, i*20+20, 2000)
		}
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		if i == 50 {
			// The small page cache spilled frames of this transaction to
			// the log (into the buffer); it is not committed.
			if sw, _ := walvfs.Stats(); sw == synced {
				fmt.Println("the transaction wrote nothing to the log")
				os.Exit(1)
			}
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		if err := tx.Commit(); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		synced, _ = walvfs.Stats()
		fmt.Printf("committed %d\n", i+1)
	}
}

// BenchmarkCommit commits transactions of 40 rows of 3 KB (about 45 pages
// of the log) through SQLite's unix VFS and through this one.
func BenchmarkCommit(b *testing.B) {
	if err := walvfs.Register(); err != nil {
		b.Fatal(err)
	}
	for _, vfs := range []string{"unix", walvfs.Name} {
		b.Run(vfs, func(b *testing.B) {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "db")+"?vfs="+vfs+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, body BLOB); CREATE INDEX t_k ON t (k)`); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				tx, err := db.Begin()
				if err == nil {
					err = insert(tx, i*40, i*40+40, 3000)
				}
				if err == nil {
					err = tx.Commit()
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
