package server

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/profiles/sdc"
)

// The SDC operations of the consultation form (profiles/sdc holds the
// mapping): Questionnaire/$populate and QuestionnaireResponse/$extract,
// served when Options.Questionnaires is set.
//
//	GET|POST [base]/Questionnaire/$populate?questionnaire=url|version&subject=Patient/id[&encounter=Encounter/id]
//	GET|POST [base]/Questionnaire/[id]/$populate?subject=Patient/id
//	POST     [base]/QuestionnaireResponse/$extract   (a QuestionnaireResponse, or Parameters with questionnaire-response)
//	GET|POST [base]/QuestionnaireResponse/[id]/$extract
//
// POST takes the parameters in a Parameters body too (questionnaire as
// valueCanonical, valueUri or a resource; subject and encounter as
// valueReference). $extract answers the transaction Bundle; with
// apply=true (a CPMS extension, POST only) it carries the Bundle out as a
// transaction and answers the transaction-response.

// sdcDefinitions are the canonical definitions of the SDC operations.
var sdcDefinitions = map[fhir.ResourceType]capOperation{
	"Questionnaire":         {Name: "populate", Definition: "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-populate"},
	"QuestionnaireResponse": {Name: "extract", Definition: "http://hl7.org/fhir/uv/sdc/OperationDefinition/QuestionnaireResponse-extract"},
}

// isSDCOperation reports whether seg is an SDC operation on t this server
// answers.
func (s *Server) isSDCOperation(t fhir.ResourceType, seg string) bool {
	op, ok := sdcDefinitions[t]
	return ok && s.opts.Questionnaires != nil && seg == "$"+op.Name
}

// sdcOperation answers $populate or $extract, at type level (id empty) or
// on a stored resource.
func (s *Server) sdcOperation(c *gin.Context, t fhir.ResourceType, id fhir.ID) error {
	in, err := s.sdcInput(c)
	if err != nil {
		return err
	}
	if t == "Questionnaire" {
		return s.populate(c, id, in)
	}
	return s.extract(c, id, in)
}

// sdcParams are the parameters of an SDC operation, from the query and a
// Parameters body.
type sdcParams struct {
	questionnaire string          // canonical
	resource      json.RawMessage // questionnaire or questionnaire-response resource
	subject       string
	encounter     string
	apply         bool
	body          []byte // a body that is not Parameters
}

func (s *Server) sdcInput(c *gin.Context) (*sdcParams, error) {
	q := c.Request.URL.Query()
	in := &sdcParams{questionnaire: q.Get("questionnaire"), subject: q.Get("subject"), encounter: q.Get("encounter"), apply: q.Get("apply") == "true"}
	if a := q.Get("apply"); a != "" && a != "true" && a != "false" {
		return nil, bundleErr("apply", "apply must be true or false, not %s", quoteFor(a))
	}
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead:
		return in, nil
	case http.MethodPost:
	default:
		return nil, methodNotAllowed(c, http.MethodGet, http.MethodPost)
	}
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	var p struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name           string          `json:"name"`
			ValueCanonical string          `json:"valueCanonical"`
			ValueURI       string          `json:"valueUri"`
			ValueString    string          `json:"valueString"`
			ValueBoolean   *bool           `json:"valueBoolean"`
			ValueReference *sdc.Reference  `json:"valueReference"`
			Resource       json.RawMessage `json:"resource"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		if _, perr := fhir.Prepare(body); perr != nil {
			return nil, perr
		}
		return nil, bundleErr("Parameters", "the body is not a FHIR resource")
	}
	if p.ResourceType != "Parameters" {
		in.body = body
		return in, nil
	}
	for _, x := range p.Parameter {
		switch x.Name {
		case "questionnaire", "questionnaire-response":
			if x.Resource != nil {
				in.resource = x.Resource
			} else {
				in.questionnaire = cmp.Or(x.ValueCanonical, x.ValueURI, x.ValueString)
			}
		case "subject", "encounter":
			v := x.ValueString
			if x.ValueReference != nil {
				v = x.ValueReference.Reference
			}
			if x.Name == "subject" {
				in.subject = v
			} else {
				in.encounter = v
			}
		case "apply":
			in.apply = x.ValueBoolean != nil && *x.ValueBoolean
		}
	}
	return in, nil
}

// populate answers $populate: the pre-filled QuestionnaireResponse.
func (s *Server) populate(c *gin.Context, id fhir.ID, in *sdcParams) error {
	ctx := c.Request.Context()
	var form []byte
	switch {
	case id != "":
		r, err := s.eng.Read(ctx, "Questionnaire", id)
		if err != nil {
			return err
		}
		form = r.Body
	case in.resource != nil:
		form = in.resource
	case in.body != nil:
		return bundleErr("Parameters", "$populate takes a Parameters body")
	case in.questionnaire == "":
		return bundleErr("questionnaire", "$populate needs the questionnaire: a canonical URL (url|version) or a resource")
	default:
		var err error
		if form, err = s.questionnaireByCanonical(ctx, in.questionnaire); err != nil {
			return err
		}
		if form == nil {
			return sdc.NotFoundf("questionnaire", "the Questionnaire %s is not known to this server", truncate(in.questionnaire, 200))
		}
	}
	if in.subject == "" {
		return bundleErr("subject", "$populate needs the subject: a reference to the Patient (Patient/[id])")
	}
	out, err := sdc.Populate(ctx, engineSource{s.eng}, sdc.PopulateRequest{Questionnaire: form,
		Subject: localRef(in.subject), Encounter: localRef(in.encounter)})
	if err != nil {
		return err
	}
	s.writeJSON(c, http.StatusOK, out)
	return nil
}

// extract answers $extract: the transaction Bundle, or with apply its
// transaction-response.
func (s *Server) extract(c *gin.Context, id fhir.ID, in *sdcParams) error {
	ctx := c.Request.Context()
	var response []byte
	switch {
	case id != "":
		r, err := s.eng.Read(ctx, "QuestionnaireResponse", id)
		if err != nil {
			return err
		}
		response = r.Body
	case in.resource != nil:
		response = in.resource
	case in.body != nil:
		response = in.body
	default:
		return bundleErr("questionnaire-response", "$extract needs the QuestionnaireResponse: POST it, or a Parameters with questionnaire-response")
	}
	if in.apply && c.Request.Method != http.MethodPost {
		return bundleErr("apply", "apply=true writes the extracted resources: POST the request")
	}
	r, err := sdc.ParseResponse(response)
	if err != nil {
		return err
	}
	form, err := s.questionnaireByCanonical(ctx, r.Questionnaire)
	if err != nil {
		return err
	}
	if form == nil {
		return &fhir.Error{Kind: fhir.KindUnprocessable, Issues: []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueNotFound,
			Diagnostics: "the Questionnaire " + quoteFor(r.Questionnaire) + " the response answers is not known to this server",
			Expression:  []string{"QuestionnaireResponse.questionnaire"}}}}
	}
	out, err := sdc.Extract(form, response)
	if err != nil {
		return err
	}
	if !in.apply {
		s.writeJSON(c, http.StatusOK, out)
		return nil
	}
	var b bundleIn
	if err := json.Unmarshal(out, &b); err != nil {
		return fhir.Internal("the extracted Bundle cannot be read", err)
	}
	return s.transaction(c, b.Entry)
}

// questionnaireByCanonical finds a Questionnaire by url or url|version:
// a stored one, else one of Options.Questionnaires; nil when none.
func (s *Server) questionnaireByCanonical(ctx context.Context, canonical string) ([]byte, error) {
	if canonical == "" {
		return nil, nil
	}
	u, version, hasVersion := strings.Cut(canonical, "|")
	params := url.Values{"url": {u}}
	if hasVersion {
		params.Set("version", version)
	}
	page, err := s.eng.Search(ctx, engine.SearchRequest{Type: "Questionnaire", Params: params})
	if err != nil {
		return nil, err
	}
	if len(page.Matches) > 0 {
		return page.Matches[0].Body, nil
	}
	return s.opts.Questionnaires[canonical], nil
}

// localRef turns an absolute reference into Type/id.
func localRef(ref string) string {
	parts := strings.Split(strings.TrimSuffix(ref, "/"), "/")
	if len(parts) > 2 && strings.Contains(ref, "://") {
		return strings.Join(parts[len(parts)-2:], "/")
	}
	return ref
}

// engineSource reads the sources of $populate through the engine, every
// page of each search.
type engineSource struct{ eng *engine.Engine }

func (e engineSource) Search(ctx context.Context, t fhir.ResourceType, params url.Values) ([][]byte, error) {
	params.Set("_count", "1000")
	var out [][]byte
	for {
		page, err := e.eng.Search(ctx, engine.SearchRequest{Type: t, Params: params})
		if err != nil {
			return nil, err
		}
		for _, m := range page.Matches {
			out = append(out, m.Body)
		}
		if page.Next == "" {
			return out, nil
		}
		params = url.Values{"_cursor": {page.Next}}
	}
}

var _ sdc.Source = engineSource{}
