package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
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

// measure runs next() requests one after another for latency (n of them),
// then from clients goroutines for d for throughput.
func (c *client) measure(ctx context.Context, n, clients int, d time.Duration, next func(i int) string) (Stats, error) {
	lat := make([]time.Duration, 0, n)
	for i := range n {
		u := next(i)
		start := time.Now()
		if _, err := c.get(ctx, u); err != nil {
			return Stats{}, err
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	st := Stats{P50: lat[len(lat)/2], P99: lat[min(len(lat)-1, len(lat)*99/100)], Requests: n}

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
	st.PerSec = float64(done.Load()) / time.Since(start).Seconds()
	return st, firstErr
}
