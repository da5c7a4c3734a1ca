package fhir

import "context"

// Caller is who a request acts for: the authenticated subject and what the
// access policy needs to decide (CPMS roles, the centre and the ERN the
// caller belongs to). A request without authentication acts as Anonymous.
type Caller struct {
	Subject string
	Roles   []string
	Centre  string
	ERN     string
}

// Anonymous is the caller of requests that carry no credentials.
var Anonymous = &Caller{Subject: "anonymous"}

type callerKey struct{}

// WithCaller returns a context that carries c.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller carried by ctx, or Anonymous.
func CallerFrom(ctx context.Context) *Caller {
	if c, ok := ctx.Value(callerKey{}).(*Caller); ok && c != nil {
		return c
	}
	return Anonymous
}
