package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/internal/walvfs"
)

// Options configure a Store.
type Options struct {
	// Logger receives the store's log; nil means slog.Default().
	Logger *slog.Logger
	// Readers is the size of the read connection pool; 0 means 8.
	Readers int
}

// Store is the embedded SQLite store.
type Store struct {
	w, r *sql.DB
	// readers is the size of the read pool.
	readers int
	st      statements
	lock    *os.File
	log     *slog.Logger

	// seq and last belong to the goroutine that holds the writer token
	// (below).
	seq  int64     // the last sequence number committed
	last time.Time // the latest lastUpdated committed

	// dates are the statistics of date parameters that searches plan
	// with; datesCommitted those in datestat, which only the writer (under
	// mu) reads and changes.
	dates          *dateStats
	datesCommitted map[int64]dateStat

	// qmu guards queue, the write transactions waiting for a batch.
	qmu   sync.Mutex
	queue []*writeReq

	// ckpt checkpoints the log in the background (see checkpoint.go).
	ckpt *checkpointer
	// sync makes the writer's commits durable (see durable.go).
	sync *logSyncer
	// writer holds a token while a goroutine runs a batch of write
	// transactions on the write connection (see Write).
	writer chan struct{}

	// qlen is the length of the index queue committed (queue.go); it
	// belongs to the goroutine that holds the writer token. queued is a
	// copy for the others.
	qlen   int64
	queued atomic.Int64
	// queueLimit is the queue length past which it is drained after a
	// group of writes (release).
	queueLimit int64
	// direct says writes put their search values in the value tables at
	// once rather than queue them: during a bulk load (bulk.go).
	direct atomic.Bool
	// idxWake pokes the indexer, which drains the queue once writes
	// pause; closing idxStop stops it, and it closes idxDone.
	idxWake, idxStop, idxDone chan struct{}
	stopIndexer               sync.Once
}

var _ engine.Store = (*Store)(nil)

// DBFile is the name of the database file in the data directory.
const DBFile = "cpms.db"

// Open opens (creating if needed) the store in directory dir.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: create data directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{lock: lock, log: opts.Logger, writer: make(chan struct{}, 1), queueLimit: queueLimit}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "store", "store", "sqlite")
	path := filepath.Join(dir, DBFile)
	// Page caches: the writer's holds 16 MiB. A larger one saves reads of
	// the leaves that index inserts land on all over their b-trees, but
	// costs more at every commit: while the database is under 1 GiB,
	// SQLite's rebalancing of a b-tree moves pages through a page number
	// past its end (the lock-byte page's, plus one), and the end of the
	// transaction then scans the whole cache for pages past the end. With
	// 64 MiB that scan took 13% of the CPU of distinct creates, with 16
	// MiB 5%, and creates ran 6 - 10% faster (docs/performance.md).
	// Readers share the file through the operating system's cache, mapped
	// into memory. The writer keeps its sub-journals (of the savepoints of
	// a group commit run again, and of the statements that need one) in
	// memory rather than in temporary files. The writer checkpoints the
	// log itself only past walBackstop pages: a connection of its own does
	// it in the background (checkpoint.go). The writer writes its log through
	// walvfs, which gathers the frames of a commit into a few system
	// calls. It commits under synchronous=NORMAL, and a goroutine of its
	// own syncs the log before writes are answered (durable.go).
	common := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(0)"
	if err := walvfs.Register(); err != nil {
		s.closeAll()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if s.w, err = sql.Open("sqlite", common+"&vfs="+walvfs.Name+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-16384)&_pragma=temp_store(2)&_pragma=wal_autocheckpoint("+strconv.Itoa(walBackstop)+")&_txlock=immediate"); err != nil {
		s.closeAll()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetConnMaxIdleTime(0)
	s.sync = newLogSyncer(path+"-wal", s.log)
	if err := s.migrate(ctx); err != nil {
		s.closeAll()
		return nil, err
	}
	// A bulk load that did not end left its indexes to build.
	if err := s.BuildIndexes(ctx); err != nil {
		s.closeAll()
		return nil, err
	}
	if err := s.writeStats(ctx); err != nil {
		s.closeAll()
		return nil, err
	}
	if err := s.loadDateStats(ctx); err != nil {
		s.closeAll()
		return nil, fmt.Errorf("sqlite: read date statistics: %w", err)
	}
	if s.r, err = sql.Open("sqlite", common+"&_pragma=query_only(1)&_pragma=mmap_size(2147418112)&_pragma=cache_size(-16384)"); err != nil {
		s.closeAll()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	readers := opts.Readers
	if readers <= 0 {
		readers = 8
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	s.readers = readers
	var lastMs int64
	if err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0), COALESCE(MAX(updated), 0) FROM version`).Scan(&s.seq, &lastMs); err != nil {
		s.closeAll()
		return nil, fmt.Errorf("sqlite: read state: %w", err)
	}
	s.last = time.UnixMilli(lastMs).UTC()
	if err := s.prepare(ctx); err != nil {
		s.closeAll()
		return nil, err
	}
	if err := s.drainAtOpen(ctx); err != nil {
		s.closeAll()
		return nil, err
	}
	if err := s.startCheckpoints(common + "&_pragma=synchronous(FULL)"); err != nil {
		s.closeAll()
		return nil, err
	}
	s.idxWake, s.idxStop, s.idxDone = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go s.indexer(s.idxWake, s.idxStop, s.idxDone)
	return s, nil
}

// drainAtOpen writes into the value tables what a crash left queued.
func (s *Store) drainAtOpen(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: catch up the search index: %w", err)
	}
	defer tx.Rollback()
	n, err := s.drainNow(ctx, tx)
	if err == nil && n > 0 {
		err = s.sync.commitSynced(tx)
	}
	if err != nil {
		return fmt.Errorf("sqlite: catch up the search index: %w", err)
	}
	if n > 0 {
		s.log.Info("search index caught up with the writes queued before the store was last closed", "resources", n)
	}
	return nil
}

// setQueued records the length of the index queue after a commit, and
// wakes the indexer while anything is queued.
func (s *Store) setQueued(n int64) {
	s.qlen = n
	s.queued.Store(n)
	if n > 0 && s.idxWake != nil {
		select {
		case s.idxWake <- struct{}{}:
		default:
		}
	}
}

func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.w.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("sqlite: read schema version: %w", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("sqlite: the database has schema version %d, newer than this server's %d", v, schemaVersion)
	}
	for ; v < schemaVersion; v++ {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		m := migrations[v]
		_, err = tx.ExecContext(ctx, m.sql)
		if err == nil && m.step != nil {
			err = m.step(ctx, tx)
		}
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migrate to schema %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if err := s.sync.commitSynced(tx); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		s.log.Info("schema migrated", "version", v+1)
	}
	return nil
}

// lockDir takes an exclusive lock on dir, so that two servers never share
// one database.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("sqlite: lock data directory: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("sqlite: the data directory %s is in use by another process", dir)
		}
		return nil, fmt.Errorf("sqlite: lock data directory: %w", err)
	}
	return f, nil
}

// errLocked is what lockFile returns when another process holds the lock.
var errLocked = errors.New("locked")

// ReleaseIdle closes the idle read connections, and with them the pages
// of the database file they mapped into memory; the next reads open new
// ones. A server calls it after a start-up scan (such as reading every
// stored terminology resource) whose pages it will not read again soon.
func (s *Store) ReleaseIdle() {
	s.r.SetMaxIdleConns(0)
	s.r.SetMaxIdleConns(s.readers)
}

// Close writes what is queued into the search index, closes the
// databases (checkpointing the WAL) and releases the data directory.
func (s *Store) Close() error {
	s.stopIndexing()
	if err := s.catchUp(context.Background()); err != nil {
		// The next Open writes it.
		s.log.Warn("the search index could not catch up with the writes before closing", "err", err)
	}
	return s.closeAll()
}

func (s *Store) closeAll() error {
	var errs []error
	s.stopIndexing()
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.close())
	}
	if s.sync != nil {
		s.sync.close()
	}
	s.st.close()
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

// storeErr wraps a database failure as an internal error: the client is
// told the store failed, the log gets the cause.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var fe *fhir.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fhir.Internal("the store failed to "+op, err)
}
