package engine

import (
	"context"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
	"github.com/cpms-fhir/cpms/fhir/search/parse"
)

// EverythingRequest is the operation $everything on a Patient or an
// Encounter (R4 OperationDefinitions Patient-everything and
// Encounter-everything): the resources of the owner's compartment, the
// owner itself among them, and the resources they refer to. At type
// level (Patient/$everything, ID empty), the owners are the Patients that
// the parameter _id names.
type EverythingRequest struct {
	Type fhir.ResourceType
	ID   fhir.ID
	// Params are the operation's parameters: start, end, _since, _type,
	// _count, the paging cursor, and _id at type level.
	Params url.Values
}

// EverythingTypes are the resource types $everything is defined on.
var EverythingTypes = []fhir.ResourceType{"Encounter", "Patient"}

// maxEverythingOwners bounds the patients of one Patient/$everything.
const maxEverythingOwners = 100

// Everything runs $everything: a search in the compartment of the owner
// (search.Compartment), whose pages also include the resources that their
// matches refer to and that no compartment of the owner's kind could hold
// (practitioners, organizations, medications, locations...), as the
// operation asks. A resource of a compartment's type that is outside this
// one (another patient, the encounter of another patient) is never
// included. The owners must be readable: unknown they answer
// KindNotFound, deleted KindGone.
//
// Invoked on the type, the operation needs the patients named: R4 asks a
// server to refuse it when neither the request nor its context names
// one, and the access policy gives no patient context.
func (e *Engine) Everything(ctx context.Context, req EverythingRequest) (*SearchPage, error) {
	if err := CheckType(req.Type); err != nil {
		return nil, err
	}
	comp := search.CompartmentOf(req.Type)
	if comp == nil || !slices.Contains(EverythingTypes, req.Type) {
		return nil, fhir.Errorf(fhir.KindNotFound, "the operation $everything is defined on Patient and Encounter, not on %s", req.Type)
	}
	typeLevel := req.ID == ""
	if typeLevel && req.Type != "Patient" {
		return nil, fhir.Errorf(fhir.KindNotFound, "the operation $everything is defined on %s instances only: %s/[id]/$everything", req.Type, req.Type)
	}
	params, owners, window, err := everythingParams(req.Params, typeLevel)
	if err != nil {
		return nil, err
	}
	if !typeLevel {
		owners = []fhir.ID{req.ID}
	}
	for _, id := range owners {
		if _, err := e.Read(ctx, req.Type, id); err != nil {
			return nil, err
		}
	}
	// "Unless the client requests otherwise, the server returns the
	// entire result set in a single bundle": without _count, pages are
	// the largest the server serves.
	page, err := e.Search(ctx, SearchRequest{Params: params, Compartment: req.Type, Owners: owners, Clauses: window,
		DefaultCount: math.MaxInt32})
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
// search in the compartment, the owners of type level (_id), and the
// clauses of its window of care dates: _since selects by lastUpdated;
// _type, _count and the cursor are the search's own, which checks them;
// start and end bound the care date of each type (search.CareDateParam).
func everythingParams(in url.Values, typeLevel bool) (url.Values, []fhir.ID, []search.Clause, error) {
	out := url.Values{}
	var owners []fhir.ID
	var bounds [2]*search.Value // start, end
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
				return nil, nil, nil, err
			}
			out.Set("_lastUpdated", "ge"+fhir.FormatInstant(since))
		case "start", "end":
			if len(values) > 1 {
				return nil, nil, nil, invalid(fhir.IssueInvalid, name, "$everything takes %s once", name)
			}
			at := 0
			if name == "end" {
				at = 1
			}
			v, err := parse.DateValue(search.PrefixEq, values[0])
			if err != nil {
				return nil, nil, nil, invalid(fhir.IssueValue, name, "%s: %v", name, err)
			}
			bounds[at] = &v
		case "_id":
			if !typeLevel {
				return nil, nil, nil, invalid(fhir.IssueNotSupported, name, "$everything on one resource takes no _id: its id is in the URL")
			}
			var err error
			if owners, err = everythingOwners(values); err != nil {
				return nil, nil, nil, err
			}
		case "_format", "_pretty":
			// Shape the response; handled by the HTTP layer.
		default:
			takes := "start, end, _count, _since and _type"
			if typeLevel {
				takes = "_id, " + takes
			}
			return nil, nil, nil, invalid(fhir.IssueNotSupported, name, "$everything takes %s, not %s", takes, quoteShort(name))
		}
	}
	if typeLevel && len(owners) == 0 {
		return nil, nil, nil, invalid(fhir.IssueRequired, "_id",
			"Patient/$everything needs the patients it is for: name them with _id (Patient/$everything?_id=a,b), or ask Patient/[id]/$everything")
	}
	if bounds[0] != nil && bounds[1] != nil && bounds[0].DateLo >= bounds[1].DateHi {
		return nil, nil, nil, invalid(fhir.IssueValue, "end", "the care dates end before they start: end %s is before start %s", in.Get("end"), in.Get("start"))
	}
	return out, owners, search.CareDateWindow(bounds[0], bounds[1]), nil
}

// everythingOwners reads the ids of _id (comma-separated, the parameter
// repeated or not), in order, each once.
func everythingOwners(values []string) ([]fhir.ID, error) {
	var owners []fhir.ID
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			id := fhir.ID(strings.TrimSpace(s))
			if !id.Valid() {
				return nil, invalid(fhir.IssueValue, "_id", "_id: %s is not a resource id", quoteShort(string(id)))
			}
			if !slices.Contains(owners, id) {
				owners = append(owners, id)
			}
		}
	}
	if len(owners) > maxEverythingOwners {
		return nil, invalid(fhir.IssueTooCostly, "_id", "Patient/$everything takes at most %d patients at a time, not %d", maxEverythingOwners, len(owners))
	}
	return owners, nil
}
