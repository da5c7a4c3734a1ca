package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cpms-fhir/cpms/internal/ferret"
)

// TestTransactionSurvivesKill kills the server with SIGKILL while it
// writes a transaction of thousands of entries, restarts it on the same
// data, and checks that none of the entries is there, and that the store
// takes writes again.
func TestTransactionSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	testTransactionSurvivesKill(t)
}

// TestTransactionSurvivesKillMongo is TestTransactionSurvivesKill on the
// MongoDB adapter (FerretDB).
func TestTransactionSurvivesKillMongo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary and a FerretDB")
	}
	f := ferret.Start(t)
	testTransactionSurvivesKill(t, "--mongodb-uri", f.URI()+"cpms")
}

// testTransactionSurvivesKill runs the kill test with the server's store
// chosen by extra flags (the embedded store in a new directory by default).
func testTransactionSurvivesKill(t *testing.T, extra ...string) {
	bin := buildBinary(t)
	data := t.TempDir()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"serve", "--data", data, "--log-level", "debug"}, extra...)...)
	cmd.Env = append(os.Environ(), "CPMS_ADDR="+addr)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	writing := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "transaction prepared; writing") {
				close(writing)
				signalled = true
			}
		}
	}()
	base := "http://" + addr
	if err := waitHealthy(base); err != nil {
		t.Fatal(err)
	}

	const n = 4000
	entries := make([]any, n)
	for i := range entries {
		entries[i] = map[string]any{
			"fullUrl": fmt.Sprintf("urn:uuid:00000000-0000-0000-0000-%012d", i),
			"resource": map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"family": "Crash"}},
				"identifier": []any{map[string]any{"system": "urn:crash", "value": fmt.Sprint(i)}}},
			"request": map[string]any{"method": "POST", "url": "Patient"},
		}
	}
	body, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post(base+"/fhir", "application/fhir+json", bytes.NewReader(body))
		if err != nil {
			answered <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case <-writing:
	case <-time.After(2 * time.Minute):
		t.Fatal("the server never started writing the transaction")
	}
	time.Sleep(50 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if status := <-answered; status != 0 {
		t.Fatalf("the transaction was answered (%d) before the kill: it must be larger for this test to mean anything", status)
	}

	base, _, logs := startServer(t, bin, data, extra...)
	var res struct {
		Total int `json:"total"`
	}
	resp, err := http.Get(base + "/fhir/Patient?_summary=count")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if res.Total != 0 {
		t.Errorf("%d Patients of the killed transaction are stored, want none", res.Total)
	}
	resp, err = http.Get(base + "/fhir/Patient/_history?_count=1")
	if err != nil {
		t.Fatal(err)
	}
	var hist struct {
		Entry []any `json:"entry"`
	}
	json.NewDecoder(resp.Body).Decode(&hist)
	resp.Body.Close()
	if len(hist.Entry) != 0 {
		t.Errorf("the Patient history holds versions of the killed transaction")
	}
	// The store takes writes again.
	resp, err = http.Post(base+"/fhir/Patient", "application/fhir+json", strings.NewReader(`{"resourceType":"Patient"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("a create after the restart: %d\n%s", resp.StatusCode, logs.String())
	}
}
