package engine

import (
	"context"
	"time"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// Store keeps every version of every resource and the search values of the
// current versions.
//
// Reads return *fhir.Error values of kind KindNotFound when there is no
// such resource or version. A deleted resource is still found: its current
// version is a tombstone with Deleted set.
type Store interface {
	// Read returns the current version of a resource.
	Read(ctx context.Context, t fhir.ResourceType, id fhir.ID) (*fhir.Resource, error)
	// VRead returns one version of a resource.
	VRead(ctx context.Context, t fhir.ResourceType, id fhir.ID, version int64) (*fhir.Resource, error)
	// History returns versions newest first, as the query selects.
	History(ctx context.Context, q HistoryQuery) (*HistoryPage, error)
	// Search runs q (its types, clauses, sort, count, cursor and total)
	// over the current, not deleted resources.
	Search(ctx context.Context, q *search.Query) (*SearchResult, error)
	// Setting returns the value of a server setting, "" when unset.
	Setting(ctx context.Context, key string) (string, error)
	// Write runs fn in a write transaction. What fn puts is committed
	// atomically when fn returns nil and discarded when it returns an error.
	// Write transactions are serialised with respect to the resources they
	// touch; fn may be called again if the store must retry.
	Write(ctx context.Context, fn func(tx Tx) error) error
	// Close releases the store.
	Close() error
}

// Tx is a write transaction. Its reads see its own writes.
type Tx interface {
	// Read returns the current version of a resource, as Store.Read.
	Read(ctx context.Context, t fhir.ResourceType, id fhir.ID) (*fhir.Resource, error)
	// Search finds current resources, as Store.Search.
	Search(ctx context.Context, q *search.Query) (*SearchResult, error)
	// Now returns the time to stamp on versions written by the
	// transaction: not before any version already stored, with
	// millisecond precision.
	Now() time.Time
	// Put stores r as the new current version of its resource. r.Version
	// must be one more than the current version (1 for a new resource);
	// otherwise Put fails with KindConflict. idx holds the search values
	// of r (nil for a deletion).
	Put(ctx context.Context, r *fhir.Resource, idx *search.Index) error
	// Reindex replaces the search values of r, which must be the current
	// version of its resource; when it no longer is (a newer version was
	// indexed by its own write), Reindex does nothing.
	Reindex(ctx context.Context, r *fhir.Resource, idx *search.Index) error
	// PutSetting sets a server setting; "" removes it.
	PutSetting(ctx context.Context, key, value string) error
}

// HistoryQuery selects versions for a history interaction. Type and ID
// narrow the scope: both empty for system history, ID empty for type
// history.
type HistoryQuery struct {
	Type fhir.ResourceType
	ID   fhir.ID
	// Since keeps versions written at or after it (_since).
	Since time.Time
	// AtStart and AtEnd, when AtEnd is set, keep the versions that were
	// current at some instant in [AtStart, AtEnd) (_at).
	AtStart, AtEnd time.Time
	// Cursor continues a previous page (HistoryPage.Next); "" starts from
	// the newest version.
	Cursor string
	// Count is the page size.
	Count int
	// Total asks for the number of versions the query selects, on every
	// page, whatever Cursor and Count.
	Total bool
}

// HistoryPage is one page of history, newest first.
type HistoryPage struct {
	Versions []*fhir.Resource
	// Next is the cursor of the following page, "" on the last page.
	Next string
	// Total is the number of versions the query selects, or -1 when not
	// asked for.
	Total int
}

// SearchResult is one page of a search.
type SearchResult struct {
	// Resources are the page's matches, in the query's order.
	Resources []*fhir.Resource
	// Next is the cursor of the following page, "" on the last page.
	Next string
	// Prev is the cursor of the page before, "" on the first page. A
	// cursor of the page before reads the matches before the page's first
	// (keyset paging backwards); when none is left before them it reads
	// the first page.
	Prev string
	// Total is the number of matches, or -1 when not counted.
	Total int
}
