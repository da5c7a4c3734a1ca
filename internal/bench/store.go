package bench

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/store/mongo"
	"github.com/cpms-fhir/cpms/fhir/store/sqlite"
)

// openStore opens the store a benchmark uses: the embedded store in dir,
// or, when uri is set, a MongoDB database named after dir, emptied first
// unless keep.
func openStore(ctx context.Context, log *slog.Logger, uri, dir string, keep bool) (engine.Store, error) {
	if uri == "" {
		return sqlite.Open(ctx, dir, sqlite.Options{Logger: log})
	}
	name := "cpms_bench_" + strings.NewReplacer(".", "_", "/", "_", " ", "_").Replace(filepath.Base(dir))
	if !keep {
		if err := mongo.DropDatabase(ctx, uri, name); err != nil {
			return nil, err
		}
	}
	return mongo.Open(ctx, uri, mongo.Options{Logger: log, Database: name})
}
