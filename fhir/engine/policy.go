package engine

import (
	"context"

	"github.com/cpms-fhir/cpms/fhir"
)

// Interaction names what a request does, for the access policy and logs.
type Interaction string

// The interactions of the engine.
const (
	InteractionRead          Interaction = "read"
	InteractionVRead         Interaction = "vread"
	InteractionCreate        Interaction = "create"
	InteractionUpdate        Interaction = "update"
	InteractionPatch         Interaction = "patch"
	InteractionDelete        Interaction = "delete"
	InteractionHistoryInst   Interaction = "history-instance"
	InteractionHistoryType   Interaction = "history-type"
	InteractionHistorySystem Interaction = "history-system"
	InteractionSearchType    Interaction = "search-type"
	InteractionSearchSystem  Interaction = "search-system"
	InteractionValidate      Interaction = "validate"
)

// Access describes one access for the policy to decide: the interaction,
// the resource type and id it concerns, and, where there is one, the
// resource (the stored version for reads and deletes, the new content for
// writes).
type Access struct {
	Interaction Interaction
	Type        fhir.ResourceType
	ID          fhir.ID
	Resource    *fhir.Resource
}

// Policy decides whether the caller in ctx (fhir.CallerFrom) may make an
// access. The engine consults it on every read, search, history and write:
// once before touching the store, and once for each resource read or
// written. It returns nil to allow, or an error of kind KindForbidden.
type Policy interface {
	Allow(ctx context.Context, a Access) error
}

// OpenPolicy allows everything. It is the policy until authentication and
// the CPMS access rules are in place; a server running with it must not be
// reachable from outside the host.
type OpenPolicy struct{}

// Allow allows every access.
func (OpenPolicy) Allow(context.Context, Access) error { return nil }
