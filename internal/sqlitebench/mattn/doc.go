// Package mattn benchmarks one SQLite driver candidate; see package sqlitebench.
package mattn
