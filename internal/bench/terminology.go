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
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	opts.Progress.Info("starting the server", "binary", opts.Binary)
	start := time.Now()
	cmd := exec.CommandContext(ctx, opts.Binary, "serve", "--data", dir, "--addr", addr, "--log-format", "text")
	cmd.Stdout = io.Discard
	logs, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	// The server logs when its type-ahead indexes are built, in the
	// background after it starts answering.
	warm := make(chan time.Duration, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "terminology indexes built") {
				warm <- time.Since(start)
			}
		}
	}()
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	base := "http://" + addr
	c := newClient(1)
	for {
		if _, err := c.get(ctx, base+"/healthz"); err == nil {
			break
		}
		if time.Since(start) > time.Minute {
			return fmt.Errorf("the server did not answer within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	startup := time.Since(start)
	rss, err := residentMemory(cmd.Process.Pid)
	if err != nil {
		return err
	}
	var ready time.Duration
	select {
	case ready = <-warm:
	case <-time.After(time.Minute):
		return fmt.Errorf("the server did not build its terminology indexes within a minute")
	}
	rssWarm, err := residentMemory(cmd.Process.Pid)
	if err != nil {
		return err
	}
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
	fmt.Fprintf(out, "# Terminology bench\n\nstart-up to first answer: %v (resident memory %d MiB); type-ahead indexes built after %v (resident memory %d MiB)\n\n",
		startup.Round(time.Millisecond), rss>>20, ready.Round(time.Millisecond), rssWarm>>20)
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
