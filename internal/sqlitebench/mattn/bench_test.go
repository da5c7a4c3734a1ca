package mattn

import (
	"testing"

	"github.com/cpms-fhir/cpms/internal/sqlitebench"
	_ "github.com/mattn/go-sqlite3"
)

func BenchmarkMattn(b *testing.B) {
	sqlitebench.Run(b, "sqlite3", func(p string) string { return "file:" + p + "?_busy_timeout=5000" })
}
