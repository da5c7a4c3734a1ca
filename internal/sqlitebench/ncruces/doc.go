// Package ncruces benchmarks one SQLite driver candidate; see package sqlitebench.
package ncruces
