package ncruces

import (
	"testing"

	"github.com/cpms-fhir/cpms/internal/sqlitebench"
	_ "github.com/ncruces/go-sqlite3/driver"
)

func BenchmarkNcruces(b *testing.B) {
	sqlitebench.Run(b, "sqlite3", func(p string) string { return "file:" + p + "?_pragma=busy_timeout(5000)" })
}
