// Package storetest is the contract test suite of engine.Store: every
// storage adapter runs it, so that the engine behaves the same on each of
// them.
//
// An adapter's test calls Run with a function that opens a fresh, empty
// store:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) engine.Store {
//			s, err := mystore.Open(t.Context(), t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Each subtest calls open once and the suite closes the store when the
// subtest ends (a failing Close fails the subtest); open may register its
// own t.Cleanup functions, which run after that Close.
//
// The subtests are grouped by concern: CRUD, Versioning, Transactions,
// Concurrency, Search, History and Settings. An adapter that cannot provide a
// guarantee yet says so with Options, giving the reason that the skipped
// subtests report; the SQLite adapter skips nothing. Concurrency subtests
// race goroutines against the store, so run the suite with -race.
//
// The Search group is built from search vectors (vectors.go): fixtures
// whose index values are written by hand, as the extractor would make
// them, and queries written as search.Query values, as the parser would
// make them, each with the resources it must find. Every vector is
// checked read in one page, in pages of two (each match once), by its
// accurate total, and from inside a write transaction. One subtest per
// kind of search (Tokens, Strings, Dates, Numbers, Quantities, References,
// URIs, Composites, Missing, Chains, ReverseChains, System...) so that an
// adapter can skip a kind it does not support yet by name; the ordering
// subtests (Sort, PagingWhileWriting, Totals) check orders and paging.
// The suite never uses the parser or the extractor: it tests the store
// alone, and runs unchanged on every adapter.
package storetest
