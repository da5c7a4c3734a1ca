package search

import (
	"encoding/json"

	"github.com/cpms-fhir/cpms/fhir"
)

// Index is the set of search values extracted from one version of a
// resource. A store keeps it beside the current version and replaces it on
// every write.
type Index struct {
	Tokens []Token
}

// Token is one value of a token search parameter: a code in a system (an
// identifier's value in its system, a Coding's code in its system).
type Token struct {
	Param  string
	System string
	Code   string
}

// Extract returns the search values of a resource of type t from its JSON.
func Extract(t fhir.ResourceType, body []byte) (*Index, error) {
	var doc struct {
		Identifier json.RawMessage `json:"identifier"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fhir.Internal("the resource could not be indexed", err)
	}
	idx := &Index{}
	if len(doc.Identifier) == 0 {
		return idx, nil
	}
	type identifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	var ids []identifier
	if doc.Identifier[0] == '[' {
		if err := json.Unmarshal(doc.Identifier, &ids); err != nil {
			return nil, fhir.Internal("the resource could not be indexed", err)
		}
	} else {
		var one identifier
		if err := json.Unmarshal(doc.Identifier, &one); err != nil {
			return nil, fhir.Internal("the resource could not be indexed", err)
		}
		ids = append(ids, one)
	}
	for _, id := range ids {
		if id.Value == "" {
			continue
		}
		idx.Tokens = append(idx.Tokens, Token{Param: "identifier", System: id.System, Code: id.Value})
	}
	return idx, nil
}
