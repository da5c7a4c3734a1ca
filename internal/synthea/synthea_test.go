package synthea

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cpms-fhir/cpms/internal/testfixture"
)

func TestArchive(t *testing.T) {
	archive := testfixture.SharedData(t, "fhir", "synthea-r4.tar.gz")
	bundles, resources := 0, 0
	err := ReadArchive(archive, func(name string, data []byte) error {
		bundles++
		rs, err := Resources(data)
		if err != nil {
			return err
		}
		resources += len(rs)
		for _, r := range rs {
			if bytes.Contains(r.Body, []byte("urn:uuid:")) {
				t.Errorf("%s: %s/%s still refers by urn:uuid", name, r.Type, r.ID)
			}
		}
		if bundles == 1 {
			if c := Replicate(rs, 0); len(c) != len(rs) || c[0].ID != rs[0].ID {
				t.Errorf("copy 0 is not the original")
			}
			c := Replicate(rs, 7)
			for i, r := range c {
				if !strings.HasSuffix(string(r.ID), "-7") || !json.Valid(r.Body) {
					t.Errorf("copy of %s/%s: id %s", rs[i].Type, rs[i].ID, r.ID)
				}
				if !bytes.Contains(r.Body, []byte(`"id":"`+string(r.ID)+`"`)) {
					t.Errorf("copy of %s/%s does not carry its new id", rs[i].Type, rs[i].ID)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if bundles != 200 || resources != 52434 {
		t.Errorf("%d bundles, %d resources; the archive holds 200 and 52,434", bundles, resources)
	}
}
