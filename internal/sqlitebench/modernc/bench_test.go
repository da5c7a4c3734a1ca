package modernc

import (
	"testing"

	"github.com/cpms-fhir/cpms/internal/sqlitebench"
	_ "modernc.org/sqlite"
)

func BenchmarkModernc(b *testing.B) {
	sqlitebench.Run(b, "sqlite", func(p string) string { return "file:" + p + "?_pragma=busy_timeout(5000)" })
}
