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
// Concurrency, Search and History. An adapter that cannot provide a
// guarantee yet says so with Options, giving the reason that the skipped
// subtests report; the SQLite adapter skips nothing. Concurrency subtests
// race goroutines against the store, so run the suite with -race.
package storetest
