package bulk

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// A Resolver finds the resources that search criteria match, in the store
// a load goes into. The conditional parts of a Bundle resolve through it
// as a transaction resolves them: a conditional create (ifNoneExist) that
// matches a resource is that resource, and a conditional reference
// ("Patient?identifier=s|v") becomes a reference to its one match.
type Resolver interface {
	// Match returns the ids of at most two resources of type t that
	// criteria ("identifier=s|v") match. Criteria the store cannot
	// evaluate give a *fhir.Error of kind KindInvalid; any other error
	// stops the load.
	Match(ctx context.Context, t fhir.ResourceType, criteria string) ([]fhir.ID, error)
}

// resolve resolves the conditional parts of a unit's items through r. It
// returns the items to store; found counts those a conditional create
// found in the store (not stored again), and problems those that cannot
// be stored: criteria refused, a conditional create or reference matching
// several resources, a reference matching none.
func resolve(ctx context.Context, r Resolver, items []Item) (kept []Item, found int, problems []Problem, err error) {
	// itemErr sorts r's errors: about the item, or stopping the load.
	itemErr := func(err error) bool {
		var fe *fhir.Error
		return errors.As(err, &fe) && fe.Kind != fhir.KindInternal && fe.Kind != fhir.KindUnavailable
	}
	links := map[string]string{} // Type/id of an item -> Type/id found
	conditional := false
	for _, it := range items {
		conditional = conditional || it.Conditional
		if it.IfNoneExist == "" {
			kept = append(kept, it)
			continue
		}
		ids, err := r.Match(ctx, it.Type, it.IfNoneExist)
		switch {
		case err != nil && itemErr(err):
			problems = append(problems, Problem{Where: it.Where, Err: fmt.Errorf("ifNoneExist %q: %w", it.IfNoneExist, describe(err))})
		case err != nil:
			return nil, 0, nil, err
		case len(ids) == 0 || len(ids) == 1 && ids[0] == it.ID:
			kept = append(kept, it)
		case len(ids) == 1:
			links[string(it.Type)+"/"+string(it.ID)] = string(it.Type) + "/" + string(ids[0])
			found++
		default:
			problems = append(problems, Problem{Where: it.Where, Err: fmt.Errorf("ifNoneExist %q matches more than one %s", it.IfNoneExist, it.Type)})
		}
	}
	if len(links) == 0 && !conditional {
		return kept, found, problems, nil
	}
	refs := map[string]string{} // conditional reference -> Type/id
	out := kept[:0]
	for _, it := range kept {
		var stop error // an error of r that stops the load
		body, _, err := engine.RewriteLinksFunc(it.Body, it.Type, func(reference bool, v string) (string, bool, error) {
			if to, ok := links[v]; ok {
				return to, true, nil
			}
			if !reference || !engine.IsConditionalRef(v) {
				return "", false, nil
			}
			if to, ok := refs[v]; ok {
				return to, true, nil
			}
			t, criteria, _ := strings.Cut(v, "?")
			ids, err := r.Match(ctx, fhir.ResourceType(t), criteria)
			switch {
			case err != nil && itemErr(err):
				return "", false, fmt.Errorf("the conditional reference %q: %w", v, describe(err))
			case err != nil:
				stop = err
				return "", false, err
			case len(ids) == 0:
				return "", false, fmt.Errorf("the conditional reference %q matches no %s", v, t)
			case len(ids) > 1:
				return "", false, fmt.Errorf("the conditional reference %q matches more than one %s", v, t)
			}
			refs[v] = t + "/" + string(ids[0])
			return refs[v], true, nil
		})
		switch {
		case stop != nil:
			return nil, 0, nil, stop
		case err != nil:
			problems = append(problems, Problem{Where: it.Where, Err: err})
			continue
		}
		it.Body = body
		out = append(out, it)
	}
	return out, found, problems, nil
}
