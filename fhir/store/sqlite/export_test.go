package sqlite

// ForcePlan makes every search use one kind of plan wherever it applies:
// "scan" (every clause tested on every resource), "drive" (the most
// selective clause's index, then sort), "walk" (an index in rid or key
// order), "group" (a chain or reverse chain read group by group). It
// returns the function that gives the choice back to the planner.
func ForcePlan(p string) func() {
	v := map[string]int32{"scan": forceScan, "drive": forceDrive, "walk": forceWalk, "group": forceGroup}[p]
	forcedPlan.Store(v)
	return func() { forcedPlan.Store(forceNone) }
}
