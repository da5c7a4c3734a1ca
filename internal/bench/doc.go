// Package bench holds the benchmark commands of cpms ("cpms bench ..."):
// they load realistic data into a fresh embedded store, run a fixed mix of
// requests through the real HTTP server, and print latency percentiles and
// throughput, so that figures in docs/performance.md can be reproduced
// with one command.
package bench
