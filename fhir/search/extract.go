package search

import (
	"encoding/json"

	"github.com/cpms-fhir/cpms/fhir"
)

// Extract returns the search values of a resource of type t from its JSON
// as fhir.Prepared renders it (compact).
func Extract(t fhir.ResourceType, body []byte) (*Index, error) {
	idx := &Index{}
	raw := fhir.Member(body, "identifier")
	if len(raw) == 0 {
		return idx, nil
	}
	type identifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	var ids []identifier
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &ids); err != nil {
			return nil, fhir.Internal("the resource could not be indexed", err)
		}
	} else {
		var one identifier
		if err := json.Unmarshal(raw, &one); err != nil {
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
