package server

import (
	"bytes"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
)

// Media types of the API.
const (
	mediaFHIRJSON  = "application/fhir+json"
	mediaJSON      = "application/json"
	mediaJSONPatch = "application/json-patch+json"
	contentType    = mediaFHIRJSON + "; charset=utf-8"
)

// jsonTypes are the media types accepted as FHIR JSON, in requests and in
// Accept and _format (application/json+fhir is the DSTU2 name some clients
// still send).
var jsonTypes = map[string]bool{
	mediaFHIRJSON: true, mediaJSON: true, "application/json+fhir": true, "json": true, "text/json": true,
}

var xmlTypes = map[string]bool{
	"application/fhir+xml": true, "application/xml": true, "text/xml": true, "xml": true,
	"application/xml+fhir": true,
}

func unsupportedXML(where string) *fhir.Error {
	return &fhir.Error{Kind: fhir.KindUnsupportedMedia, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueNotSupported, Diagnostics: "this server speaks FHIR JSON only (" + mediaFHIRJSON + "); " + where + " asks for XML"}}}
}

// checkResponseFormat checks that the client accepts JSON, from _format
// (which wins) or the Accept header.
func checkResponseFormat(r *http.Request) error {
	if f := r.URL.Query().Get("_format"); f != "" {
		// An unescaped "+" in the query (_format=application/fhir+json,
		// as typed in a browser) arrives as a space.
		typ, params, _ := strings.Cut(f, ";")
		if params != "" {
			params = ";" + params
		}
		f = strings.ReplaceAll(strings.TrimSpace(typ), " ", "+") + params
		mt, mtParams, err := mime.ParseMediaType(f)
		if err != nil {
			mt = strings.ToLower(strings.TrimSpace(f))
		}
		switch v := mtParams["fhirversion"]; {
		case jsonTypes[mt] && v != "" && !isR4(v):
			return &fhir.Error{Kind: fhir.KindNotAcceptable, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
				Code: fhir.IssueNotSupported, Diagnostics: "this server speaks FHIR 4.0.1; _format names fhirVersion " + strconv.Quote(truncate(v, 20)),
				Expression: []string{"_format"}}}}
		case jsonTypes[mt]:
			return nil
		case xmlTypes[mt]:
			return unsupportedXML("_format")
		}
		return &fhir.Error{Kind: fhir.KindUnsupportedMedia, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueNotSupported, Diagnostics: "unsupported _format " + strconv.Quote(truncate(f, 80)) + "; use json",
			Expression: []string{"_format"}}}}
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return nil
	}
	// JSON is served unless the client accepts neither it nor anything:
	// browsers send text/html with */*; a client asking for XML only is
	// told that XML is not spoken here.
	xml := false
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue
			}
		}
		if v, ok := params["fhirversion"]; ok && !isR4(v) {
			continue // a version this server does not speak
		}
		switch {
		case jsonTypes[mt], mt == "*/*", mt == "application/*", mt == "text/html":
			return nil
		case xmlTypes[mt]:
			xml = true
		}
	}
	if xml {
		return unsupportedXML("the Accept header")
	}
	return &fhir.Error{Kind: fhir.KindNotAcceptable, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueNotSupported, Diagnostics: "no acceptable format: this server answers " + mediaFHIRJSON}}}
}

// isR4 reports whether a fhirVersion media type parameter names R4
// (versioning.html#mt-version: "4.0", or a full version 4.0.x).
func isR4(v string) bool {
	return v == "4.0" || strings.HasPrefix(v, "4.0.")
}

// checkBodyType reads the request's Content-Type. A missing type is taken
// as FHIR JSON (JSON Patch for PATCH); XML is refused with 415.
func checkBodyType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return &fhir.Error{Kind: fhir.KindUnsupportedMedia, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueNotSupported, Diagnostics: "malformed Content-Type " + strconv.Quote(truncate(ct, 80))}}}
	}
	if v, ok := params["fhirversion"]; ok && !isR4(v) {
		return &fhir.Error{Kind: fhir.KindUnsupportedMedia, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueNotSupported, Diagnostics: "this server speaks FHIR 4.0.1; the Content-Type names fhirVersion " + strconv.Quote(truncate(v, 20))}}}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return &fhir.Error{Kind: fhir.KindUnsupportedMedia, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueNotSupported, Diagnostics: "FHIR JSON is UTF-8; charset " + strconv.Quote(truncate(cs, 40)) + " is not supported"}}}
	}
	switch {
	case mt == mediaJSONPatch && r.Method == http.MethodPatch:
		return nil
	case jsonTypes[mt]:
		// A PATCH in FHIR JSON is a FHIRPath Patch (patchFormat).
		return nil
	case xmlTypes[mt]:
		return unsupportedXML("the Content-Type")
	}
	want := mediaFHIRJSON
	if r.Method == http.MethodPatch {
		want = mediaJSONPatch + " (JSON Patch) or " + mediaFHIRJSON + " (FHIRPath Patch)"
	}
	return &fhir.Error{Kind: fhir.KindUnsupportedMedia, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueNotSupported, Diagnostics: "unsupported Content-Type " + strconv.Quote(truncate(mt, 80)) + "; send " + want}}}
}

// preferReturn is the Prefer: return= choice of a write.
type preferReturn int

const (
	returnRepresentation preferReturn = iota
	returnMinimal
	returnOutcome
)

func preferOf(r *http.Request) preferReturn {
	for _, h := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(h, ";") {
			for _, kv := range strings.Split(part, ",") {
				k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "return") {
					continue
				}
				switch strings.Trim(strings.TrimSpace(v), `"`) {
				case "minimal":
					return returnMinimal
				case "OperationOutcome":
					return returnOutcome
				}
			}
		}
	}
	return returnRepresentation
}

// parseIfMatch reads If-Match: W/"3", "3" or 3, or * (any current
// version). 0 means no header.
func parseIfMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, nil
	}
	if h == "*" {
		return engine.IfMatchAny, nil
	}
	v, ok := parseETag(h)
	if !ok {
		return 0, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueInvalid, Diagnostics: "If-Match must name a version as W/\"n\", got " + strconv.Quote(truncate(h, 40))}}}
	}
	return v, nil
}

// ifNoneMatchPut reads If-None-Match on an update: "*" makes it a create
// that never overwrites (engine.IfNoneMatchAny). Other values, and "*"
// with If-Match, are refused.
func ifNoneMatchPut(h string, ifMatch int64) (int64, error) {
	switch h = strings.TrimSpace(h); {
	case h == "":
		return ifMatch, nil
	case h == "*" && ifMatch == 0:
		return engine.IfNoneMatchAny, nil
	case h == "*":
		return 0, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
			Code: fhir.IssueInvalid, Diagnostics: "If-Match and If-None-Match: * cannot both hold"}}}
	}
	return 0, &fhir.Error{Kind: fhir.KindInvalid, Issues: []fhir.Issue{{Severity: fhir.SeverityError,
		Code: fhir.IssueNotSupported, Diagnostics: "on an update, If-None-Match takes * only (create, never overwrite); got " + strconv.Quote(truncate(h, 40))}}}
}

func parseETag(h string) (int64, bool) {
	h = strings.TrimPrefix(strings.TrimSpace(h), "W/")
	h = strings.Trim(h, `"`)
	v, err := strconv.ParseInt(h, 10, 64)
	return v, err == nil && v > 0
}

// patchFormat is the language of a PATCH body, by its Content-Type (which
// checkBodyType accepted): FHIRPath Patch in FHIR JSON, JSON Patch
// otherwise, as when the type is missing. A JSON array, which no FHIR
// resource is, sent as plain JSON (as many HTTP clients label any JSON)
// is a JSON Patch.
func patchFormat(r *http.Request, body []byte) engine.PatchFormat {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !jsonTypes[mt] || mt != mediaFHIRJSON && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("[")) {
		return engine.JSONPatch
	}
	return engine.FHIRPathPatch
}
