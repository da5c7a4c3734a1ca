package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Transactions without multi-document transactions.
//
// A write transaction runs its function against a private overlay: what it
// puts stays in memory, and its reads and searches see the overlay over
// the committed state. To commit, it
//
//  1. takes the commit lock, shared with other committers, unless it
//     holds it exclusively already (below);
//  2. locks the resources it writes (one document per resource in the
//     locks collection, inserted: _id is unique on every server that
//     speaks the protocol);
//  3. checks that nothing it read has changed since (else it unlocks and
//     runs the function again: optimistic concurrency);
//  4. writes its record, every version and index it puts, to the txlog
//     collection as one document (large transactions write chunks first
//     and the record naming them last): inserting the record is the
//     commit point;
//  5. applies the record: versions inserted, current documents replaced
//     (only by a newer version, so applying twice, or late, changes
//     nothing), settings written; then deletes the record and unlocks.
//
// A transaction that searches takes the commit lock exclusively at its
// first search and keeps it to its end: no other transaction commits in
// between, so that its searches see one state of the store and what it
// decides from them (a conditional create finding nothing) still holds
// when it commits. Transactions that search are serialised, as on the
// embedded store; the others commit side by side.
//
// A server that stops between 4 and 5 leaves the record: Open applies
// every record it finds, and a writer that finds a lock whose lease has
// run out (its holder stopped renewing it) applies its transaction's
// record before taking the lock over. A transaction whose server stops
// before 4 leaves nothing. Readers may see a transaction half-applied
// while 5 runs (MongoDB reads documents one by one), but never once its
// caller has been answered.

// maxAttempts bounds the times a transaction's function runs when what it
// read keeps changing under it.
const maxAttempts = 50

// maxBody bounds the size of a resource: a document of MongoDB holds 16
// MiB, and the resource's document holds its search values too.
const maxBody = 15 << 20

// chunkBytes bounds the size of one txlog document (MongoDB's limit is
// 16 MiB per document).
const chunkBytes = 8 << 20

// The commit lock: held exclusively as the document commitLock, shared
// as one document per holder whose _id starts with sharedPrefix.
const (
	commitLock   = "commit"
	sharedPrefix = "commit/"
)

// The kinds of locks.
const (
	lockResource  = "r"
	lockExclusive = "x"
	lockShared    = "s"
)

// tx is a write transaction.
type tx struct {
	s   *Store
	id  string
	now time.Time
	// exclusive: the transaction holds the commit lock exclusively.
	exclusive bool
	// puts are the versions put, in order; cur the newest per reference.
	puts []*putOp
	cur  map[string]*putOp
	// read holds the version of each resource read from the store (0: it
	// did not exist), checked again at commit, and its creation sequence.
	read     map[string]int64
	created  map[string]int64
	settings map[string]string
	// reindexed are the new search values of resources the transaction
	// did not write.
	reindexed []mongo.WriteModel
}

// putOp is one version put by a transaction, ready to store.
type putOp struct {
	Res *resDoc `bson:"r"`
	Ver *verDoc `bson:"v"`
}

// Write runs fn in a write transaction (see above).
func (s *Store) Write(ctx context.Context, fn func(tx engine.Tx) error) error {
	var last error
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return err
			}
		}
		err := s.attempt(ctx, fn)
		if !errors.Is(err, errChanged) {
			return err
		}
		last = err
	}
	return &fhir.Error{Kind: fhir.KindConflict, Message: "the resources changed under the transaction too often; try again", Err: last}
}

// attempt runs fn in a transaction and commits it.
func (s *Store) attempt(ctx context.Context, fn func(tx engine.Tx) error) error {
	t := &tx{s: s, id: newID(), cur: map[string]*putOp{}, read: map[string]int64{}, created: map[string]int64{}}
	defer func() {
		if t.exclusive {
			s.unlock([]string{commitLock})
		}
	}()
	now, err := s.stamp(ctx)
	if err != nil {
		return err
	}
	t.now = now
	if err := fn(t); err != nil {
		return err
	}
	if len(t.puts) == 0 && len(t.settings) == 0 && len(t.reindexed) == 0 {
		return nil
	}
	return s.commit(ctx, t)
}

// errChanged is the error of a commit that found what its transaction
// read changed: the transaction runs again.
var errChanged = errors.New("mongodb: the transaction's reads changed before it committed")

// stamp returns the time of a new transaction: the clock's, to the
// millisecond, but never before a version already stored.
func (s *Store) stamp(ctx context.Context) (time.Time, error) {
	var d verDoc
	err := s.vers.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "q", Value: -1}}).
		SetProjection(bson.D{{Key: "ts", Value: 1}})).Decode(&d)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return time.Time{}, storeErr("read the clock", err)
	}
	s.see(d.Updated)
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	s.clock = max(s.clock, time.Now().UnixMilli())
	return fromMillis(s.clock), nil
}

// see records that a version stamped ms exists.
func (s *Store) see(ms int64) {
	s.clockMu.Lock()
	s.clock = max(s.clock, ms)
	s.clockMu.Unlock()
}

func (t *tx) Now() time.Time { return t.now }

func (t *tx) Read(ctx context.Context, rt fhir.ResourceType, id fhir.ID) (*fhir.Resource, error) {
	ref := string(rt) + "/" + string(id)
	if p := t.cur[ref]; p != nil {
		return p.Res.resource(), nil
	}
	d, err := t.s.readDoc(ctx, ref)
	if err != nil {
		return nil, err
	}
	if d == nil {
		t.read[ref] = 0
		return nil, notFound(rt, id)
	}
	t.read[ref], t.created[ref] = d.Version, d.Created
	return d.resource(), nil
}

func (t *tx) Put(ctx context.Context, r *fhir.Resource, idx *search.Index) error {
	ref := r.Ref()
	var curVersion, created int64
	if p := t.cur[ref]; p != nil {
		curVersion, created = p.Res.Version, p.Res.Created
	} else if v, ok := t.read[ref]; ok {
		// Read by the transaction: checked again at commit.
		curVersion, created = v, t.created[ref]
	} else {
		d, err := t.s.readDoc(ctx, ref)
		if err != nil {
			return err
		}
		if d != nil {
			curVersion, created = d.Version, d.Created
		}
		t.read[ref] = curVersion
	}
	if len(r.Body) > maxBody {
		return fhir.Errorf(fhir.KindTooLarge, "%s is %d MiB, over the %d MiB that a MongoDB document can hold", ref, len(r.Body)>>20, maxBody>>20)
	}
	if r.Version != curVersion+1 {
		return fhir.Errorf(fhir.KindConflict, "%s is at version %d, so version %d cannot be stored", ref, curVersion, r.Version)
	}
	ms := r.LastUpdated.UnixMilli()
	seq := seqOf(ms, len(t.puts))
	if created == 0 {
		created = seq
	}
	if r.Deleted {
		idx = nil
	}
	body := r.Body
	if r.Deleted {
		body = nil
	}
	raw, err := encodeIndex(idx)
	if err != nil {
		return fhir.Internal("the store failed to encode search values", err)
	}
	p := &putOp{
		Res: &resDoc{Ref: ref, Type: string(r.Type), ID: string(r.ID), Version: r.Version, Updated: ms,
			Method: string(r.Method), Deleted: r.Deleted, Body: body, Created: created,
			Keys: keysOf(idx), Sort: sortsOf(idx), Index: raw, idx: idx},
		Ver: &verDoc{Key: verKey(ref, r.Version), Ref: ref, Type: string(r.Type), ID: string(r.ID),
			Version: r.Version, Updated: ms, Seq: seq, Method: string(r.Method), Body: body},
	}
	t.puts = append(t.puts, p)
	t.cur[ref] = p
	return nil
}

func (t *tx) Reindex(ctx context.Context, r *fhir.Resource, idx *search.Index) error {
	ref := r.Ref()
	raw, err := encodeIndex(idx)
	if err != nil {
		return fhir.Internal("the store failed to encode search values", err)
	}
	if p := t.cur[ref]; p != nil {
		if p.Res.Version == r.Version && !p.Res.Deleted {
			p.Res.Keys, p.Res.Sort, p.Res.Index, p.Res.idx = keysOf(idx), sortsOf(idx), raw, idx
		}
		return nil
	}
	// Outside the overlay, a reindex is applied at commit, guarded by the
	// version, so that a newer version's own index wins.
	t.reindexed = append(t.reindexed, mongo.NewUpdateOneModel().
		SetFilter(bson.D{{Key: "_id", Value: ref}, {Key: "v", Value: r.Version}, {Key: "del", Value: false}}).
		SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "k", Value: keysOf(idx)}, {Key: "s", Value: sortsOf(idx)}, {Key: "x", Value: raw}}}}))
	return nil
}

func (t *tx) PutSetting(ctx context.Context, key, value string) error {
	if t.settings == nil {
		t.settings = map[string]string{}
	}
	t.settings[key] = value
	return nil
}

// txRecord is a document of the txlog collection: a committed transaction
// not yet applied (its puts inline, or in Chunks documents of txchunks).
type txRecord struct {
	ID       string            `bson:"_id"`
	Owner    string            `bson:"o"`
	At       int64             `bson:"at"`
	Puts     []*putOp          `bson:"p,omitempty"`
	Chunks   int               `bson:"n,omitempty"`
	Settings map[string]string `bson:"set,omitempty"`
	Locks    []string          `bson:"l,omitempty"`
}

// txChunk is a document of the txchunks collection: part of the puts of a
// large transaction.
type txChunk struct {
	ID   string   `bson:"_id"`
	Tx   string   `bson:"tx"`
	At   int64    `bson:"at"`
	Puts []*putOp `bson:"p"`
}

// commit commits t (see the top of the file).
func (s *Store) commit(ctx context.Context, t *tx) error {
	id := t.id
	if !t.exclusive {
		shared, err := s.lockShared(ctx, id)
		defer s.unlock(shared)
		if err != nil {
			return err
		}
	}
	names := make([]string, 0, len(t.cur))
	for ref := range t.cur {
		names = append(names, ref)
	}
	sort.Strings(names)
	held, err := s.lock(ctx, id, names)
	defer func() {
		if held != nil {
			s.unlock(held)
		}
	}()
	if err != nil {
		return err
	}
	if err := s.validate(ctx, t); err != nil {
		return err
	}
	if len(t.reindexed) > 0 {
		if _, err := s.res.BulkWrite(ctx, t.reindexed, options.BulkWrite().SetOrdered(false)); err != nil {
			return storeErr("reindex", err)
		}
	}
	if len(t.puts) == 0 && len(t.settings) == 0 {
		return nil
	}
	rec := &txRecord{ID: id, Owner: s.owner, At: time.Now().UnixMilli(), Settings: t.settings, Locks: held}
	// Chunks first, then the record: the record is the commit point.
	size, chunk := 0, []*putOp(nil)
	var chunks []any
	for _, p := range t.puts {
		// The body once, in the version: apply copies it back.
		res := *p.Res
		res.Body = nil
		p = &putOp{Res: &res, Ver: p.Ver}
		n := len(p.Ver.Body) + len(p.Res.Index) + 64*(len(p.Res.Keys)+8)
		if size+n > chunkBytes && len(chunk) > 0 {
			chunks = append(chunks, &txChunk{ID: id + "/" + itoa(int64(len(chunks))), Tx: id, At: rec.At, Puts: chunk})
			size, chunk = 0, nil
		}
		size += n
		chunk = append(chunk, p)
	}
	if len(chunks) == 0 {
		rec.Puts = chunk
	} else {
		chunks = append(chunks, &txChunk{ID: id + "/" + itoa(int64(len(chunks))), Tx: id, At: rec.At, Puts: chunk})
		for _, c := range chunks {
			// One by one: a batch of several 8 MiB documents would exceed
			// the 48 MB message limit.
			if _, err := s.chunks.InsertOne(ctx, c); err != nil {
				return storeErr("write a transaction", err)
			}
		}
		rec.Chunks = len(chunks)
	}
	if _, err := s.txlog.InsertOne(ctx, rec); err != nil {
		return storeErr("commit a transaction", err)
	}
	if s.crashAfterCommit != nil {
		return s.crashAfterCommit()
	}
	// Committed: apply it, whatever the caller's context says now.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
	defer cancel()
	err = s.apply(actx, rec, t.puts)
	for attempt := 1; err != nil && attempt < 3 && !unreachable(err); attempt++ {
		// Applying is idempotent: a passing refusal (a FerretDB backend
		// busy with another writer) is tried again at once.
		if err = sleep(actx, backoff(attempt+4)); err == nil {
			err = s.apply(actx, rec, t.puts)
		}
	}
	if err != nil {
		// Committed but not applied (the database went away): the record
		// stays, and so do the locks, so that no writer reads around it;
		// it is applied in the background once the database is back (or
		// by the next Open, or by a writer taking the locks over if this
		// server stops).
		locks := held
		held = nil
		s.done.Add(1)
		go s.applyLater(rec, t.puts, locks)
		return storeErr("apply a transaction", err)
	}
	return nil
}

// applyLater applies a committed transaction until it succeeds (or the
// store closes), then releases its locks.
func (s *Store) applyLater(rec *txRecord, puts []*putOp, locks []string) {
	defer s.done.Done()
	for wait := 1; ; wait++ {
		select {
		case <-s.stop:
			return
		case <-time.After(min(time.Duration(wait)*time.Second, 10*time.Second)):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		err := s.apply(ctx, rec, puts)
		cancel()
		if err == nil {
			s.log.Info("applied a transaction committed before the database went away", "transaction", rec.ID)
			s.unlock(locks)
			return
		}
		s.log.Warn("applying a committed transaction", "transaction", rec.ID, "error", err.Error())
	}
}

// validate checks that what t read and searched is as it was.
func (s *Store) validate(ctx context.Context, t *tx) error {
	if len(t.read) > 0 {
		refs := make([]string, 0, len(t.read))
		for ref := range t.read {
			refs = append(refs, ref)
		}
		now, err := s.versionsOf(ctx, refs)
		if err != nil {
			return err
		}
		for ref, v := range t.read {
			if now[ref] != v {
				return errChanged
			}
		}
	}
	return nil
}

// versionsOf returns the current versions of refs (absent: none).
func (s *Store) versionsOf(ctx context.Context, refs []string) (map[string]int64, error) {
	out := make(map[string]int64, len(refs))
	for part := range slices.Chunk(refs, 1000) {
		cur, err := s.res.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: part}}}},
			options.Find().SetProjection(bson.D{{Key: "v", Value: 1}}))
		if err != nil {
			return nil, storeErr("read versions", err)
		}
		var docs []struct {
			Ref string `bson:"_id"`
			V   int64  `bson:"v"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return nil, storeErr("read versions", err)
		}
		for _, d := range docs {
			out[d.Ref] = d.V
		}
	}
	return out, nil
}

// apply applies a committed transaction whose puts are puts (read from its
// chunks when nil), then deletes its record and chunks. Applying is
// idempotent. A transaction applied by its own commit holds its locks and
// has checked the versions it replaces, so current documents are replaced
// by _id; one applied from its record (recovery) replaces only an older
// version, since newer ones may have been written since.
func (s *Store) apply(ctx context.Context, rec *txRecord, puts []*putOp) error {
	fromRecord := puts == nil
	if fromRecord {
		puts = rec.Puts
		if rec.Chunks > 0 {
			cur, err := s.chunks.Find(ctx, bson.D{{Key: "tx", Value: rec.ID}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
			if err != nil {
				return err
			}
			var cs []txChunk
			if err := cur.All(ctx, &cs); err != nil {
				return err
			}
			if len(cs) != rec.Chunks {
				return fmt.Errorf("transaction %s has %d chunks of %d", rec.ID, len(cs), rec.Chunks)
			}
			slices.SortFunc(cs, func(a, b txChunk) int { return chunkIndex(a.ID) - chunkIndex(b.ID) })
			for _, c := range cs {
				puts = append(puts, c.Puts...)
			}
		}
	}
	unordered := options.BulkWrite().SetOrdered(false)
	// Versions: inserted; a version already there (applied before) is a
	// duplicate key, which is fine.
	var vm []mongo.WriteModel
	var ends []mongo.WriteModel
	last := map[string]*putOp{}
	for _, p := range puts {
		if p.Res.Body == nil && !p.Res.Deleted {
			p.Res.Body = p.Ver.Body
		}
		vm = append(vm, mongo.NewInsertOneModel().SetDocument(p.Ver))
		if p.Ver.Version > 1 {
			ends = append(ends, mongo.NewUpdateOneModel().
				SetFilter(bson.D{{Key: "_id", Value: verKey(p.Ver.Ref, p.Ver.Version-1)}}).
				SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "te", Value: p.Ver.Updated}}}}))
		}
		last[p.Ver.Ref] = p
	}
	for part := range slices.Chunk(vm, 1000) {
		if _, err := s.vers.BulkWrite(ctx, part, unordered); err != nil && !onlyDuplicates(err) {
			return err
		}
	}
	for part := range slices.Chunk(ends, 1000) {
		if _, err := s.vers.BulkWrite(ctx, part, unordered); err != nil {
			return err
		}
	}
	// Current versions. From a record, replaced by a newer one only:
	// upserting when the filter finds an equal or newer version inserts a
	// duplicate _id, refused, which is fine.
	var rm []mongo.WriteModel
	for _, p := range puts {
		if last[p.Res.Ref] != p {
			continue
		}
		filter := bson.D{{Key: "_id", Value: p.Res.Ref}}
		if fromRecord {
			filter = append(filter, bson.E{Key: "v", Value: bson.D{{Key: "$lt", Value: p.Res.Version}}})
		}
		rm = append(rm, mongo.NewReplaceOneModel().SetFilter(filter).SetReplacement(p.Res).SetUpsert(true))
	}
	for part := range slices.Chunk(rm, 500) {
		if _, err := s.res.BulkWrite(ctx, part, unordered); err != nil && !onlyDuplicates(err) {
			return err
		}
	}
	var sm []mongo.WriteModel
	for k, v := range rec.Settings {
		if v == "" {
			sm = append(sm, mongo.NewDeleteOneModel().SetFilter(bson.D{{Key: "_id", Value: k}}))
			continue
		}
		sm = append(sm, mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: k}}).
			SetReplacement(bson.D{{Key: "_id", Value: k}, {Key: "v", Value: v}}).SetUpsert(true))
	}
	if len(sm) > 0 {
		if _, err := s.sets.BulkWrite(ctx, sm, unordered); err != nil {
			return err
		}
	}
	for _, p := range puts {
		s.see(p.Ver.Updated)
	}
	if rec.Chunks > 0 {
		if _, err := s.chunks.DeleteMany(ctx, bson.D{{Key: "tx", Value: rec.ID}}); err != nil {
			return err
		}
	}
	_, err := s.txlog.DeleteOne(ctx, bson.D{{Key: "_id", Value: rec.ID}})
	return err
}

// chunkIndex returns the index of a chunk from its _id ("tx/i").
func chunkIndex(id string) int {
	n, _ := strconv.Atoi(id[strings.LastIndexByte(id, '/')+1:])
	return n
}

// onlyDuplicates reports whether every error of a bulk write is a
// duplicate key.
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if !we.HasErrorCode(11000) {
			return false
		}
	}
	return true
}

// recover applies the transactions committed but not applied (their
// server stopped), and deletes the chunks of transactions that never
// committed, once they are old enough that no live server is still
// writing them.
func (s *Store) recover(ctx context.Context) error {
	cur, err := s.txlog.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}))
	if err != nil {
		return fmt.Errorf("mongodb: read the transaction log: %w", err)
	}
	var recs []txRecord
	if err := cur.All(ctx, &recs); err != nil {
		return fmt.Errorf("mongodb: read the transaction log: %w", err)
	}
	for i := range recs {
		if err := s.apply(ctx, &recs[i], nil); err != nil {
			return fmt.Errorf("mongodb: complete transaction %s: %w", recs[i].ID, err)
		}
		s.log.Warn("completed a transaction that a stopped server had committed", "transaction", recs[i].ID,
			"resources", len(recs[i].Puts), "chunks", recs[i].Chunks)
	}
	old := time.Now().Add(-time.Hour).UnixMilli()
	res, err := s.chunks.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: old}}}})
	if err != nil {
		return fmt.Errorf("mongodb: delete abandoned transactions: %w", err)
	}
	if res.DeletedCount > 0 {
		s.log.Warn("deleted the parts of transactions that never committed", "chunks", res.DeletedCount)
	}
	return nil
}

// lockDoc is a document of the locks collection.
type lockDoc struct {
	ID    string `bson:"_id"`
	Kind  string `bson:"kind"`
	Owner string `bson:"o"`
	Tx    string `bson:"tx"`
	Exp   int64  `bson:"exp"`
}

// lock takes the locks names (sorted, so that two transactions never wait
// for each other) for transaction id, waiting for those held by others.
// It returns those it took, also on error.
func (s *Store) lock(ctx context.Context, id string, names []string) ([]string, error) {
	var held []string
	wait := 0
	for len(held) < len(names) {
		exp := time.Now().Add(s.lease).UnixMilli()
		rest := names[len(held):]
		docs := make([]any, len(rest))
		for i, n := range rest {
			docs[i] = &lockDoc{ID: n, Kind: lockResource, Owner: s.owner, Tx: id, Exp: exp}
		}
		_, err := s.locks.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
		if err == nil {
			return append(held, rest...), nil
		}
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 || !bwe.WriteErrors[0].HasErrorCode(11000) {
			return held, storeErr("lock resources", err)
		}
		// Ordered: those before the first error are taken.
		failed := bwe.WriteErrors[0].Index
		held = append(held, rest[:failed]...)
		if err := s.breakExpired(ctx, rest[failed]); err != nil {
			return held, err
		}
		wait++
		if err := sleep(ctx, backoff(wait)); err != nil {
			return held, err
		}
	}
	return held, nil
}

// lockExclusive takes the commit lock exclusively for transaction id: it
// announces itself (so that no new committer shares the lock), then waits
// for those sharing it to finish.
func (s *Store) lockExclusive(ctx context.Context, id string) error {
	for wait := 1; ; wait++ {
		_, err := s.locks.InsertOne(ctx, &lockDoc{ID: commitLock, Kind: lockExclusive, Owner: s.owner, Tx: id,
			Exp: time.Now().Add(s.lease).UnixMilli()})
		if err == nil {
			break
		}
		if !mongo.IsDuplicateKeyError(err) {
			return storeErr("lock the store", err)
		}
		if err := s.breakExpired(ctx, commitLock); err != nil {
			return err
		}
		if err := sleep(ctx, backoff(wait)); err != nil {
			return err
		}
	}
	for wait := 1; ; wait++ {
		cur, err := s.locks.Find(ctx, bson.D{{Key: "kind", Value: lockShared}})
		if err != nil {
			s.unlock([]string{commitLock})
			return storeErr("lock the store", err)
		}
		var shared []lockDoc
		if err := cur.All(ctx, &shared); err != nil {
			s.unlock([]string{commitLock})
			return storeErr("lock the store", err)
		}
		live := 0
		for _, l := range shared {
			if l.Exp > time.Now().UnixMilli() {
				live++
				continue
			}
			if err := s.breakExpired(ctx, l.ID); err != nil {
				s.unlock([]string{commitLock})
				return err
			}
		}
		if live == 0 {
			return nil
		}
		if err := sleep(ctx, backoff(wait)); err != nil {
			s.unlock([]string{commitLock})
			return err
		}
	}
}

// lockShared takes the commit lock shared for transaction id, waiting
// while a transaction holds it (or waits for it) exclusively. It returns
// the lock to release. While an exclusive holder is there it only looks:
// a shared lock taken and dropped at each try would be seen, now and
// then, by the holder waiting for the shared locks to end, and several
// writers retrying in step could keep it waiting for ever.
func (s *Store) lockShared(ctx context.Context, id string) ([]string, error) {
	name := sharedPrefix + id
	exclusive := func() (bool, error) {
		n, err := s.locks.CountDocuments(ctx, bson.D{{Key: "_id", Value: commitLock}})
		return n > 0, err
	}
	for wait := 1; ; wait++ {
		held, err := exclusive()
		if err != nil {
			return nil, storeErr("lock the store", err)
		}
		if !held {
			if _, err := s.locks.InsertOne(ctx, &lockDoc{ID: name, Kind: lockShared, Owner: s.owner, Tx: id,
				Exp: time.Now().Add(s.lease).UnixMilli()}); err != nil {
				return nil, storeErr("lock the store", err)
			}
			// An exclusive holder may have come in between.
			if held, err = exclusive(); err != nil {
				s.unlock([]string{name})
				return nil, storeErr("lock the store", err)
			}
			if !held {
				return []string{name}, nil
			}
			s.unlock([]string{name})
		}
		if err := s.breakExpired(ctx, commitLock); err != nil {
			return nil, err
		}
		if err := sleep(ctx, backoff(wait)); err != nil {
			return nil, err
		}
	}
}

// breakExpired removes lock name when its lease has run out, after
// applying the transaction its holder may have committed.
func (s *Store) breakExpired(ctx context.Context, name string) error {
	var l lockDoc
	err := s.locks.FindOne(ctx, bson.D{{Key: "_id", Value: name}}).Decode(&l)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return storeErr("read a lock", err)
	}
	if l.Exp > time.Now().UnixMilli() {
		return nil
	}
	var rec txRecord
	switch err := s.txlog.FindOne(ctx, bson.D{{Key: "_id", Value: l.Tx}}).Decode(&rec); {
	case err == nil:
		if err := s.apply(ctx, &rec, nil); err != nil {
			return storeErr("complete a transaction", err)
		}
	case !errors.Is(err, mongo.ErrNoDocuments):
		return storeErr("read the transaction log", err)
	}
	s.log.Warn("took over a lock whose holder stopped", "lock", name, "holder", l.Owner)
	_, err = s.locks.DeleteOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "tx", Value: l.Tx}})
	return storeErr("break a lock", err)
}

// unlock releases locks held by this process.
func (s *Store) unlock(names []string) {
	if len(names) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for part := range slices.Chunk(names, 1000) {
		if _, err := s.locks.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: part}}}, {Key: "o", Value: s.owner}}); err != nil {
			s.log.Error("releasing locks (they expire with their lease)", "error", err.Error())
		}
	}
}

// renewLocks extends the lease of the locks this process holds, until
// Close.
func (s *Store) renewLocks() {
	defer s.done.Done()
	tick := time.NewTicker(s.lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.lease/3)
		_, err := s.locks.UpdateMany(ctx, bson.D{{Key: "o", Value: s.owner}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "exp", Value: time.Now().Add(s.lease).UnixMilli()}}}})
		cancel()
		if err != nil {
			s.log.Warn("renewing locks", "error", err.Error())
		}
	}
}

// backoff returns the wait before attempt n of something contended:
// doubling up to 100 ms, less a random part of up to a half, so that
// processes waiting for one another do not keep retrying in step.
func backoff(n int) time.Duration {
	d := min(time.Millisecond<<min(n, 7), 100*time.Millisecond)
	return d - rand.N(d/2)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// newID returns a random identifier.
func newID() string { return bson.NewObjectID().Hex() }
