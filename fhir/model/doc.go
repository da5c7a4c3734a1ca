// Package model is the FHIR R4 (4.0.1) type model: which types exist, how
// they derive from each other, and which elements each one has, with their
// types and cardinality. It is what FHIRPath evaluation, JSON validation,
// _elements/_summary handling and search indexing need to know about FHIR
// types, and nothing more (no constraints or documentation; of bindings, only
// the code system implied by a required binding of a code element).
//
// The model covers every primitive data type, every complex data type
// (including the abstract Element and BackboneElement), and every resource
// type (including the abstract Resource and DomainResource). Each element
// that has children of its own (a BackboneElement such as Patient.contact, or
// an Element such as Timing.repeat) gets an anonymous type of kind Backbone
// named by its path, so navigation is uniform:
//
//	t := model.Lookup("Patient")
//	contact := t.Element("contact").Type()        // type "Patient.contact"
//	name := contact.Element("name").Type()        // type "HumanName"
//	el, _ := model.LookupElement("Questionnaire", "item.item.linkId")
//
// Elements with a contentReference (Questionnaire.item.item refers to
// #Questionnaire.item) use the type of the element they refer to. Choice
// elements (value[x]) are named without "[x]" and list one ElementType per
// allowed type, each with its JSON property name ("valueQuantity"). Primitive
// element types also carry the name of the JSON sibling that holds their id
// and extensions ("_birthDate").
//
// Constraint profiles (SimpleQuantity, MoneyQuantity, vital signs...) are not
// types and are not included; logical models neither.
//
// # Generated table
//
// The table is derived from the official StructureDefinitions
// (profiles-types.json and profiles-resources.json of the R4 definitions)
// and the value sets (valuesets.json) by internal/gen and embedded as
// r4.json.gz, which is decoded on first use.
// To regenerate it after changing the generator:
//
//	go generate ./fhir/model
//
// It reads ../shared/data/fhir/definitions-r4 relative to the module root.
// TestGeneratedTableUpToDate fails when the committed table differs from a
// fresh generation.
//
// All types and elements returned by this package are shared and must not be
// modified. The package is safe for concurrent use.
package model

//go:generate go run ./internal/cmd/genmodel -out r4.json.gz
