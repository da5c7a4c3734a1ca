package questionnaire

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated consultation form from the widget Questionnaires")

const formFile = "definitions/Questionnaire-" + formID + ".json"

// TestConsultationFormUpToDate checks that the consultation form file is
// what assembling the widget files gives; with -update (go generate) it
// rewrites it.
func TestConsultationFormUpToDate(t *testing.T) {
	widgets, err := widgetBodies()
	if err != nil {
		t.Fatal(err)
	}
	got, err := assemble(widgets)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(formFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(formFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with the widget Questionnaires: run go generate ./profiles/questionnaire/", formFile)
	}
}

// TestConsultationFormHasEveryWidget checks that the form has one group
// per widget, in order, holding exactly the widget's items, and nothing
// else.
func TestConsultationFormHasEveryWidget(t *testing.T) {
	formBody, ok := Questionnaires()[FormURL+"|"+Version]
	if !ok {
		t.Fatalf("the consultation form %s is not among the Questionnaires", FormURL)
	}
	var form struct {
		DerivedFrom []string `json:"derivedFrom"`
		Item        []struct {
			LinkID   string `json:"linkId"`
			Text     string `json:"text"`
			Type     string `json:"type"`
			Required bool   `json:"required"`
			Item     any    `json:"item"`
		} `json:"item"`
	}
	if err := json.Unmarshal(formBody, &form); err != nil {
		t.Fatal(err)
	}
	widgets, err := widgetBodies()
	if err != nil {
		t.Fatal(err)
	}
	if len(form.Item) != len(widgets) || len(form.DerivedFrom) != len(widgets) {
		t.Fatalf("the form has %d groups and %d derivedFrom for %d widgets", len(form.Item), len(form.DerivedFrom), len(widgets))
	}
	total := 0
	for i, body := range widgets {
		var w struct {
			ID      string `json:"id"`
			URL     string `json:"url"`
			Version string `json:"version"`
			Title   string `json:"title"`
			Item    any    `json:"item"`
		}
		if err := json.Unmarshal(body, &w); err != nil {
			t.Fatal(err)
		}
		g := form.Item[i]
		if g.LinkID != strings.TrimPrefix(w.ID, "cpms-") || g.Type != "group" || g.Text != w.Title {
			t.Errorf("group %d is %q (%s, %q), want the group of widget %s", i, g.LinkID, g.Type, g.Text, w.ID)
		}
		if !reflect.DeepEqual(g.Item, w.Item) {
			t.Errorf("the group %q does not hold exactly the items of the widget %s", g.LinkID, w.ID)
		}
		if form.DerivedFrom[i] != w.URL+"|"+w.Version {
			t.Errorf("derivedFrom[%d] = %s, want %s|%s", i, form.DerivedFrom[i], w.URL, w.Version)
		}
		f, err := parseForm(body)
		if err != nil {
			t.Fatal(err)
		}
		total += len(f.byLink)
	}
	f, err := parseForm(formBody)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.byLink) != total+len(widgets) {
		t.Errorf("the form has %d items, want %d widget items and %d groups", len(f.byLink), total, len(widgets))
	}
	if !form.Item[0].Required || form.Item[0].LinkID != "consultation-request" {
		t.Errorf("the Consultation Request group must come first and be required")
	}
}
