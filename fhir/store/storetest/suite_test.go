package storetest

import "testing"

// TestSubtestNames checks that subtest names are unique, so that
// Options.Skip names exactly one.
func TestSubtestNames(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range groups() {
		if len(g.tests) == 0 {
			t.Errorf("group %s has no subtests", g.name)
		}
		for _, tc := range g.tests {
			name := g.name + "/" + tc.name
			if seen[name] {
				t.Errorf("two subtests are named %s", name)
			}
			seen[name] = true
			if tc.run == nil {
				t.Errorf("%s has no function", name)
			}
		}
	}
}

// TestSkipReason checks which subtests Options skip, and why.
func TestSkipReason(t *testing.T) {
	o := Options{
		SkipAtomicConcurrency: "no atomic updates",
		SkipAtomicVisibility:  "no transactions",
		Skip:                  map[string]string{"History/At": "not yet"},
	}
	cases := []struct {
		name string
		need need
		opts Options
		want string
	}{
		{"History/At", needNothing, o, "not yet"},
		{"History/Since", needNothing, o, ""},
		{"Concurrency/ReadModifyWrite", needAtomicConcurrency, o, "no atomic updates"},
		{"Concurrency/ReadersSeeWholeTransactions", needAtomicVisibility, o, "no transactions"},
		{"Concurrency/ReadModifyWrite", needAtomicConcurrency, Options{}, ""},
		{"Concurrency/ReadersSeeWholeTransactions", needAtomicVisibility, Options{}, ""},
	}
	for _, c := range cases {
		if got := c.opts.skipReason(c.name, c.need); got != c.want {
			t.Errorf("skipReason(%s) = %q, want %q", c.name, got, c.want)
		}
	}
}
