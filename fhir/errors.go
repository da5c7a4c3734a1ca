package fhir

import (
	"errors"
	"fmt"
)

// Kind classifies an Error. The HTTP layer maps each kind to one status code
// and OperationOutcome issue type, in one place.
type Kind int

// The kinds of Error.
const (
	KindInternal           Kind = iota // a fault of the server; details go to the log only
	KindInvalid                        // the request cannot be parsed or is malformed (400)
	KindUnprocessable                  // a well-formed resource that breaks FHIR rules (422)
	KindNotFound                       // no such type, resource or version (404)
	KindGone                           // the resource is deleted (410)
	KindConflict                       // the request conflicts with the current state (409)
	KindPreconditionFailed             // If-Match failed, or a conditional matched several resources (412)
	KindMethodNotAllowed               // the interaction is not defined at this URL (405)
	KindUnsupportedMedia               // the content type or format is not supported (415)
	KindNotAcceptable                  // no acceptable response format (406)
	KindTooLarge                       // the request body exceeds the configured limit (413)
	KindForbidden                      // the caller may not do this (403)
	KindUnauthorized                   // the caller is not authenticated (401)
	KindNotImplemented                 // a recognised feature the server does not provide (501)
	KindUnavailable                    // the store cannot be reached right now (503)
)

// Error is the error type of the domain. Message and Issues are safe to show
// to the client; Err is the internal cause and is only logged.
type Error struct {
	Kind    Kind
	Message string
	Issues  []Issue
	Err     error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && len(e.Issues) > 0 {
		msg = e.Issues[0].Diagnostics
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error of kind k with a formatted client-safe message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps err as an internal error: the client sees msg only.
func Internal(msg string, err error) *Error {
	return &Error{Kind: KindInternal, Message: msg, Err: err}
}

// KindOf returns the kind of err: the kind of the first Error in its chain,
// or KindInternal for any other error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err is an Error of kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }
