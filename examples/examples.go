package examples

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// Dir is the directory of the Bundles in this package.
const Dir = "eurobloodnet"

//go:embed eurobloodnet/*.json
var files embed.FS

// Bundle is one transaction Bundle of the data set.
type Bundle struct {
	// Name is the file name, e.g. "02-patient-be10-006.json".
	Name string
	// JSON is the Bundle as stored in the file.
	JSON []byte
}

// Bundles returns the Bundles in the order they load: the network and its
// people first, then the patients, then the panels, so that every
// reference names a resource loaded before or with it.
func Bundles() ([]Bundle, error) {
	names, err := fs.Glob(files, Dir+"/*.json")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]Bundle, 0, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Bundle{Name: path.Base(n), JSON: b})
	}
	return out, nil
}

// Entries returns the writes of a transaction Bundle as the engine takes
// them. The examples hold only PUTs to Type/id, which is all it accepts.
func (b Bundle) Entries() ([]engine.TxEntry, error) {
	var in struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
			Request  struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b.JSON, &in); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name, err)
	}
	if in.ResourceType != "Bundle" || in.Type != "transaction" {
		return nil, fmt.Errorf("%s: not a transaction Bundle", b.Name)
	}
	out := make([]engine.TxEntry, len(in.Entry))
	for i, en := range in.Entry {
		typ, id, ok := strings.Cut(en.Request.URL, "/")
		if en.Request.Method != "PUT" || !ok || id == "" || strings.ContainsAny(id, "/?") || len(en.Resource) == 0 {
			return nil, fmt.Errorf("%s: entry %d is not a PUT of a resource to Type/id", b.Name, i)
		}
		out[i] = engine.TxEntry{Index: i, FullURL: en.FullURL, Method: "PUT",
			Type: fhir.ResourceType(typ), ID: fhir.ID(id), Body: en.Resource}
	}
	return out, nil
}

// Transactor carries out transactions: the engine.
type Transactor interface {
	Transaction(ctx context.Context, entries []engine.TxEntry) ([]*engine.Result, error)
}

var _ Transactor = (*engine.Engine)(nil)

// Loaded counts what loading a Bundle did.
type Loaded struct {
	Bundle                      string
	Created, Updated, Unchanged int
}

// Load loads every Bundle, in order, each as one transaction, and returns
// what each did. Loading again creates and updates nothing: every entry
// is a PUT of the same content to the same id. It stops at the first
// Bundle that fails, which names it.
func Load(ctx context.Context, tx Transactor) ([]Loaded, error) {
	bundles, err := Bundles()
	if err != nil {
		return nil, err
	}
	var out []Loaded
	for _, b := range bundles {
		entries, err := b.Entries()
		if err != nil {
			return out, err
		}
		results, err := tx.Transaction(ctx, entries)
		if err != nil {
			return out, fmt.Errorf("example %s: %w", b.Name, err)
		}
		l := Loaded{Bundle: b.Name}
		for _, r := range results {
			switch {
			case r.Created:
				l.Created++
			case r.Unchanged:
				l.Unchanged++
			default:
				l.Updated++
			}
		}
		out = append(out, l)
	}
	return out, nil
}
