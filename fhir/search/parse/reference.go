package parse

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// schemePattern starts an absolute URI (http:, https:, urn:...); ids and
// relative references never contain a colon.
var schemePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]*:`)

// reference parses a value of a reference parameter: an id, Type/id,
// Type/id/_history/version, an absolute URL (under the server's base it
// is read as Type/id), or a canonical url|version. With :identifier it is
// a token on the reference's identifier.
func (p *parser) reference(l *leaf, s string) (search.Value, error) {
	if l.mod == search.ModIdentifier {
		return token(s)
	}
	raw, version, hasVersion := cut(s, '|')
	ref := unescape(raw)
	if ref == "" {
		return search.Value{}, errors.New("the reference is empty")
	}
	if schemePattern.MatchString(ref) {
		if !hasVersion {
			if rel, ok := p.underBase(ref); ok {
				if v, err := relative(rel); err == nil && v.Type != "" {
					return p.checkReference(l, v, s)
				}
			}
		}
		return search.Value{URL: ref, Version: unescape(version)}, nil
	}
	if hasVersion {
		return search.Value{}, fmt.Errorf("%q has a |version, which only an absolute canonical URL takes", unescape(s))
	}
	v, err := relative(ref)
	if err != nil {
		return v, err
	}
	return p.checkReference(l, v, s)
}

// underBase returns the part of the absolute URL ref after the server's
// base.
func (p *parser) underBase(ref string) (string, bool) {
	base := strings.TrimRight(p.opts.Base, "/")
	if base == "" {
		return "", false
	}
	if len(ref) > len(base)+1 && strings.EqualFold(ref[:len(base)], base) && ref[len(base)] == '/' {
		return ref[len(base)+1:], true
	}
	return "", false
}

// relative parses id, Type/id or Type/id/_history/version.
func relative(ref string) (search.Value, error) {
	parts := strings.Split(ref, "/")
	var v search.Value
	switch {
	case len(parts) == 1:
		v.ID = fhir.ID(parts[0])
	case len(parts) == 2 || len(parts) == 4 && parts[2] == "_history":
		if !isResourceType(parts[0]) {
			return v, fmt.Errorf("%q does not start with a resource type", ref)
		}
		v.Type, v.ID = fhir.ResourceType(parts[0]), fhir.ID(parts[1])
		if len(parts) == 4 {
			if parts[3] == "" {
				return v, fmt.Errorf("%q has no version after _history", ref)
			}
			v.Version = parts[3]
		}
	default:
		return v, fmt.Errorf("%q is not a reference: write an id, Type/id or an absolute URL", ref)
	}
	if !v.ID.Valid() {
		return v, fmt.Errorf("%q is not a resource id (1 to 64 letters, digits, '-' and '.')", string(v.ID))
	}
	return v, nil
}

// checkReference checks the type of a literal reference against the
// :[type] modifier and the parameter's targets.
func (p *parser) checkReference(l *leaf, v search.Value, s string) (search.Value, error) {
	switch {
	case v.Type == "":
		v.Type = l.refType
	case l.refType != "" && v.Type != l.refType:
		return v, fmt.Errorf("%q is not a %s, as the modifier :%s asks", unescape(s), l.refType, l.refType)
	case len(l.def.Targets) > 0 && !slices.Contains(l.def.Targets, v.Type):
		return v, fmt.Errorf("%s cannot refer to a %s; it refers to %s", l.code, v.Type, typeList(l.def.Targets))
	}
	return v, nil
}
