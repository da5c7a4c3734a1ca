// Package sqlitebench holds the benchmark that chose the SQLite driver of the
// embedded store (fhir/store/sqlite). It runs the store's own access pattern
// (versioned resource writes in short transactions, current-version reads by
// primary key, concurrent readers beside one writer) against each candidate
// driver: modernc.org/sqlite (pure Go, transpiled C), github.com/mattn/go-sqlite3
// (cgo) and github.com/ncruces/go-sqlite3 (WebAssembly on wazero).
//
// Each driver registers itself under its own name, and two of them under the
// same name, so each lives in its own sub-package; run all three in one go:
//
//	go test -run '^$' -bench . -benchtime 3s ./internal/sqlitebench/...
//
// The figures and the decision are recorded in docs/performance.md.
package sqlitebench
