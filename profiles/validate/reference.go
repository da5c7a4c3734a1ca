package validate

import (
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/model"
)

// checkTarget checks the type of the resource a Reference points to
// against the target profiles of its element. The type is read from the
// reference (Patient/1, https://server/fhir/Patient/1/_history/2, #id of
// a contained resource) or from Reference.type; references whose type
// cannot be read (urn:uuid:..., identifier only) are not checked, and
// neither are target profiles the validator does not know.
func (r *run) checkTarget(n *node, t *typeRef, v value) {
	m, ok := v.v.(map[string]any)
	if !ok {
		return
	}
	ref, _ := m["reference"].(string)
	typ := r.referenceType(ref)
	if typ == "" {
		if s, _ := m["type"].(string); s != "" {
			typ = strings.TrimPrefix(s, coreBase)
		}
	}
	if typ == "" {
		return
	}
	var allowed []string
	for _, tp := range t.TargetProfile {
		want := ""
		if rest, ok := strings.CutPrefix(unversioned(tp), coreBase); ok && model.Lookup(rest) != nil {
			want = rest
		} else if p := r.reg.lookup(tp); p != nil {
			want = p.typ
		} else {
			return // a profile the validator does not know: its type is not known either
		}
		if model.IsSubtypeOf(typ, want) {
			return
		}
		if !slices.Contains(allowed, want) {
			allowed = append(allowed, want)
		}
	}
	what := "the reference " + ref
	if ref == "" {
		what = "the reference of type " + typ
	}
	r.add(fhir.SeverityError, fhir.IssueInvalid, v.loc, n.prof,
		n.id+": "+what+" is to a resource of type "+typ+", the profile allows "+strings.Join(allowed, ", "))
}

// referenceType returns the resource type a reference names, "" when it
// cannot be read.
func (r *run) referenceType(ref string) string {
	if ref == "" {
		return ""
	}
	if id, ok := strings.CutPrefix(ref, "#"); ok {
		for _, c := range asArray(r.root["contained"]) {
			if cm, ok := c.(map[string]any); ok && cm["id"] == id {
				rt, _ := cm["resourceType"].(string)
				return rt
			}
		}
		return ""
	}
	if strings.HasPrefix(ref, "urn:") {
		return ""
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 {
		return ""
	}
	if typ := parts[len(parts)-2]; model.IsResourceType(typ) {
		return typ
	}
	return ""
}
