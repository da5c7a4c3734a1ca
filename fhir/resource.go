package fhir

import (
	"regexp"
	"strconv"
	"time"
)

// ResourceType names a FHIR resource type, such as "Patient".
type ResourceType string

// ID is the logical id of a resource: 1 to 64 characters of A-Z, a-z, 0-9,
// '-' and '.'.
type ID string

var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`)

// Valid reports whether id has the form the FHIR id datatype allows.
func (id ID) Valid() bool { return idPattern.MatchString(string(id)) }

// Method is the interaction that produced a resource version, as a history
// Bundle's entry.request.method reports it.
type Method string

// The methods that write a version.
const (
	MethodPost   Method = "POST"
	MethodPut    Method = "PUT"
	MethodPatch  Method = "PATCH"
	MethodDelete Method = "DELETE"
)

// Resource is one stored version of a resource. Body is its JSON exactly as
// served (with id and meta set by the server); a deletion is a version of
// its own with Deleted set and no Body.
type Resource struct {
	Type        ResourceType
	ID          ID
	Version     int64
	LastUpdated time.Time
	Method      Method
	Deleted     bool
	Body        []byte
}

// VersionID returns the version as FHIR's meta.versionId string.
func (r *Resource) VersionID() string { return strconv.FormatInt(r.Version, 10) }

// ETag returns the weak entity tag of the version, W/"n".
func (r *Resource) ETag() string { return `W/"` + r.VersionID() + `"` }

// Ref returns the relative reference Type/id.
func (r *Resource) Ref() string { return string(r.Type) + "/" + string(r.ID) }

// InstantFormat is the layout of FHIR instants written by the server:
// UTC with millisecond precision and a zone.
const InstantFormat = "2006-01-02T15:04:05.000Z07:00"

// FormatInstant formats t as a FHIR instant in UTC.
func FormatInstant(t time.Time) string { return t.UTC().Format(InstantFormat) }
