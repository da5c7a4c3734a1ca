package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLFormsProof holds the server against a real client: NLM LHC-Forms
// (npm lforms) in headless Chromium renders the CPMS consultation form the
// server serves, fills it with answer lists from the server's $expand, and
// saves the QuestionnaireResponse it exports (tools/lforms/prove.mjs, which
// also checks the server's answers). It needs node, /usr/bin/chromium and
// `npm ci --prefix tools/lforms`; it skips without them, and with -short.
// Screenshots of the form go to $LFORMS_SCREENSHOTS when set.
func TestLFormsProof(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the LHC-Forms proof starts a browser")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the LHC-Forms proof needs Node 20 (see tools/lforms/README.md)")
	}
	browser := os.Getenv("CHROMIUM")
	if browser == "" {
		browser = "/usr/bin/chromium"
	}
	if _, err := os.Stat(browser); err != nil {
		t.Skipf("no Chromium at %s: apt-get install chromium (see tools/lforms/README.md)", browser)
	}
	for _, p := range []string{"tools/lforms/node_modules/lforms", "tools/lforms/node_modules/playwright-core"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is missing: run npm ci --prefix tools/lforms", p)
		}
	}

	base, stop := startServeBase(t)
	defer stop()

	// The Questionnaires are stored with the terminology seed, in the
	// background after the start.
	form := base + "Questionnaire?url=" + url.QueryEscape("http://cpms-fhir.org/fhir/Questionnaire/cpms-consultation-form")
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, out := lformsDo(t, http.MethodGet, form, nil)
		if entries, _ := out["entry"].([]any); status == http.StatusOK && len(entries) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consultation form was not stored within 60 s: %d %v", status, out)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// The CPMS patient of the examples, with the organisations it names.
	for _, f := range []string{"Organization-ern-eurobloodnet", "Organization-centre-be10", "Patient-example-cpms-patient"} {
		body, err := os.ReadFile(filepath.Join("profiles", "definitions", "examples", f+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var res struct{ ResourceType, ID string }
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		if status, out := lformsDo(t, http.MethodPut, base+res.ResourceType+"/"+res.ID, body); status != http.StatusCreated && status != http.StatusOK {
			t.Fatalf("PUT %s/%s: %d %v", res.ResourceType, res.ID, status, out)
		}
	}

	args := []string{"tools/lforms/prove.mjs", "--base", base, "--patient", "example-cpms-patient", "--chromium", browser}
	if dir := os.Getenv("LFORMS_SCREENSHOTS"); dir != "" {
		args = append(args, "--screenshots", dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	t.Logf("node %s (%s):\n%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), out.String())
	if err != nil {
		t.Fatalf("the LHC-Forms proof failed: %v", err)
	}
}

// startServeBase is startServe (termsearch_test.go) that also gives the
// base URL of the FHIR API, for a client outside the test process.
func startServeBase(t *testing.T) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- runServer(ctx, &serveConfig{addr: "127.0.0.1:0", store: storeFlags{data: t.TempDir()}, shutdownWait: time.Second}, discardLogger(), ready)
	}()
	select {
	case addr := <-ready:
		base = "http://" + addr + "/fhir/"
	case err := <-errc:
		cancel()
		t.Fatal(err)
	}
	return base, func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

// lformsDo sends a request to the server and decodes its JSON answer.
func lformsDo(t *testing.T, method, u string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(fmt.Errorf("%s %s: %w", method, u, err))
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
