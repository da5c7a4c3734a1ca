package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cpms-fhir/cpms/terminology"
)

// TerminologyOptions configure the terminology bench.
type TerminologyOptions struct {
	// Binary is the cpms executable started as the server under test.
	Binary string
	// Requests is the number of requests per operation for the
	// percentiles.
	Requests int
	Progress *slog.Logger
}

// benchSystems are the code systems the bench queries: the four large
// ones CPMS forms are coded in.
var benchSystems = []string{terminology.HPOURL, terminology.OrphaURL, terminology.ICD10URL, terminology.LOINCURL}

// Terminology starts `cpms serve` on an empty data directory, measures
// how long it takes to answer and its resident memory with the seed
// loaded, then the latency of $expand with three-letter filters (the
// type-ahead of a form), $lookup and $validate-code, one request at a
// time, and writes a report to out.
func Terminology(ctx context.Context, opts TerminologyOptions, out io.Writer) error {
	if opts.Requests <= 0 {
		opts.Requests = 500
	}
	svc := terminology.New()
	if err := terminology.LoadSeed(svc); err != nil {
		return err
	}
	var systems []*terminology.System
	for _, u := range benchSystems {
		sys, ok := svc.System(u, "")
		if !ok {
			return fmt.Errorf("the seed has no %s", u)
		}
		systems = append(systems, sys)
	}
	dir, err := os.MkdirTemp("", "cpms-bench-terminology-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// First start, on an empty data directory: the server answers, builds
	// its indexes, and stores the seed as resources, in that order.
	opts.Progress.Info("starting the server on an empty data directory", "binary", opts.Binary)
	first, err := startServer(ctx, opts.Binary, dir)
	if err != nil {
		return err
	}
	firstReady, err := first.wait("terminology indexes built", time.Minute)
	if err == nil {
		opts.Progress.Info("waiting for the server to store the seed as resources")
		_, err = first.wait("terminology seed stored", 5*time.Minute)
	}
	if err != nil {
		first.stop()
		return err
	}
	firstRSS, err := residentMemory(first.cmd.Process.Pid)
	first.stop()
	if err != nil {
		return err
	}
	// The measured start: a restart on that directory, as in production.
	opts.Progress.Info("restarting the server")
	srv, err := startServer(ctx, opts.Binary, dir)
	if err != nil {
		return err
	}
	defer srv.stop()
	startupRSS, err := residentMemory(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	ready, err := srv.wait("terminology indexes built", time.Minute)
	if err != nil {
		return err
	}
	rss, err := residentMemory(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	base, c := srv.base, srv.client
	// A value set of all four systems, as a form field coded in any of
	// them would bind.
	var inc []string
	for _, u := range benchSystems {
		inc = append(inc, `{"system":"`+u+`"}`)
	}
	vs := `{"resourceType":"ValueSet","id":"bench-all","url":"http://cpms.example.org/ValueSet/bench-all","status":"active","compose":{"include":[` + strings.Join(inc, ",") + `]}}`
	if err := c.put(ctx, base+"/fhir/ValueSet/bench-all", vs); err != nil {
		return err
	}

	rng := rand.New(rand.NewPCG(1, 2))
	fhirBase := base + "/fhir"
	type op struct {
		name string
		path func() string
	}
	filter := func(sys *terminology.System) string { return wordPrefix(sys, rng) }
	var ops []op
	for _, sys := range systems {
		ops = append(ops, op{"$expand filter (3 letters), " + sys.Title, func() string {
			return "/ValueSet/$expand?count=20&url=" + url.QueryEscape(sys.URL+"?fhir_vs") + "&filter=" + url.QueryEscape(filter(sys))
		}})
	}
	ops = append(ops,
		op{"$expand filter (3 letters), all four", func() string {
			return "/ValueSet/$expand?count=20&url=" + url.QueryEscape("http://cpms.example.org/ValueSet/bench-all") +
				"&filter=" + url.QueryEscape(filter(systems[rng.IntN(len(systems))]))
		}},
		op{"$lookup", func() string {
			sys := systems[rng.IntN(len(systems))]
			return "/CodeSystem/$lookup?system=" + url.QueryEscape(sys.URL) + "&code=" + url.QueryEscape(sampleCode(sys, rng))
		}},
		op{"CodeSystem/$validate-code", func() string {
			sys := systems[rng.IntN(len(systems))]
			return "/CodeSystem/$validate-code?url=" + url.QueryEscape(sys.URL) + "&code=" + url.QueryEscape(sampleCode(sys, rng))
		}},
		op{"ValueSet/$validate-code (all four)", func() string {
			sys := systems[rng.IntN(len(systems))]
			return "/ValueSet/$validate-code?url=" + url.QueryEscape("http://cpms.example.org/ValueSet/bench-all") +
				"&system=" + url.QueryEscape(sys.URL) + "&code=" + url.QueryEscape(sampleCode(sys, rng))
		}},
	)
	fmt.Fprintf(out, "# Terminology bench\n\n"+
		"first start (empty data directory): first answer after %v, indexes built after %v, seed stored as resources after %v (resident memory then %d MiB)\n\n"+
		"restart: first answer after %v (resident memory %d MiB), indexes built after %v (resident memory %d MiB)\n\n",
		first.answered.Round(time.Millisecond), firstReady.Round(time.Millisecond), first.last.Round(time.Millisecond), firstRSS>>20,
		srv.answered.Round(time.Millisecond), startupRSS>>20, ready.Round(time.Millisecond), rss>>20)
	for _, sys := range systems {
		fmt.Fprintf(out, "- %s %s: %d concepts\n", sys.URL, sys.Version, sys.Len())
	}
	fmt.Fprintf(out, "\n| operation | requests | p50 | p99 |\n|---|---|---|---|\n")
	for _, o := range ops {
		opts.Progress.Info("measuring", "operation", o.name)
		for range 20 { // warm up
			if _, err := c.get(ctx, fhirBase+o.path()); err != nil {
				return err
			}
		}
		lat := make([]time.Duration, 0, opts.Requests)
		for range opts.Requests {
			p := o.path()
			t0 := time.Now()
			if _, err := c.get(ctx, fhirBase+p); err != nil {
				return err
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		fmt.Fprintf(out, "| %s | %d | %s | %s |\n", o.name, len(lat), msText(lat[len(lat)/2]), msText(lat[len(lat)*99/100]))
	}
	return nil
}

// sampleCode picks a code of sys at random.
func sampleCode(sys *terminology.System, rng *rand.Rand) string {
	code, _ := sys.Concept(rng.IntN(sys.Len()))
	return code
}

// wordPrefix picks the first three letters of a word of three letters or
// more in the display of a random concept of sys: what a clinician types
// before the form suggests codes.
func wordPrefix(sys *terminology.System, rng *rand.Rand) string {
	for {
		_, display := sys.Concept(rng.IntN(sys.Len()))
		var words []string
		for _, w := range strings.FieldsFunc(display, func(r rune) bool { return !unicode.IsLetter(r) }) {
			if len(w) >= 3 && w[0] < 0x80 && w[1] < 0x80 && w[2] < 0x80 {
				words = append(words, strings.ToLower(w[:3]))
			}
		}
		if len(words) > 0 {
			return words[rng.IntN(len(words))]
		}
	}
}

func msText(d time.Duration) string { return strconv.FormatFloat(ms(d), 'f', 2, 64) + " ms" }

// serverProc is a `cpms serve` process under test.
type serverProc struct {
	cmd    *exec.Cmd
	base   string
	client *client
	start  time.Time
	// answered is how long it took to answer /healthz; last is when the
	// awaited log message came.
	answered, last time.Duration
	lines          chan string
}

// startServer starts `cpms serve` on dir and waits until it answers.
func startServer(ctx context.Context, binary, dir string) (*serverProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &serverProc{base: "http://" + addr, client: newClient(1), start: time.Now(), lines: make(chan string, 64)}
	s.cmd = exec.CommandContext(ctx, binary, "serve", "--data", dir, "--addr", addr, "--log-format", "text")
	s.cmd.Stdout = io.Discard
	logs, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			default: // nobody waits for this line
			}
		}
	}()
	for {
		if _, err := s.client.get(ctx, s.base+"/healthz"); err == nil {
			break
		}
		if time.Since(s.start) > time.Minute {
			s.stop()
			return nil, fmt.Errorf("the server did not answer within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.answered = time.Since(s.start)
	return s, nil
}

// wait waits for a log line containing msg and returns when it came,
// from the start.
func (s *serverProc) wait(msg string, limit time.Duration) (time.Duration, error) {
	timeout := time.After(limit)
	for {
		select {
		case line := <-s.lines:
			if strings.Contains(line, msg) {
				s.last = time.Since(s.start)
				return s.last, nil
			}
		case <-timeout:
			return 0, fmt.Errorf("the server did not log %q within %v", msg, limit)
		}
	}
}

// stop interrupts the server and waits for it to exit.
func (s *serverProc) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// residentMemory reads a process's resident set size (VmRSS) in bytes.
func residentMemory(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("resident memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("resident memory: no VmRSS for process %d", pid)
}
