package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Checkpoints. SQLite appends committed pages to the write-ahead log and
// copies them back into the database file at a checkpoint. By default the
// connection that commits runs one whenever the log passes 1,000 pages,
// inside its commit: with a single writer, that copy and its two syncs
// stop every write queued behind it (7 – 8% of the writer's time on
// creates). Here a connection of its own checkpoints in the background,
// as SQLite's documentation suggests for applications that can: PASSIVE,
// so that it never waits for the writer or the readers, which go on
// meanwhile. The writer keeps an automatic checkpoint at a much larger
// log (walBackstop) in case the background one cannot finish (a
// checkpoint that runs beside a writer copies the pages committed before
// it started; the log restarts from its beginning only once everything
// has been copied).

const (
	// checkpointEvery spaces the background checkpoints while writes go
	// on: each syncs the log and the database file.
	checkpointEvery = 100 * time.Millisecond
	// walBackstop is the log size, in pages, at which the writer
	// checkpoints itself (about 40 MB).
	walBackstop = 10000
)

// checkpointer runs the background checkpoints of a store.
type checkpointer struct {
	db *sql.DB
	// wake holds a token when a commit is not checkpointed yet.
	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

// startCheckpoints opens the checkpointing connection and starts its
// goroutine.
func (s *Store) startCheckpoints(dsn string) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	db.SetMaxOpenConns(1)
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, wake: make(chan struct{}, 1), stop: stop, done: make(chan struct{})}
	s.ckpt = c
	go s.checkpoints(ctx, c)
	return nil
}

// committed tells the checkpointer, if it runs, that the log holds a new
// commit.
func (s *Store) committed() {
	if s.ckpt == nil {
		return
	}
	select {
	case s.ckpt.wake <- struct{}{}:
	default:
	}
}

func (s *Store) checkpoints(ctx context.Context, c *checkpointer) {
	defer close(c.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		// What this one could not copy is left for the next.
		_, err := c.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("background checkpoint failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(checkpointEvery):
		}
	}
}

// close stops the checkpoints and closes their connection.
func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	return c.db.Close()
}
