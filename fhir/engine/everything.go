package engine

import (
	"context"
	"net/url"
	"slices"
	"strconv"
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
	// Since, an instant, keeps the resources updated at or after it
	// (_since); Types, when set, those of these types (_type).
	Since string
	Types []fhir.ResourceType
	// Count is the page size (_count, 0 for the default); Cursor the
	// position of a later page.
	Count  int
	Cursor string
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
	if _, err := e.Read(ctx, req.Type, req.ID); err != nil {
		return nil, err
	}
	params := url.Values{}
	if req.Since != "" {
		r, err := fhir.ParseDateRange(req.Since)
		if err != nil {
			return nil, invalid(fhir.IssueInvalid, "_since", "_since must be a FHIR instant (yyyy-mm-ddThh:mm:ss[.fff]Z), got %s", quoteShort(req.Since))
		}
		params.Set("_lastUpdated", "ge"+fhir.FormatInstant(r.Start))
	}
	if len(req.Types) > 0 {
		names := make([]string, len(req.Types))
		for i, t := range req.Types {
			names[i] = string(t)
		}
		params.Set("_type", strings.Join(names, ","))
	}
	if req.Count > 0 {
		params.Set("_count", strconv.Itoa(req.Count))
	}
	if req.Cursor != "" {
		params.Set(CursorParam, req.Cursor)
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
