// Package snapshot generates the snapshot of a FHIR R4 profile (a
// StructureDefinition with derivation "constraint") from its differential
// and the snapshot of its base definition, following the rules of
// https://hl7.org/fhir/R4/profiling.html#snapshot and elementdefinition.html.
//
// The base definition is one of the R4 base definitions of package base
// (resources, data types, core extensions) or, for a profile on a profile,
// a definition found by the Resolver the caller passes; a resolved
// definition without a snapshot gets one generated first.
//
// What a differential may do:
//
//   - constrain existing elements: min and max (only narrower than the
//     base), type (a subset of the base's types, with profiles and target
//     profiles), fixed[x] and pattern[x] (of one of the element's types),
//     binding (not weaker than a required or extensible base binding),
//     mustSupport, short and the other descriptive members, constraints
//     (appended to the base ones, with source set to the profile), maxLength
//     and conditions;
//   - reach into data types: Patient.identifier.system expands the elements
//     of Identifier under Patient.identifier (from the data type's
//     definition, or from the profile the element's type names, such as an
//     extension definition; contentReference elements expand the element
//     they refer to);
//   - restrict a choice element (Condition.onset[x]) to some of its types,
//     or name it by its type-specific name (Condition.onsetDateTime): as the
//     R4 tools do, the choice is then restricted to that type and gets a
//     closed type slicing with the slice onset[x]:onsetDateTime, which holds
//     the constraints; below a slice, as those tools also do, the choice
//     element itself is restricted and constrained, without a type slice;
//   - slice: slicing on an element, then named slices (Patient.identifier
//     :cpmsId) and their children (Patient.identifier:cpmsId.system);
//     extension elements are sliced by url without saying so, and choice
//     elements by type. A new slice starts as the base definition of the
//     sliced element, optional (min 0) unless the differential says
//     otherwise; slices are written right after their sliced element and
//     its children, each followed by its own children. The children of a
//     slice are only written when the differential constrains one of them;
//   - type an element with a profile (an extension slice with the URL of
//     its extension definition, SimpleQuantity): the element takes the
//     constraints of the profile's root and, for a new slice, its short
//     description;
//   - constrain an extension definition over the Extension base.
//
// Element ids follow the R4 rules (Patient.identifier:cpmsId.system); the
// elements of the differential are found by their id, or, without one, by
// their path and sliceName in the context of the elements before them.
//
// Problems are collected, one per differential element, and returned as a
// *fhir.Error of kind Unprocessable whose issues name the element
// ("StructureDefinition.differential.element[3]"): unknown paths and
// slices, cardinalities wider than the base, types, profiles or fixed
// values the base does not allow, weakened bindings or slicings, duplicate
// elements. Not supported (and reported as such): reslicing (slice names
// with "/"), specializations (derivation "specialization", such as logical
// models).
package snapshot
