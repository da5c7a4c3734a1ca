package engine

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// EverythingRequest is the operation $everything on a Patient or an
// Encounter (R4 OperationDefinitions Patient-everything and
// Encounter-everything): the resources of the owner's compartment, the
// owner itself among them, and the resources they refer to.
type EverythingRequest struct {
	Type fhir.ResourceType
	ID   fhir.ID
	// Params are the operation's parameters: _since, _type, _count and
	// the paging cursor.
	Params url.Values
}

// EverythingTypes are the resource types $everything is defined on.
var EverythingTypes = []fhir.ResourceType{"Encounter", "Patient"}

// Everything runs $everything: a search in the compartment of the owner
// (search.Compartment), whose pages also include the resources that their
// matches refer to and that no compartment of the owner's kind could hold
// (practitioners, organizations, medications, locations...), as the
// operation asks. A resource of a compartment's type that is outside this
// one (another patient, the encounter of another patient) is never
// included. The owner must be readable: unknown it answers KindNotFound,
// deleted KindGone.
func (e *Engine) Everything(ctx context.Context, req EverythingRequest) (*SearchPage, error) {
	if err := CheckType(req.Type); err != nil {
		return nil, err
	}
	comp := search.CompartmentOf(req.Type)
	if comp == nil || !slices.Contains(EverythingTypes, req.Type) {
		return nil, fhir.Errorf(fhir.KindNotFound, "the operation $everything is defined on Patient and Encounter, not on %s", req.Type)
	}
	params, err := everythingParams(req.Params)
	if err != nil {
		return nil, err
	}
	if _, err := e.Read(ctx, req.Type, req.ID); err != nil {
		return nil, err
	}
	page, err := e.Search(ctx, SearchRequest{Params: params, Compartment: req.Type, Owner: req.ID})
	if err != nil {
		return nil, err
	}
	refs, err := e.includeTargets(ctx, search.Include{Param: "*"}, page.Matches)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, r := range page.Matches {
		seen[r.Ref()] = true
	}
	for _, r := range refs {
		if comp.Has(r.Type) || seen[r.Ref()] {
			continue
		}
		if err := e.allow(ctx, InteractionSearchSystem, r.Type, r.ID, r); err != nil {
			return nil, err
		}
		seen[r.Ref()] = true
		page.Included = append(page.Included, r)
	}
	return page, nil
}

// everythingParams turns the parameters of $everything into those of the
// search in the compartment: _since selects by lastUpdated; _type, _count
// and the cursor are the search's own, which checks them.
func everythingParams(in url.Values) (url.Values, error) {
	out := url.Values{}
	for name, values := range in {
		if len(values) == 0 {
			continue
		}
		switch name {
		case "_count", CursorParam:
			out[name] = values
		case "_type":
			// The operation takes _type more than once (0..*); a search
			// once, listing the types.
			out.Set("_type", strings.Join(values, ","))
		case "_since":
			since, err := parseSince(values[len(values)-1])
			if err != nil {
				return nil, err
			}
			out.Set("_lastUpdated", "ge"+fhir.FormatInstant(since))
		case "_format", "_pretty":
			// Shape the response; handled by the HTTP layer.
		case "start", "end":
			return nil, &fhir.Error{Kind: fhir.KindNotImplemented, Issues: []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueNotSupported,
				Expression: []string{name}, Diagnostics: "the care dates start and end of $everything are not supported; _since selects by the time of the last update"}}}
		default:
			return nil, invalid(fhir.IssueNotSupported, name, "$everything takes _count, _since and _type, not %s", quoteShort(name))
		}
	}
	return out, nil
}
