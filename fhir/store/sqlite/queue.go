package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/cpms-fhir/cpms/fhir/engine"
)

// The index queue. A write stores its resource and version rows at once,
// but not its search values: those are appended, encoded, to index_queue
// in the same transaction, and written into the value tables later, many
// resources at a time (drain).
//
// The value indexes that lead with the value (string_value, token_v,
// date_lo, ...) take each new row at a random place. Written one resource
// at a time, every row dirties a leaf of its own, and each commit writes
// those leaves whole to the log: a distinct Patient wrote about 60 pages
// of index, 165 KB of log, per create. Written a thousand resources at a
// time, in the order of the index, the rows that land on one leaf share
// its write (docs/performance.md).
//
// The queue is drained, in the transaction of whoever needs the index:
//   - before a search of a write transaction (tx.Search). A search of the
//     store runs in a read transaction when its snapshot holds nothing
//     queued. Otherwise the writes waiting for the writer and a drain run
//     in one group, and the search runs in a read transaction begun
//     before the writer is given back, so that nothing commits in
//     between (Store.searchDrained): every search sees the index of the
//     resources it sees, and no write waits for a search to end.
//     Searches on _id and _lastUpdated alone read the resource table
//     only, and run on the read pool whatever is queued;
//   - once a group of writes has brought it to queueLimit resources, in a
//     transaction of its own (Store.release);
//   - by the store's indexer once the writes pause (idleDrain), and when
//     the store closes;
//   - when the store opens, for what a crash left queued.
//
// Being rows of the database, queued values are as durable as the writes
// that queued them, and a transaction rolled back takes its queue entries,
// or its draining, with it.
//
// Each entry names its resource (rid), says whether the value tables hold
// no rows of it when the entry was queued (fresh: a new, or a deleted
// resource), and holds the rows of its version (none for a deletion). A
// drain deletes the rows of each resource of the queue unless its first
// entry is fresh, and writes those of its last entry.

// queueLimit is the number of queued resources past which the queue is
// drained after a group of writes (release). The larger, the fewer pages
// a resource's values write, but the longer the writes that arrive during
// a drain wait: on distinct Patients, 1,024 and 2,048 gave the same rate,
// and wrk measured p99 latencies of 320 - 340 ms and 600 - 730 ms in a
// slow hour (docs/performance.md).
const queueLimit = 1024

// idleDrain is how long writes must pause before the indexer drains the
// queue.
const idleDrain = 200 * time.Millisecond

// queueOrder are, for each value table, the columns (counting rid as 0)
// of its main value index: a drain inserts rows in that order.
var queueOrder = map[string][]int{
	"token":    {2},
	"string":   {1, 2},
	"date":     {1, 2},
	"number":   {1, 2},
	"quantity": {1, 2},
	"ref":      {1, 2},
	"uri":      {1, 2},
	"comp":     {5},
}

// entryRows accumulates the rows of one resource, encoded for the queue:
// for each table with rows, its number in valueTables, the number of rows
// and of columns after rid, then each value.
type entryRows struct {
	buf []byte
}

// Value tags of the encoding.
const (
	tagNull = iota
	tagInt
	tagFloat
	tagText
)

// add encodes rows of table (each starting with rid, which is left out).
func (e *entryRows) add(table string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	t := slices.Index(valueTables, table)
	if t < 0 {
		return fmt.Errorf("queue rows of unknown table %s", table)
	}
	e.buf = append(e.buf, byte(t))
	e.buf = binary.AppendUvarint(e.buf, uint64(len(rows)))
	e.buf = binary.AppendUvarint(e.buf, uint64(len(rows[0])-1))
	for _, r := range rows {
		for _, v := range r[1:] {
			switch v := v.(type) {
			case nil:
				e.buf = append(e.buf, tagNull)
			case int:
				e.buf = binary.AppendVarint(append(e.buf, tagInt), int64(v))
			case int64:
				e.buf = binary.AppendVarint(append(e.buf, tagInt), v)
			case float64:
				e.buf = binary.LittleEndian.AppendUint64(append(e.buf, tagFloat), math.Float64bits(v))
			case string:
				e.buf = binary.AppendUvarint(append(e.buf, tagText), uint64(len(v)))
				e.buf = append(e.buf, v...)
			default:
				return fmt.Errorf("queue a value of type %T", v)
			}
		}
	}
	return nil
}

// decodeRows appends the rows of an entry of resource rid to tables (by
// number in valueTables), rid first.
func decodeRows(b []byte, rid int64, tables [][][]any) error {
	bad := fmt.Errorf("queue entry of resource %d is corrupt", rid)
	uvarint := func() (int, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > uint64(len(b)) {
			return 0, false
		}
		b = b[n:]
		return int(v), true
	}
	for len(b) > 0 {
		t := int(b[0])
		b = b[1:]
		if t >= len(valueTables) {
			return bad
		}
		nrows, ok1 := uvarint()
		ncols, ok2 := uvarint()
		if !ok1 || !ok2 {
			return bad
		}
		for range nrows {
			r := make([]any, 1, ncols+1)
			r[0] = rid
			for range ncols {
				if len(b) == 0 {
					return bad
				}
				tag := b[0]
				b = b[1:]
				switch tag {
				case tagNull:
					r = append(r, nil)
				case tagInt:
					v, n := binary.Varint(b)
					if n <= 0 {
						return bad
					}
					r, b = append(r, v), b[n:]
				case tagFloat:
					if len(b) < 8 {
						return bad
					}
					r, b = append(r, math.Float64frombits(binary.LittleEndian.Uint64(b))), b[8:]
				case tagText:
					n, ok := uvarint()
					if !ok || n > len(b) {
						return bad
					}
					r, b = append(r, string(b[:n])), b[n:]
				default:
					return bad
				}
			}
			tables[t] = append(tables[t], r)
		}
	}
	return nil
}

// enqueue appends the encoded rows of resource rid (none: it has no
// values now) to the queue.
func (t *tx) enqueue(ctx context.Context, rid int64, fresh bool, rows []byte) error {
	if rows == nil {
		rows = []byte{}
	}
	if _, err := t.stmt(ctx, t.s.st.enqueue).ExecContext(ctx, rid, fresh, rows); err != nil {
		return storeErr("index", err)
	}
	t.queued++
	return nil
}

// drain writes the queued rows into the value tables within t, so that a
// search of t sees them.
func (t *tx) drain(ctx context.Context) error {
	if t.queued == 0 {
		return nil
	}
	t.wrote = true
	if _, err := t.b.drain(ctx, t.s, &t.counts); err != nil {
		return err
	}
	t.queued = 0
	return nil
}

// drain empties the queue into the value tables, recording the changes to
// paramcount in c, and returns the number of entries it held.
func (b *batchState) drain(ctx context.Context, s *Store, c *counts) (int, error) {
	entries := 0
	type entry struct {
		fresh bool
		rows  []byte
	}
	byRid := map[int64]*entry{}
	var order []int64
	err := func() error {
		rows, err := b.stmt(ctx, s.st.queued).QueryContext(ctx)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var rid int64
			var fresh bool
			var data []byte
			if err := rows.Scan(&rid, &fresh, &data); err != nil {
				return err
			}
			entries++
			e, ok := byRid[rid]
			if !ok {
				e = &entry{fresh: fresh}
				byRid[rid] = e
				order = append(order, rid)
			}
			e.rows = data
		}
		return rows.Err()
	}()
	if err != nil || entries == 0 {
		return 0, storeErr("index", err)
	}
	tables := make([][][]any, len(valueTables))
	for _, rid := range order {
		e := byRid[rid]
		if !e.fresh {
			for _, table := range valueTables {
				if err := b.unindex(ctx, s, c, table, rid); err != nil {
					return 0, storeErr("index", err)
				}
			}
		}
		if err := decodeRows(e.rows, rid, tables); err != nil {
			return 0, storeErr("index", err)
		}
	}
	for i, rows := range tables {
		table := valueTables[i]
		cols := queueOrder[table]
		slices.SortFunc(rows, func(x, y []any) int {
			for _, c := range cols {
				if d := compareNullable(x[c], y[c]); d != 0 {
					return d
				}
			}
			return cmp.Compare(x[0].(int64), y[0].(int64))
		})
		for _, r := range rows {
			if r[len(r)-1].(int64)&flagMin != 0 {
				c.addParam(r[1].(int64), 1)
			}
		}
		if err := b.insertRows(ctx, s, table, rows); err != nil {
			return 0, storeErr("index", err)
		}
	}
	if _, err := b.stmt(ctx, s.st.clearQueue).ExecContext(ctx); err != nil {
		return 0, storeErr("index", err)
	}
	return entries, nil
}

// compareNullable compares SQLite values, NULL first.
func compareNullable(a, b any) int {
	if a == nil || b == nil {
		return cmp.Compare(btoi(a != nil), btoi(b != nil))
	}
	return compareValues(a, b)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// insertRows inserts rows into table, 1<<maxChunk rows a statement and
// the rest in smaller ones.
func (b *batchState) insertRows(ctx context.Context, s *Store, table string, rows [][]any) error {
	for len(rows) > 0 {
		i := min(bits.Len(uint(len(rows)))-1, maxChunk)
		n := 1 << i
		var args []any
		if n == 1 {
			args = rows[0]
		} else {
			args = make([]any, 0, n*len(rows[0]))
			for _, r := range rows[:n] {
				args = append(args, r...)
			}
		}
		if _, err := b.stmt(ctx, s.st.insert[table][i]).ExecContext(ctx, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// unindex deletes the rows of resource rid from table, recording in c the
// parameters that no longer count it.
func (b *batchState) unindex(ctx context.Context, s *Store, c *counts, table string, rid int64) error {
	rows, err := b.stmt(ctx, s.st.counted[table]).QueryContext(ctx, rid)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k int64
		if err := rows.Scan(&k); err != nil {
			return err
		}
		c.addParam(k, -1)
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n == 0 {
		return nil // every parameter with a value has a row flagged
	}
	_, err = b.stmt(ctx, s.st.delete[table]).ExecContext(ctx, rid)
	return err
}

// release gives the writer token back, after the goroutine that holds it
// ran a group of writes. When that group brought the queue to its limit,
// a goroutine of its own drains it first, holding the token: the writes
// of the group are answered meanwhile, and their clients go on with their
// next requests while the writes that come in wait for the drain.
func (s *Store) release() {
	if s.qlen < s.queueLimit {
		<-s.writer
		return
	}
	go func() {
		defer func() { <-s.writer }()
		req := newWriteReq(context.Background(), drainFn(context.Background()))
		s.runBatch([]*writeReq{req})
		if req.err != nil {
			// The queue stays; the next group to end retries.
			s.log.Error("the search index could not catch up with the writes", "err", req.err)
		}
	}()
}

// catchUp drains the queue, if anything is queued.
func (s *Store) catchUp(ctx context.Context) error {
	if s.queued.Load() == 0 {
		return nil
	}
	return s.Write(ctx, drainFn(ctx))
}

// drainFn is a write transaction that drains the queue.
func drainFn(ctx context.Context) func(engine.Tx) error {
	return func(etx engine.Tx) error { return etx.(*tx).drain(ctx) }
}

// drainNow drains the queue in tx, outside the groups of writes (when the
// store opens), and returns how many entries it held.
func (s *Store) drainNow(ctx context.Context, tx *sql.Tx) (int, error) {
	b := &batchState{tx: tx}
	n, err := b.drain(ctx, s, &b.counts)
	if err != nil || n == 0 {
		return 0, err
	}
	return n, b.flushCounts(ctx, s)
}

// stopIndexing stops the indexer, if it was started, and waits for it.
func (s *Store) stopIndexing() {
	if s.idxStop == nil {
		return
	}
	s.stopIndexer.Do(func() { close(s.idxStop) })
	<-s.idxDone
}

// indexer drains the queue once writes pause for idleDrain, so that
// searches after a burst of writes need not, until stop is closed.
func (s *Store) indexer(wake, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-stop:
			return
		case <-wake:
		}
		for s.queued.Load() > 0 {
			gen := s.sync.begun.Load()
			select {
			case <-stop:
				return
			case <-time.After(idleDrain):
			}
			if s.sync.begun.Load() != gen {
				continue // still writing
			}
			if err := s.catchUp(context.Background()); err != nil {
				s.log.Warn("the search index could not catch up with the writes", "err", err)
				break
			}
		}
	}
}
