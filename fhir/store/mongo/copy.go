package mongo

import (
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/cpms-fhir/cpms/fhir"
)

// Copier copies the versions of another store into this one, newest
// first, as that store's history lists them: the migration from the
// embedded store ("cpms migrate"). Copying again what was copied changes
// nothing, so a migration that stopped can be run again. The copied
// resources have no search values: the engine's Reindex computes them once
// every version is in.
type Copier struct {
	s *Store
	// newer holds, per resource met, the lastUpdated of the version met
	// before (the next one: the end of the currency of the version met
	// now).
	newer map[string]int64
	// lastMs and order give versions stamped in one millisecond
	// decreasing sequence numbers, so that they keep their order.
	lastMs int64
	order  int
}

// NewCopier returns a Copier into s.
func (s *Store) NewCopier() *Copier {
	return &Copier{s: s, newer: map[string]int64{}, order: 1<<20 - 1}
}

// Copy stores versions, newest first and after those of the previous
// call.
func (c *Copier) Copy(ctx context.Context, versions []*fhir.Resource) error {
	var vm, rm, created []mongo.WriteModel
	for _, r := range versions {
		ms := r.LastUpdated.UnixMilli()
		if ms != c.lastMs {
			c.lastMs, c.order = ms, 1<<20-1
		}
		seq := seqOf(ms, c.order)
		c.order--
		ref := r.Ref()
		body := r.Body
		if r.Deleted {
			body = nil
		}
		v := &verDoc{Key: verKey(ref, r.Version), Ref: ref, Type: string(r.Type), ID: string(r.ID),
			Version: r.Version, Updated: ms, Seq: seq, Method: string(r.Method), Body: body}
		end, seen := c.newer[ref]
		if seen {
			v.Ended = &end
		}
		c.newer[ref] = ms
		vm = append(vm, mongo.NewInsertOneModel().SetDocument(v))
		if !seen {
			// The newest version: the current one.
			rm = append(rm, mongo.NewReplaceOneModel().
				SetFilter(bson.D{{Key: "_id", Value: ref}, {Key: "v", Value: bson.D{{Key: "$lte", Value: r.Version}}}}).
				SetReplacement(&resDoc{Ref: ref, Type: string(r.Type), ID: string(r.ID), Version: r.Version, Updated: ms,
					Method: string(r.Method), Deleted: r.Deleted, Body: body, Created: seq}).
				SetUpsert(true))
		}
		if r.Version == 1 {
			created = append(created, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: ref}}).
				SetUpdate(bson.D{{Key: "$set", Value: bson.D{{Key: "c", Value: seq}}}}))
		}
	}
	unordered := options.BulkWrite().SetOrdered(false)
	for part := range slices.Chunk(vm, 1000) {
		if _, err := c.s.vers.BulkWrite(ctx, part, unordered); err != nil && !onlyDuplicates(err) {
			return storeErr("copy versions", err)
		}
	}
	for part := range slices.Chunk(rm, 500) {
		if _, err := c.s.res.BulkWrite(ctx, part, unordered); err != nil && !onlyDuplicates(err) {
			return storeErr("copy resources", err)
		}
	}
	for part := range slices.Chunk(created, 1000) {
		if _, err := c.s.res.BulkWrite(ctx, part, unordered); err != nil {
			return storeErr("copy resources", err)
		}
	}
	for _, r := range versions {
		c.s.see(r.LastUpdated.UnixMilli())
	}
	return nil
}

// CopySettings stores settings.
func (c *Copier) CopySettings(ctx context.Context, settings map[string]string) error {
	var sm []mongo.WriteModel
	for k, v := range settings {
		sm = append(sm, mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: k}}).
			SetReplacement(bson.D{{Key: "_id", Value: k}, {Key: "v", Value: v}}).SetUpsert(true))
	}
	if len(sm) == 0 {
		return nil
	}
	_, err := c.s.sets.BulkWrite(ctx, sm, options.BulkWrite().SetOrdered(false))
	return storeErr("copy settings", err)
}
