// Package validate checks FHIR R4 resources (JSON) against profiles:
// StructureDefinitions with snapshots. Its Validator is an engine.Checker:
// the engine runs it on every write, after the base validation of
// fhir/validate passed, and on $validate, with the resource's
// meta.profile and the profiles asked for.
//
// # Use
//
//	v := validate.New(validate.Options{Terminology: term, Logger: log})
//	err := v.Add(sdJSON)           // a profile, an extension definition...
//	issues := v.Check(ctx, "Patient", body, nil)
//
// The validator takes the StructureDefinitions as JSON, so it depends on
// nothing but the FHIR R4 type model and the FHIRPath evaluator: the
// caller adds the CPMS profiles (with their generated snapshots), the
// extension definitions they use and the base definitions of the R4
// specification. Definitions are added, replaced (by canonical URL) and
// removed while resources are validated, so the server can follow the
// StructureDefinitions stored in it. A profile in meta.profile that the
// validator does not know is a warning; one asked for by $validate is an
// error.
//
// # Rules
//
// The resource JSON is walked along the snapshot's element tree, each
// element of the tree meeting the instances it describes; every issue
// carries the FHIRPath location of the instance element
// (Patient.identifier[1].system; a choice element by its name without
// type, Observation.value.code; a missing element where it would be,
// Observation.subject), names the profile and says which rule was broken.
//
//   - Cardinality (min, max) of every element and slice, through backbone
//     elements, choice elements, repeated elements, primitive extensions
//     (_birthDate) and contentReference.
//   - fixed[x]: the instance equals the value (ids and extensions of the
//     instance aside); pattern[x]: the instance contains it (every
//     property of the pattern present with a matching value, every item of
//     a pattern array matched by an item of the instance array); numbers
//     compare by decimal value.
//   - maxLength of strings.
//   - Slicing: each repetition goes to the first slice whose
//     discriminators it meets; discriminators of type value and pattern
//     (by a fixed or pattern value on the element at the path or on one of
//     its ancestors in the slice, or a required binding through the
//     terminology service; extensions by url, from the url element or the
//     slice's type profile), exists, type and profile, on paths of element
//     names, $this, extension('url') and ofType(T). Each slice's
//     cardinality is checked, and its rules on its repetitions; closed
//     slicing rejects repetitions matching no slice, ordered slicing
//     checks the order, openAtEnd that unmatched repetitions come last.
//     Reslicing (slice/reslice names) is followed.
//   - Types: the type of each value must be one the profile allows (a
//     choice restricted to some types, the resource types of contained
//     resources); type profiles (an extension's definition,
//     SimpleQuantity) are followed when the validator knows them, one of
//     several sufficing; Reference targets: the type read from the
//     reference (relative, absolute, versioned, #contained) or from
//     Reference.type must be allowed by a targetProfile (a base type or a
//     known profile, whose type counts).
//   - Bindings, through the Terminology interface: required and
//     extensible bindings on code, Coding and CodeableConcept elements (a
//     CodeableConcept passes when one of its codings is in the value set;
//     without any coding, it fails a required binding). A required
//     binding not met is an error, an extensible one a warning (errors of
//     the terminology service are turned into warnings); preferred and
//     example bindings are ignored. Bindings identical to those of the
//     base definition of the profile's type, when the validator knows it,
//     are not the profile's and are not checked (the base validation
//     checks the required bindings of code elements).
//   - Invariants: a constraint with an expression is evaluated with
//     fhir/fhirpath on each instance of its element (%resource is the
//     resource, %context the instance). An empty result passes; the
//     constraint's severity is the issue's.
//
// Which invariants: only those the profile adds to the base
// specification. A constraint is the base specification's, and skipped,
// when its source is a base definition (http://hl7.org/fhir/
// StructureDefinition/ followed by a type name of R4: Element,
// DomainResource, Observation...), when it has no source and a base
// definition known to the validator declares its key, or when the
// profile validated is itself a base definition. The base invariants are
// the base validation's responsibility; evaluating them again would
// double its work and its known false positives.
//
// # Not done
//
//   - Discriminators with resolve() (they need the referenced resources);
//     slicings without discriminator. Such slices are reported once per
//     validation with a warning, and neither their cardinality nor closed
//     slicing is checked.
//   - Bindings on Quantity (units), string and uri elements; the
//     conformance of referenced resources to a target profile (only their
//     type is checked); minValue/maxValue; mustSupport.
//   - Snapshots in the R3 style naming a choice type in the path
//     (Observation.valueQuantity instead of a value[x] type slice).
package validate
