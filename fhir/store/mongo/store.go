package mongo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// The collections of a CPMS database.
const (
	collResources = "resources"
	collVersions  = "versions"
	collTxLog     = "txlog"
	collTxChunks  = "txchunks"
	collLocks     = "locks"
	collSettings  = "settings"
)

// DefaultDatabase is the database used when the URI names none.
const DefaultDatabase = "cpms"

// Options configure a Store.
type Options struct {
	// Logger receives the store's log; slog.Default() when nil.
	Logger *slog.Logger
	// Database overrides the database named by the URI (or
	// DefaultDatabase).
	Database string
	// LockLease is how long a write lock of a server that stopped
	// renewing it (a crashed server) holds; 30 s when zero.
	LockLease time.Duration
}

// Store is the MongoDB adapter of engine.Store.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	res    *mongo.Collection
	vers   *mongo.Collection
	txlog  *mongo.Collection
	chunks *mongo.Collection
	locks  *mongo.Collection
	sets   *mongo.Collection
	log    *slog.Logger
	lease  time.Duration
	// owner names this process in the locks it holds.
	owner string

	clockMu sync.Mutex
	clock   int64 // the latest lastUpdated this process has stamped or seen

	stop chan struct{}
	done sync.WaitGroup

	// crashAfterCommit, set by tests, stops a commit at its commit point,
	// as a server killed there would.
	crashAfterCommit func() error
	// afterHistoryPage, set by tests, runs between the reading of a
	// history page and the count of its total.
	afterHistoryPage func()
}

var _ engine.Store = (*Store)(nil)

// Open connects to the MongoDB deployment at uri, creates the collections'
// indexes (idempotently), and completes the transactions that a server
// stopped in the middle of applying.
func Open(ctx context.Context, uri string, opts Options) (*Store, error) {
	cs, err := connstring.ParseAndValidate(uri)
	if err != nil {
		return nil, fmt.Errorf("mongodb: the connection string is not valid: %w", err)
	}
	dbName := opts.Database
	if dbName == "" {
		dbName = cs.Database
	}
	if dbName == "" {
		dbName = DefaultDatabase
	}
	// Majority writes and reads: what a transaction acknowledged survives
	// a failover, and every server reads it (see docs/mongodb.md).
	co := options.Client().ApplyURI(uri).
		SetWriteConcern(writeconcern.Majority()).
		SetReadConcern(readconcern.Majority()).
		SetServerSelectionTimeout(5 * time.Second).
		SetConnectTimeout(5 * time.Second).
		SetAppName("cpms")
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("mongodb: connect: %w", err)
	}
	s := &Store{client: client, db: client.Database(dbName), log: opts.Logger, lease: opts.LockLease,
		stop: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "store", "store", "mongodb", "database", dbName)
	if s.lease <= 0 {
		s.lease = 30 * time.Second
	}
	s.res, s.vers = s.db.Collection(collResources), s.db.Collection(collVersions)
	s.txlog, s.chunks = s.db.Collection(collTxLog), s.db.Collection(collTxChunks)
	s.locks, s.sets = s.db.Collection(collLocks), s.db.Collection(collSettings)
	var b [8]byte
	_, _ = rand.Read(b[:])
	s.owner = hex.EncodeToString(b[:])
	if err := client.Ping(ctx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("mongodb: %s does not answer: %w", cs.Hosts, err)
	}
	if err := s.createIndexes(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	if err := s.recover(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	s.done.Add(1)
	go s.renewLocks()
	return s, nil
}

// Indexes lists the secondary indexes the store creates, by collection
// (docs/mongodb.md explains each).
var Indexes = map[string][]bson.D{
	collResources: {
		// Type scans in creation order, and the default page order.
		{{Key: "t", Value: 1}, {Key: "del", Value: 1}, {Key: "c", Value: 1}},
		// Every equality search value (tokens, references, uris, folded
		// strings, presence) through one multikey index.
		{{Key: "k", Value: 1}, {Key: "t", Value: 1}},
		// _id searches and sorts, _lastUpdated ranges and sorts.
		{{Key: "t", Value: 1}, {Key: "i", Value: 1}},
		{{Key: "t", Value: 1}, {Key: "ts", Value: 1}},
	},
	collVersions: {
		// Instance history, type history, system history, newest first.
		{{Key: "r", Value: 1}, {Key: "q", Value: -1}},
		{{Key: "t", Value: 1}, {Key: "q", Value: -1}},
		{{Key: "q", Value: -1}},
	},
	collLocks: {
		{{Key: "o", Value: 1}},
	},
	collTxChunks: {
		{{Key: "tx", Value: 1}},
	},
}

// createIndexes creates the indexes of Indexes that the collections do
// not have yet (by name: the default name of an index is made of its
// keys). Servers starting together create them together: an attempt that
// fails is tried again.
func (s *Store) createIndexes(ctx context.Context) error {
	for coll, keys := range Indexes {
		var err error
		for attempt := range 5 {
			if attempt > 0 {
				if err := sleep(ctx, time.Duration(attempt)*200*time.Millisecond); err != nil {
					return err
				}
			}
			if err = s.createMissing(ctx, s.db.Collection(coll), keys); err == nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("mongodb: create the indexes of %s: %w", coll, err)
		}
	}
	return nil
}

// createMissing creates those of the indexes keys that c lacks.
func (s *Store) createMissing(ctx context.Context, c *mongo.Collection, keys []bson.D) error {
	have := map[string]bool{}
	names, err := c.Indexes().ListSpecifications(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		have[n.Name] = true
	}
	var models []mongo.IndexModel
	for _, k := range keys {
		if !have[indexName(k)] {
			models = append(models, mongo.IndexModel{Keys: k, Options: options.Index().SetName(indexName(k))})
		}
	}
	if len(models) == 0 {
		return nil
	}
	_, err = c.Indexes().CreateMany(ctx, models)
	return err
}

// indexName returns MongoDB's default name of an index on keys.
func indexName(keys bson.D) string {
	parts := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		parts = append(parts, k.Key, fmt.Sprint(k.Value))
	}
	return strings.Join(parts, "_")
}

// Close stops the lock renewal and disconnects.
func (s *Store) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	s.done.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.client.Disconnect(ctx)
}

// Read returns the current version of a resource.
func (s *Store) Read(ctx context.Context, t fhir.ResourceType, id fhir.ID) (*fhir.Resource, error) {
	d, err := s.readDoc(ctx, string(t)+"/"+string(id))
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, notFound(t, id)
	}
	s.see(d.Updated)
	return d.resource(), nil
}

// readDoc returns the current document of ref, nil when there is none.
func (s *Store) readDoc(ctx context.Context, ref string) (*resDoc, error) {
	var d resDoc
	err := s.res.FindOne(ctx, bson.D{{Key: "_id", Value: ref}},
		options.FindOne().SetProjection(bson.D{{Key: "k", Value: 0}, {Key: "s", Value: 0}, {Key: "x", Value: 0}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, storeErr("read a resource", err)
	}
	return &d, nil
}

// VRead returns one version of a resource.
func (s *Store) VRead(ctx context.Context, t fhir.ResourceType, id fhir.ID, version int64) (*fhir.Resource, error) {
	var d verDoc
	// With r in the filter, a sharded cluster (shard key r) asks one shard.
	ref := string(t) + "/" + string(id)
	err := s.vers.FindOne(ctx, bson.D{{Key: "_id", Value: verKey(ref, version)}, {Key: "r", Value: ref}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, &fhir.Error{Kind: fhir.KindNotFound,
			Message: fmt.Sprintf("%s/%s has no version %d", t, id, version)}
	}
	if err != nil {
		return nil, storeErr("read a version", err)
	}
	return d.resource(), nil
}

// Setting returns the value of a server setting, "" when unset.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var d struct {
		V string `bson:"v"`
	}
	err := s.sets.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	if err != nil {
		return "", storeErr("read a setting", err)
	}
	return d.V, nil
}

// notFound is the error of a resource the store does not have.
func notFound(t fhir.ResourceType, id fhir.ID) error {
	return &fhir.Error{Kind: fhir.KindNotFound, Message: fmt.Sprintf("%s/%s is not known", t, id)}
}

// storeErr classifies a driver error: the deployment out of reach is
// KindUnavailable (503: the client may retry), anything else an internal
// error whose details go to the log only.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var fe *fhir.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) && !unreachable(err) {
		return err
	}
	if unreachable(err) {
		return &fhir.Error{Kind: fhir.KindUnavailable, Message: "the database cannot be reached; try again later", Err: err}
	}
	return fhir.Internal("the store failed to "+op, err)
}

// unreachable reports whether err says the deployment cannot be reached.
func unreachable(err error) bool {
	var ss topology.ServerSelectionError
	if errors.As(err, &ss) {
		return true
	}
	return mongo.IsNetworkError(err) || mongo.IsTimeout(err)
}

// fromMillis returns the UTC time of Unix milliseconds ms.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// itoa formats n in decimal.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// parseInt parses a decimal int64.
func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// DropDatabase deletes the database name of the deployment at uri, for
// the benchmarks that start from an empty store.
func DropDatabase(ctx context.Context, uri, name string) error {
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(5 * time.Second))
	if err != nil {
		return err
	}
	defer client.Disconnect(context.Background())
	return client.Database(name).Drop(ctx)
}
