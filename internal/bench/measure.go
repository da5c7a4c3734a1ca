package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are the measurements of one request kind.
type Stats struct {
	P50, P99 time.Duration
	PerSec   float64
	Requests int
}

// client sends requests to the server under test and checks their status.
type client struct {
	http *http.Client
}

func newClient(conns int) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	return &client{http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// get fetches url and fails unless it answers 200.
func (c *client) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %.300s", url, resp.StatusCode, body)
	}
	return body, nil
}

// put stores body at url and fails unless it answers 200 or 201.
func (c *client) put(ctx context.Context, url, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("PUT %s: %d %.300s", url, resp.StatusCode, b)
	}
	return nil
}

// latencies sends the requests of paths one after another, each to every
// target in turn, and returns each target's percentiles.
func (c *client) latencies(ctx context.Context, targets []*target, paths []func(t *target) string) ([]Stats, error) {
	lat := make([][]time.Duration, len(targets))
	for _, path := range paths {
		for j, t := range targets {
			start := time.Now()
			if _, err := c.get(ctx, t.base+path(t)); err != nil {
				return nil, err
			}
			lat[j] = append(lat[j], time.Since(start))
		}
	}
	out := make([]Stats, len(targets))
	for j, l := range lat {
		slices.Sort(l)
		out[j] = Stats{P50: quantile(l, 50), P99: quantile(l, 99), Requests: len(l)}
	}
	return out, nil
}

// throughput sends next(i) requests from clients goroutines for d and
// returns the requests answered per second.
func (c *client) throughput(ctx context.Context, clients int, d time.Duration, next func(i int) string) (float64, error) {
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; time.Now().Before(stop); i += clients {
				if _, err := c.get(ctx, next(i)); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds(), firstErr
}

// quantile returns the p-th percentile of sorted: its element at index
// len*p/100 (the last for p = 100).
func quantile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

// timings collects the durations of operations run concurrently.
type timings struct {
	mu sync.Mutex
	d  []time.Duration
}

// time runs fn and records how long it took.
func (t *timings) time(fn func() error) error {
	start := time.Now()
	err := fn()
	d := time.Since(start)
	t.mu.Lock()
	t.d = append(t.d, d)
	t.mu.Unlock()
	return err
}

// sorted returns the durations recorded, shortest first.
func (t *timings) sorted() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.d)
	slices.Sort(out)
	return out
}
