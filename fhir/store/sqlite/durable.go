package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Durability. The write connection commits under synchronous=NORMAL:
// SQLite writes a commit's frames to the log and publishes them to the
// other connections, but does not sync the log (it still syncs it before
// each checkpoint copies frames into the database file, so the database
// stays consistent whatever is lost). A logSyncer syncs the log in a
// goroutine of its own, and a write is answered only once a sync that
// began after its commit returned. So the sync of one group of writes
// overlaps the next group's work on the write connection, instead of
// holding the connection: on the 2-vCPU guest of docs/performance.md a
// sync takes 0.7 - 2 ms, a third of the time a group of creates held the
// connection.
//
// Reads wait too: a read that may have seen a commit not synced yet waits
// for the sync before it answers, so that nothing a client is shown can
// be lost to a power failure afterwards. Reads that meet no concurrent
// write compare two counters and go on.
//
// Each commit on the write connection takes the next generation number;
// begun is the last one taken, written the last one whose commit returned
// (commits are serialised by cmu, so every generation up to written has
// returned), synced the last one made durable.
type logSyncer struct {
	path string // the log file
	log  *slog.Logger

	cmu   sync.Mutex // held around each commit
	begun atomic.Uint64

	// synced is read without mu on the fast path; it is stored under mu.
	synced atomic.Uint64

	mu      sync.Mutex
	written uint64
	// failed is set, for good, when the log could not be synced: nothing
	// committed since can be said durable.
	failed error
	// advanced is closed, and replaced, whenever synced or failed change.
	advanced chan struct{}

	wake    chan struct{} // holds a token when a commit waits for a sync
	stop    chan struct{}
	closing sync.Once
	exited  chan struct{}

	f *os.File // the log, opened by the syncer; nil until it exists
	// syncFn syncs the log: syncLog, or a test's stand-in (set under mu).
	syncFn func() error
}

// errClosed is what a write still waiting for a sync gets once the store
// is closed.
var errClosed = errors.New("the store is closed")

func newLogSyncer(path string, log *slog.Logger) *logSyncer {
	l := &logSyncer{
		path:     path,
		log:      log,
		advanced: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		exited:   make(chan struct{}),
	}
	l.syncFn = l.syncLog
	go l.run()
	return l
}

// commit commits tx, a transaction of the write connection, and returns
// the generation a caller waits for (with wait) before it tells anyone
// of the commit's outcome.
func (l *logSyncer) commit(tx *sql.Tx) (uint64, error) {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	g := l.begun.Add(1)
	err := tx.Commit()
	// Even a failed commit counts as written: its generation must not
	// hold back those after it, and a sync with nothing new is harmless.
	l.mu.Lock()
	l.written = g
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return g, err
}

// commitSynced commits tx and waits until the commit is durable.
func (l *logSyncer) commitSynced(tx *sql.Tx) error {
	g, err := l.commit(tx)
	if err != nil {
		return err
	}
	return l.wait(g)
}

// wait returns once generation g is durable, or with the reason it
// cannot be.
func (l *logSyncer) wait(g uint64) error {
	if l.synced.Load() >= g {
		return nil
	}
	for {
		l.mu.Lock()
		synced, failed, advanced := l.synced.Load(), l.failed, l.advanced
		l.mu.Unlock()
		switch {
		case synced >= g:
			return nil
		case failed != nil:
			return failed
		}
		<-advanced
	}
}

// visible returns once everything a read that has just finished could
// have seen is durable.
func (l *logSyncer) visible() error {
	return l.wait(l.begun.Load())
}

// err reports why the store can no longer make writes durable, if so.
func (l *logSyncer) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

func (l *logSyncer) run() {
	defer close(l.exited)
	for {
		select {
		case <-l.wake:
		case <-l.stop:
			// What was committed before the store closed is synced; the
			// writes that wait for it are answered.
			l.syncOnce()
			l.fail(errClosed)
			if l.f != nil {
				l.f.Close()
			}
			return
		}
		l.syncOnce()
	}
}

// syncOnce syncs the log if a commit since the last sync returned.
func (l *logSyncer) syncOnce() {
	l.mu.Lock()
	g, failed, syncFn := l.written, l.failed, l.syncFn
	l.mu.Unlock()
	if failed != nil || g <= l.synced.Load() {
		return
	}
	if err := syncFn(); err != nil {
		// As after any failed fsync, what the file holds is unknown: the
		// store stops taking writes (a restart recovers from the log).
		l.log.Error("the write-ahead log could not be synced; the store takes no more writes", "err", err)
		l.fail(fmt.Errorf("sync the write-ahead log: %w", err))
		return
	}
	l.mu.Lock()
	l.synced.Store(g)
	l.advance()
	l.mu.Unlock()
}

// advance wakes the waiters, after synced or failed changed. l.mu is
// held.
func (l *logSyncer) advance() {
	close(l.advanced)
	l.advanced = make(chan struct{})
}

func (l *logSyncer) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed == nil {
		l.failed = err
		l.advance()
	}
}

// syncLog syncs the log file. SQLite keeps the log while any connection
// is open, and restarts it from its beginning in place; it deletes it
// only when the last connection closes, after checkpointing all of it.
// The syncer still checks, at each sync, that the file it holds is the
// one at the log's path, and opens the new one (and syncs the directory
// that names it) if not.
func (l *logSyncer) syncLog() error {
	fi, err := os.Stat(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // no log: nothing was written since the last checkpoint removed it
	}
	if err != nil {
		return err
	}
	if l.f != nil {
		if cur, err := l.f.Stat(); err != nil || !os.SameFile(fi, cur) {
			l.f.Close()
			l.f = nil
		}
	}
	if l.f == nil {
		// Opened for writing, which some systems require to sync a file;
		// the syncer never writes to it.
		f, err := os.OpenFile(l.path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		if err := syncDir(filepath.Dir(l.path)); err != nil {
			f.Close()
			return err
		}
		l.f = f
	}
	return datasync(l.f)
}

// close syncs what was committed, answers the writes waiting, and stops
// the syncer.
func (l *logSyncer) close() {
	l.closing.Do(func() { close(l.stop) })
	<-l.exited
}
