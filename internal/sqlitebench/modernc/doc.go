// Package modernc benchmarks one SQLite driver candidate; see package sqlitebench.
package modernc
