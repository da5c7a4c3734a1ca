package sqlite

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

var explain = flag.Bool("searchbench.explain", false, "print the SQL and query plans of the benchmark's query mix")

// queryPlan returns EXPLAIN QUERY PLAN of query on the store's readers, one
// line per step, indented by depth.
func queryPlan(ctx context.Context, s *Store, query string, args []any) (string, error) {
	rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	depth := map[int]int{}
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return "", err
		}
		depth[id] = depth[parent] + 1
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth[id]), detail)
	}
	return b.String(), rows.Err()
}

// traced runs fn and returns the statements the store ran meanwhile,
// with their arguments.
func traced(fn func()) (stmts []string, args [][]any) {
	f := func(q string, a []any) {
		stmts = append(stmts, q)
		args = append(args, append([]any(nil), a...))
	}
	traceSQL.Store(&f)
	defer traceSQL.Store(nil)
	fn()
	return stmts, args
}

// tracedPlans runs fn and returns each statement the store ran meanwhile
// followed by its plan.
func tracedPlans(t testing.TB, s *Store, fn func()) []string {
	t.Helper()
	stmts, args := traced(fn)
	out := make([]string, len(stmts))
	for i, q := range stmts {
		plan, err := queryPlan(context.Background(), s, q, args[i])
		if err != nil {
			t.Fatal(err)
		}
		out[i] = q + "\n" + plan
	}
	return out
}

// traceMix runs each query of the mix on set and returns its statements
// with their plans.
func traceMix(t testing.TB, set *benchSet) map[string][]string {
	out := map[string][]string{}
	for _, m := range benchMix {
		rng := rand.New(rand.NewPCG(3, 3))
		out[m.name] = tracedPlans(t, set.s, func() {
			if _, err := set.s.Search(context.Background(), m.make(rng, set)); err != nil {
				t.Fatalf("%s: %v", m.name, err)
			}
		})
	}
	return out
}

// TestExplainMix prints the statements of the benchmark's query mix and
// their plans (with -searchbench.explain, on the benchmark's data set).
func TestExplainMix(t *testing.T) {
	if !*explain {
		t.Skip("run with -searchbench.explain")
	}
	set := openBenchSet(t, *benchPatients)
	plans := traceMix(t, set)
	for _, m := range benchMix {
		for _, s := range plans[m.name] {
			t.Logf("%s:\n%s", m.name, s)
		}
	}
}
