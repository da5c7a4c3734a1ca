package fhir

import "strings"

// SubsettedTag is the meta.tag the server adds to a resource it returns
// only in part (_summary, _elements).
const SubsettedTag = `{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED"}`

// Subset returns body (compact JSON of a resource, as stored) with only
// the top-level elements keep accepts, and meta.tag SUBSETTED added.
// resourceType, id and meta are always kept; an element's primitive
// extension sibling ("_birthDate") goes with it.
func Subset(body []byte, keep func(element string) bool) []byte {
	members, err := objectMembers(body)
	if err != nil {
		return body
	}
	out := make([]byte, 0, len(body))
	out = append(out, '{')
	hasMeta := false
	for _, m := range members {
		name := strings.TrimPrefix(m.key, "_")
		switch {
		case m.key == "resourceType" || m.key == "id":
		case m.key == "meta":
			hasMeta = true
			out = appendSep(out)
			out = append(out, `"meta":`...)
			out = appendSubsetted(out, m.value)
			continue
		case !keep(name):
			continue
		}
		out = appendSep(out)
		out = append(out, m.raw...)
	}
	if !hasMeta {
		out = appendSep(out)
		out = append(out, `"meta":{"tag":[`+SubsettedTag+`]}`...)
	}
	return append(out, '}')
}

func appendSep(out []byte) []byte {
	if len(out) > 1 {
		out = append(out, ',')
	}
	return out
}

// appendSubsetted appends meta with the SUBSETTED tag added to its tags.
func appendSubsetted(out, meta []byte) []byte {
	members, err := objectMembers(meta)
	if err != nil {
		return append(out, meta...)
	}
	out = append(out, '{')
	tagged := false
	for i, m := range members {
		if i > 0 {
			out = append(out, ',')
		}
		if m.key == "tag" && len(m.value) > 1 && m.value[0] == '[' {
			out = append(out, `"tag":`...)
			out = append(out, m.value[:len(m.value)-1]...)
			if len(m.value) > 2 {
				out = append(out, ',')
			}
			out = append(out, SubsettedTag...)
			out = append(out, ']')
			tagged = true
			continue
		}
		out = append(out, m.raw...)
	}
	if !tagged {
		if len(members) > 0 {
			out = append(out, ',')
		}
		out = append(out, `"tag":[`+SubsettedTag+`]`...)
	}
	return append(out, '}')
}
