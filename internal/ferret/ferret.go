// Package ferret runs an embedded FerretDB server for tests: a real
// MongoDB wire-protocol server, with its data in SQLite files, that needs
// no download or installation. The MongoDB adapter's tests, and the REST,
// search and bundle tests run on that adapter, connect to it through the
// official driver exactly as they would to MongoDB.
//
// FerretDB is not MongoDB: it never uses an index, has no multi-document
// transactions, and its updates guarded by a filter are not atomic under
// concurrency (see the design notes). Figures measured on it say nothing of
// MongoDB's speed.
package ferret

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Server is a running embedded FerretDB.
type Server struct {
	dir  string
	addr string
	log  *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start starts a server with its data in a new temporary directory of t,
// listening on a free loopback port, and stops it when t ends. FerretDB's
// own log goes to t.Log only when the test fails verbosely; it is quiet
// otherwise.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := StartIn(t.TempDir(), slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		t.Fatalf("ferret: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartIn starts a server with its data in dir on a free loopback port.
// The caller stops it.
func StartIn(dir string, log *slog.Logger) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return nil, err
	}
	return StartAt(addr, dir, log)
}

// StartAt starts a server listening on addr with its data in dir. The
// caller stops it.
func StartAt(addr, dir string, log *slog.Logger) (*Server, error) {
	s := &Server{dir: dir, addr: addr, log: log}
	return s, s.run()
}

// URI returns the MongoDB connection string of the server.
func (s *Server) URI() string { return "mongodb://" + s.addr + "/" }

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// Port returns the port the server listens on.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// run starts FerretDB on s.addr and waits until it accepts connections.
func (s *Server) run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return errors.New("ferret: the server is running")
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: s.addr},
		Logger:    s.log,
		Handler:   "sqlite",
		SQLiteURL: "file:" + s.dir + "/",
	})
	if err != nil {
		return fmt.Errorf("ferret: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx) // returns when ctx is cancelled
	}()
	s.cancel, s.done = cancel, done
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ferret: the server did not listen on %s: %w", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the server and waits until it has closed its files. It can
// be started again with Restart, on the same address and data.
func (s *Server) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// Restart starts a stopped server again on the same address and data.
func (s *Server) Restart() error { return s.run() }
