package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cpms-fhir/cpms/fhir"
	"github.com/cpms-fhir/cpms/fhir/engine"
	"github.com/cpms-fhir/cpms/fhir/fhirpath"
)

// Terminology checks codes for the validator's bindings. It is the
// terminology service's CheckCoding: is the coding (system, version,
// code, display) valid in its system, and, when valueSet is given, in
// that value set; where is the FHIRPath location given to every issue.
// An unknown system is a warning, a known system without the code an
// error, a code outside the value set an error (which the validator turns
// into a warning for an extensible binding).
type Terminology interface {
	CheckCoding(system, version, code, display, valueSet, where string) []fhir.Issue
}

// TerminologyFunc adapts a function to the Terminology interface.
type TerminologyFunc func(system, version, code, display, valueSet, where string) []fhir.Issue

// CheckCoding calls f.
func (f TerminologyFunc) CheckCoding(system, version, code, display, valueSet, where string) []fhir.Issue {
	return f(system, version, code, display, valueSet, where)
}

// Options configure a Validator.
type Options struct {
	// Terminology checks the codes of required and extensible bindings;
	// nil: bindings are not checked.
	Terminology Terminology
	// Logger receives the validator's log; nil means slog.Default().
	Logger *slog.Logger
}

// Validator validates resources against the profiles it knows. It is safe
// for concurrent use; definitions may be added and removed while
// resources are validated.
type Validator struct {
	term Terminology
	log  *slog.Logger
	mu   sync.Mutex // serialises writers of reg
	reg  atomic.Pointer[registry]
}

// registry is an immutable set of compiled definitions, replaced as a
// whole on every change.
type registry struct {
	byURL map[string]*profile
	// coreKeys are the constraint keys declared by the base
	// specification's definitions known to the validator.
	coreKeys map[string]bool
}

var _ engine.Checker = (*Validator)(nil)

// New returns a Validator that knows no profile yet.
func New(opts Options) *Validator {
	v := &Validator{term: opts.Terminology, log: opts.Logger}
	if v.log == nil {
		v.log = slog.Default()
	}
	v.log = v.log.With("component", "profiles/validate")
	v.reg.Store(&registry{byURL: map[string]*profile{}, coreKeys: map[string]bool{}})
	return v
}

// Add adds a StructureDefinition (JSON, with its snapshot), or replaces
// the one with the same canonical URL. Both resource profiles and the
// definitions they use (extensions, data type profiles) are added this
// way.
func (v *Validator) Add(sdJSON []byte) error {
	sd, err := decodeDefinition(sdJSON)
	if err != nil {
		return err
	}
	p, err := compile(sd)
	if err != nil {
		return err
	}
	v.logProblems(p)
	v.update(func(r *registry) { r.byURL[p.url] = p })
	return nil
}

// AddBundle adds every StructureDefinition with a snapshot found in a
// Bundle (such as profiles-others.json of the FHIR definitions), and
// returns how many were added. Entries that cannot be compiled are
// skipped; their errors are returned together.
func (v *Validator) AddBundle(bundleJSON []byte) (int, error) {
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		return 0, fmt.Errorf("the Bundle cannot be read: %w", err)
	}
	var added []*profile
	var errs []string
	for _, e := range b.Entry {
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(e.Resource, &head) != nil || head.ResourceType != "StructureDefinition" {
			continue
		}
		sd, err := decodeDefinition(e.Resource)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if sd.Snapshot == nil {
			continue
		}
		p, err := compile(sd)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		v.logProblems(p)
		added = append(added, p)
	}
	v.update(func(r *registry) {
		for _, p := range added {
			r.byURL[p.url] = p
		}
	})
	if len(errs) > 0 {
		return len(added), fmt.Errorf("%d StructureDefinitions not added: %s", len(errs), strings.Join(errs, "; "))
	}
	return len(added), nil
}

// Remove forgets the StructureDefinition with the given canonical URL.
func (v *Validator) Remove(url string) {
	v.update(func(r *registry) { delete(r.byURL, url) })
}

// Known reports whether the validator knows the profile with the given
// canonical URL (a version after "|" is ignored).
func (v *Validator) Known(url string) bool {
	return v.reg.Load().lookup(url) != nil
}

// update applies change to a copy of the registry and publishes it.
func (v *Validator) update(change func(*registry)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.reg.Load()
	r := &registry{byURL: make(map[string]*profile, len(old.byURL)+1), coreKeys: map[string]bool{}}
	for k, p := range old.byURL {
		r.byURL[k] = p
	}
	change(r)
	for _, p := range r.byURL {
		if p.core {
			for k := range p.keys {
				r.coreKeys[k] = true
			}
		}
	}
	v.reg.Store(r)
}

// logProblems logs what cannot be checked in a profile.
func (v *Validator) logProblems(p *profile) {
	for _, w := range p.warnings {
		v.log.Warn("profile not fully checkable", "profile", p.url, "problem", w)
	}
	for _, w := range p.notes {
		v.log.Info("profile snapshot worked around", "profile", p.url, "problem", w)
	}
	v.forEachInvariant(p, func(n *node, inv *invariant) {
		if inv.err != nil {
			v.log.Warn("profile constraint does not compile; it will be reported as not checked",
				"profile", p.url, "element", n.id, "key", inv.key, "err", inv.err)
		}
	})
}

func (v *Validator) forEachInvariant(p *profile, f func(*node, *invariant)) {
	var walk func(n *node)
	walk = func(n *node) {
		for _, inv := range n.invs {
			f(n, inv)
		}
		for _, c := range n.children {
			walk(c)
		}
		for _, s := range n.slices {
			walk(s)
		}
	}
	walk(p.root)
}

// lookup returns the profile with the given canonical URL, ignoring a
// version suffix.
func (r *registry) lookup(url string) *profile {
	if p := r.byURL[url]; p != nil {
		return p
	}
	if i := strings.IndexByte(url, '|'); i >= 0 {
		return r.byURL[url[:i]]
	}
	return nil
}

// Check validates body, a resource of type t, against each profile of its
// meta.profile and each of profiles. A profile of meta.profile that the
// validator does not know is a warning; one of profiles (asked for by
// $validate?profile=) is an error. Every issue names the profile and the
// rule broken, with the FHIRPath location of the element.
func (v *Validator) Check(ctx context.Context, t fhir.ResourceType, body []byte, profiles []string) []fhir.Issue {
	if len(profiles) == 0 && !bytes.Contains(body, []byte(`"profile"`)) {
		return nil
	}
	res, err := fhir.DecodeJSON(body)
	if err != nil {
		return []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.IssueStructure,
			Diagnostics: "the resource cannot be read for profile validation: " + err.Error()}}
	}
	reg := v.reg.Load()
	type claim struct {
		url   string
		where string // the meta.profile location, "" when asked for
	}
	var claims []claim
	claimed := func(url string) bool {
		return slices.ContainsFunc(claims, func(c claim) bool { return c.url == url })
	}
	if meta, ok := res["meta"].(map[string]any); ok {
		for i, p := range asArray(meta["profile"]) {
			if s, ok := p.(string); ok && !claimed(s) {
				claims = append(claims, claim{s, string(t) + ".meta.profile[" + strconv.Itoa(i) + "]"})
			}
		}
	}
	for _, s := range profiles {
		if !claimed(s) {
			claims = append(claims, claim{url: s})
		}
	}
	var issues []fhir.Issue
	var checked []*profile // url and url|version are one profile
	for _, c := range claims {
		if ctx.Err() != nil {
			break
		}
		p := reg.lookup(c.url)
		if p != nil && slices.Contains(checked, p) {
			continue
		}
		checked = append(checked, p)
		var where []string
		if c.where != "" {
			where = []string{c.where}
		}
		switch {
		case p == nil && c.where != "":
			issues = append(issues, fhir.Issue{Severity: fhir.SeverityWarning, Code: fhir.IssueNotFound, Expression: where,
				Diagnostics: "the profile " + c.url + " is not known to this server: the resource was not checked against it"})
		case p == nil:
			issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueNotFound,
				Diagnostics: "the profile " + c.url + " is not known to this server"})
		case p.typ != string(t):
			issues = append(issues, fhir.Issue{Severity: fhir.SeverityError, Code: fhir.IssueInvalid, Expression: where,
				Diagnostics: "the profile " + c.url + " constrains " + p.typ + " resources, not " + string(t)})
		default:
			issues = append(issues, v.checkProfile(reg, p, res, t)...)
		}
	}
	return issues
}

// checkProfile validates a decoded resource against one profile.
func (v *Validator) checkProfile(reg *registry, p *profile, res map[string]any, t fhir.ResourceType) []fhir.Issue {
	root := value{v: res, typ: resourceType(res), loc: string(t)}
	r := &run{v: v, reg: reg, root: res, rootItem: fhirpath.ResourceItem(res)}
	for _, w := range p.warnings {
		r.add(fhir.SeverityWarning, fhir.IssueNotSupported, root.loc, p, w)
	}
	r.value(p.root, root)
	return r.issues
}
