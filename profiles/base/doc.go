// Package base holds the FHIR R4 (4.0.1) base StructureDefinitions, with
// their snapshots: every resource, every data type (primitive and complex,
// with the SimpleQuantity and MoneyQuantity profiles) and the core
// extensions. Package snapshot generates the snapshots of profiles from
// them, and profile validation reads them.
//
//	sd, ok := base.Get("http://hl7.org/fhir/StructureDefinition/Patient")
//	coding, ok := base.ByType("Coding")
//
// Of each element, a definition keeps what validation and snapshot
// generation need: id, path, sliceName, slicing, short, min, max, base,
// contentReference, type (code, profiles, target profiles, and the
// structuredefinition-fhir-type and regex extensions of the primitive value
// elements), fixed[x], pattern[x], minValue[x], maxValue[x], maxLength,
// condition, constraint (key, severity, human, expression, source),
// mustSupport, isModifier, isSummary, binding (strength, valueSet) and
// representation. Documentation (definition, comment, requirements, alias,
// mapping, example...) is dropped.
//
// # Generated table
//
// The definitions are derived from profiles-types.json,
// profiles-resources.json and extension-definitions.json of the R4
// definitions by internal/gen and embedded, compressed, as
// r4definitions.json.gz. The table is read on first use; each definition is
// decoded the first time it is asked for. To regenerate it after changing
// the generator:
//
//	go generate ./profiles/base
//
// It reads ../shared/data/fhir/definitions-r4 relative to the module root.
// TestGeneratedTableUpToDate fails when the committed table differs from a
// fresh generation.
//
// The definitions returned are shared: callers must not modify them (use
// ElementDefinition.Clone to get a copy to change). The package is safe for
// concurrent use.
package base

//go:generate go run ./internal/cmd/genbase -out r4definitions.json.gz
