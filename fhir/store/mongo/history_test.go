package mongo

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/internal/ferret"
)

// TestHistoryTotalMatchesItsPage: a version committed after a history's
// first page is read and before its total is counted is neither listed
// nor counted, so that the total is that of the pages a client walks.
func TestHistoryTotalMatchesItsPage(t *testing.T) {
	f := ferret.Start(t)
	ctx := t.Context()
	s, err := Open(ctx, f.URI(), Options{Logger: slog.New(slog.DiscardHandler), Database: "historytotal"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put := func(v int64) {
		t.Helper()
		err := s.Write(ctx, func(tx engine.Tx) error {
			method := fhir.MethodPut
			if v == 1 {
				method = fhir.MethodPost
			}
			return tx.Put(ctx, &fhir.Resource{Type: "Patient", ID: "p", Version: v, Method: method, LastUpdated: tx.Now(),
				Body: []byte(fmt.Sprintf(`{"resourceType":"Patient","id":"p","birthDate":"19%02d"}`, v))}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for v := int64(1); v <= 3; v++ {
		put(v)
	}
	for _, q := range []engine.HistoryQuery{{Count: 10, Total: true}, {Type: "Patient", Count: 10, Total: true}, {Type: "Patient", ID: "p", Count: 2, Total: true}} {
		s.afterHistoryPage = func() {
			s.afterHistoryPage = nil
			v := int64(4)
			if cur, err := s.Read(ctx, "Patient", "p"); err == nil {
				v = cur.Version + 1
			}
			put(v)
		}
		page, err := s.History(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		before, err := s.History(ctx, engine.HistoryQuery{Type: q.Type, ID: q.ID, Count: 100})
		if err != nil {
			t.Fatal(err)
		}
		// The history now holds one version more than the page saw.
		if want := len(before.Versions) - 1; page.Total != want {
			t.Errorf("%+v: total %d, want %d (the versions before the one written after the page)", q, page.Total, want)
		}
		if page.Versions[0].Version == before.Versions[0].Version {
			t.Errorf("%+v: the page lists the version written after it", q)
		}
	}
}
