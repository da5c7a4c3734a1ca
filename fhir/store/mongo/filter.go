package mongo

import (
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/search"
)

// The database narrows a search with the equality keys (docs.go) of its
// clauses; the server then tests each candidate exactly (package match).
// A clause whose keys say exactly what it matches needs no test: when all
// of a search's clauses are so, the database also counts the matches.
// Ranges (dates, numbers, quantities) are tested in the server only,
// after the other clauses narrowed the candidates: FerretDB cannot run a
// range on one element of an array of subdocuments ($elemMatch with two
// conditions), and an uncorrelated range over two arrays would narrow
// little.

// maxKeys bounds the keys one clause sends to the database; a chain or
// reverse chain that finds more is tested in the server only.
const maxKeys = 10000

// filterOf returns the database conditions of clause cl, and whether they
// are exact. chain and has are the resolved targets of a chain (Type/id)
// and reverse chain (Type/id of the resources referred to), when cl is
// one.
func filterOf(cl *search.Clause, chain, has map[string]bool) (bson.D, bool) {
	present := bson.D{{Key: "k", Value: key(kindPresent, cl.Param)}}
	switch {
	case cl.Param == search.CompartmentParam && len(cl.Values) > 0:
		// The references to the owners through any parameter of the
		// compartment's definition, or the owners themselves: the server
		// then tests which parameters count for each candidate's type.
		var keys, owners []string
		for _, owner := range cl.Values {
			ref := string(owner.Type) + "/" + string(owner.ID)
			owners = append(owners, ref)
			for _, p := range search.CompartmentParams(owner.Type) {
				keys = append(keys, key(kindRef, p, ref))
			}
		}
		return or(bson.A{in("k", keys), in("_id", owners)}), false
	case cl.Param == search.CareDateParam:
		// A date range, tested in the server (package match).
		return nil, false
	case cl.Has != nil:
		if len(has) > maxKeys {
			return nil, false
		}
		return bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: setList(has)}}}}, true
	case cl.Chain != nil:
		if len(chain) > maxKeys {
			return present, false
		}
		keys := make([]string, 0, len(chain))
		for ref := range chain {
			keys = append(keys, key(kindRef, cl.Param, ref))
		}
		return in("k", keys), true
	case cl.Missing != nil:
		if cl.Param == "_id" || cl.Param == "_lastUpdated" {
			if *cl.Missing {
				return bson.D{{Key: "_id", Value: bson.D{{Key: "$exists", Value: false}}}}, true
			}
			return nil, true
		}
		if *cl.Missing {
			return bson.D{{Key: "k", Value: bson.D{{Key: "$ne", Value: key(kindPresent, cl.Param)}}}}, true
		}
		return present, true
	}
	switch cl.Type {
	case search.TypeToken:
		return tokenFilter(cl.Param, cl.Modifier, cl.Values)
	case search.TypeString:
		switch cl.Modifier {
		case search.ModNone:
			alts := make(bson.A, len(cl.Values))
			for i, v := range cl.Values {
				alts[i] = bson.D{{Key: "k", Value: bson.D{{Key: "$regex",
					Value: bson.Regex{Pattern: "^" + regexp.QuoteMeta(key(kindStringFold, cl.Param, search.Fold(v.Text)))}}}}}
			}
			return or(alts), true
		case search.ModExact:
			keys := make([]string, len(cl.Values))
			for i, v := range cl.Values {
				keys[i] = key(kindStringFold, cl.Param, search.Fold(v.Text))
			}
			return in("k", keys), false
		}
	case search.TypeReference:
		if cl.Modifier == search.ModIdentifier {
			return tokenFilter(cl.Param+search.SuffixIdentifier, search.ModNone, cl.Values)
		}
		var keys []string
		exact := true
		for _, v := range cl.Values {
			switch {
			case v.URL != "":
				keys = append(keys, key(kindRefURL, cl.Param, v.URL))
				exact = exact && v.Version == ""
			case v.ID != "" && v.Type != "":
				keys = append(keys, key(kindRef, cl.Param, string(v.Type)+"/"+string(v.ID)))
			default:
				return present, false
			}
		}
		return in("k", keys), exact
	case search.TypeURI:
		switch cl.Modifier {
		case search.ModNone:
			keys := make([]string, len(cl.Values))
			for i, v := range cl.Values {
				keys[i] = key(kindURI, cl.Param, v.Text)
			}
			return in("k", keys), true
		case search.ModAbove:
			var keys []string
			for _, v := range cl.Values {
				for i := len(v.Text); i > 0; i-- {
					keys = append(keys, key(kindURI, cl.Param, v.Text[:i]))
				}
			}
			return in("k", keys), false
		case search.ModBelow:
			alts := make(bson.A, len(cl.Values))
			for i, v := range cl.Values {
				alts[i] = bson.D{{Key: "k", Value: bson.D{{Key: "$regex",
					Value: bson.Regex{Pattern: "^" + regexp.QuoteMeta(key(kindURI, cl.Param, v.Text))}}}}}
			}
			return or(alts), true
		}
	}
	if cl.Param == "_lastUpdated" {
		return nil, false
	}
	return present, false
}

// tokenFilter returns the conditions of token values on param.
func tokenFilter(param string, mod search.Modifier, values []search.Value) (bson.D, bool) {
	if param == "_id" && (mod == search.ModNone || mod == search.ModNot) {
		ids := make([]string, len(values))
		for i, v := range values {
			ids[i] = v.Code
		}
		op := "$in"
		if mod == search.ModNot {
			op = "$nin"
		}
		return bson.D{{Key: "i", Value: bson.D{{Key: op, Value: ids}}}}, true
	}
	switch mod {
	case search.ModNone, search.ModNot:
	case search.ModOfType:
		return tokenFilter(param+search.SuffixOfType, search.ModNone, values)
	default:
		return bson.D{{Key: "k", Value: key(kindPresent, param)}}, false
	}
	keys := make([]string, len(values))
	for i, v := range values {
		switch {
		case v.System == nil && v.Code == "":
			keys[i] = key(kindPresent, param)
		case v.System == nil:
			keys[i] = key(kindTokenCode, param, v.Code)
		case v.Code == "":
			keys[i] = key(kindTokenSys, param, *v.System)
		default:
			keys[i] = key(kindToken, param, *v.System, v.Code)
		}
	}
	if mod == search.ModNot {
		return bson.D{{Key: "k", Value: bson.D{{Key: "$nin", Value: keys}}}}, true
	}
	return in("k", keys), true
}

// in is field's condition of equality with one of values.
func in(field string, values []string) bson.D {
	if len(values) == 1 {
		return bson.D{{Key: field, Value: values[0]}}
	}
	return bson.D{{Key: field, Value: bson.D{{Key: "$in", Value: values}}}}
}

// or is the condition that one of alts holds.
func or(alts bson.A) bson.D {
	if len(alts) == 1 {
		return alts[0].(bson.D)
	}
	return bson.D{{Key: "$or", Value: alts}}
}

// and is the condition that every one of conds holds.
func and(conds []bson.D) bson.D {
	var out bson.A
	for _, c := range conds {
		if len(c) > 0 {
			out = append(out, c)
		}
	}
	switch len(out) {
	case 0:
		return bson.D{}
	case 1:
		return out[0].(bson.D)
	}
	return bson.D{{Key: "$and", Value: out}}
}

// typesFilter is the condition that a document is a current, not deleted
// resource of one of types (any type when empty).
func typesFilter(types []fhir.ResourceType) bson.D {
	f := bson.D{{Key: "del", Value: false}}
	switch len(types) {
	case 0:
	case 1:
		f = append(bson.D{{Key: "t", Value: string(types[0])}}, f...)
	default:
		ts := make([]string, len(types))
		for i, t := range types {
			ts[i] = string(t)
		}
		f = append(bson.D{{Key: "t", Value: bson.D{{Key: "$in", Value: ts}}}}, f...)
	}
	return f
}

// setList returns the members of a set.
func setList(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	return out
}
