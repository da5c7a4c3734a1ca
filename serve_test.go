package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds the cpms command once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cpms")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer starts the binary on a fresh address and data directory and
// waits until /healthz answers. It returns the base URL and the process.
func startServer(t *testing.T, bin, data string, extra ...string) (string, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	addr := freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, append([]string{"serve", "--data", data}, extra...)...)
	cmd.Env = append(os.Environ(), "CPMS_ADDR="+addr)
	cmd.Stderr = &logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	base := "http://" + addr
	if err := waitHealthy(base); err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	t.Logf("server answered %v after start", time.Since(start).Round(time.Millisecond))
	return base, cmd, &logs
}

// waitHealthy waits up to 30 s for the server at base to answer /healthz.
func waitHealthy(base string) error {
	start := time.Now()
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Since(start) > 30*time.Second {
			return fmt.Errorf("server did not answer: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeFreshDirectoryAndShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "does", "not", "exist")
	base, cmd, logs := startServer(t, bin, data, "--base-url", "https://cpms.example.org/fhir")
	if _, err := os.Stat(filepath.Join(data, "cpms.db")); err != nil {
		t.Fatalf("data directory not created: %v", err)
	}

	// The configured base URL is used in Location.
	resp, err := http.Post(base+"/fhir/Patient", "application/fhir+json", strings.NewReader(`{"resourceType":"Patient","active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(resp.Header.Get("Location"), "https://cpms.example.org/fhir/Patient/") {
		t.Fatalf("create: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A request whose body is still arriving when SIGTERM comes must finish.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPut, base+"/fhir/Patient/inflight", pr)
	req.Header.Set("Content-Type", "application/fhir+json")
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("in-flight request: %v", err)
			done <- nil
			return
		}
		done <- resp
	}()
	if _, err := pw.Write([]byte(`{"resourceType":"Patient","id":"inflight",`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the request reach the handler
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused once shutdown has begun.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pw.Write([]byte(`"active":false}`))
	pw.Close()
	if resp := <-done; resp == nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight request did not complete: %+v", resp)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("server exit: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "store closed") {
		t.Errorf("the store was not closed cleanly:\n%s", logs.String())
	}

	// The in-flight write is durable: a new server on the directory reads it.
	base, cmd, _ = startServer(t, bin, data)
	resp, err = http.Get(base + "/fhir/Patient/inflight")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Active *bool `json:"active"`
	}
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || p.Active == nil || *p.Active {
		t.Fatalf("after restart: %d %+v", resp.StatusCode, p)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
}

func TestServeLogsRequestsWithID(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	base, cmd, logs := startServer(t, bin, t.TempDir())
	req, _ := http.NewRequest(http.MethodGet, base+"/fhir/Patient/missing", nil)
	req.Header.Set("X-Request-Id", "trace-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "trace-42" {
		t.Errorf("X-Request-Id = %q", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	// One JSON log line per request, carrying the request id and status.
	found := false
	sc := bufio.NewScanner(bytes.NewReader(logs.Bytes()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if line["msg"] == "request" && line["request_id"] == "trace-42" && line["status"] == float64(404) {
			found = true
		}
	}
	if !found {
		t.Errorf("no request log line with the request id:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "access control is not enforced") {
		t.Error("the server does not warn that access control is not enforced")
	}
}

func TestServeRefusesSharedDataDirectory(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- runServer(ctx, &serveConfig{addr: "127.0.0.1:0", store: storeFlags{data: data}, shutdownWait: time.Second}, discardLogger(), ready)
	}()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatal(err)
	}
	err := runServer(ctx, &serveConfig{addr: "127.0.0.1:0", store: storeFlags{data: data}}, discardLogger(), nil)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second server on one directory: %v", err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestRunUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"nonsense"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("unknown command: exit %d, %q", code, errOut.String())
	}
	if code := run([]string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "cpms ") {
		t.Errorf("version: exit %d, %q", code, out.String())
	}
	errOut.Reset()
	if code := run([]string{"serve", "--log-level", "loud"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "bad log level") {
		t.Errorf("bad flag: exit %d, %q", code, errOut.String())
	}
	for _, base := range []string{"cpms.example.org/fhir", "ftp://cpms.example.org/fhir", "https:///fhir", "https://cpms.example.org/fhir?x=1"} {
		errOut.Reset()
		if code := run([]string{"serve", "--base-url", base, "--data", t.TempDir()}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--base-url") {
			t.Errorf("--base-url %s: exit %d, %q", base, code, errOut.String())
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestServeCustomParametersFromTheStart checks that the CPMS search
// parameters are in force on a fresh server's first request: a Patient
// created at once is found by one, which is not ignored as unknown nor
// refused as still being backfilled.
func TestServeCustomParametersFromTheStart(t *testing.T) {
	base, stop := startServeBase(t)
	defer stop()
	patient := []byte(`{"resourceType":"Patient","extension":[{"url":"http://cpms-fhir.org/fhir/StructureDefinition/cpms-frozen","valueBoolean":true}]}`)
	for n := 1; n <= 2; n++ {
		if status, out := lformsDo(t, http.MethodPost, base+"Patient", patient); status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, out)
		}
		status, out := lformsDo(t, http.MethodGet, base+"Patient?frozen=true", nil)
		if status != http.StatusOK {
			t.Fatalf("search by frozen: %d %v", status, out)
		}
		entries, _ := out["entry"].([]any)
		for _, e := range entries {
			if mode, _ := e.(map[string]any)["search"].(map[string]any)["mode"].(string); mode != "match" {
				t.Fatalf("search by frozen: an entry of mode %q: %v", mode, e)
			}
		}
		if len(entries) != n {
			t.Fatalf("search by frozen found %d, want %d: %v", len(entries), n, out)
		}
	}
}
