package fhirpath_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cpms-fhir/cpms/fhir/fhirpath"
)

func decode(s string) map[string]any {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		panic(err)
	}
	return m
}

func Example() {
	obs := decode(`{"resourceType": "Observation", "status": "final",
		"subject": {"reference": "Patient/123"},
		"effectiveDateTime": "2024-03-10",
		"valueQuantity": {"value": 72.50, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}`)

	for _, src := range []string{
		"Observation.value.ofType(Quantity)",
		"(Observation.value as Quantity).value",
		"Observation.subject.where(resolve() is Patient).reference",
		"Observation.effective",
		"Observation.value > 70000 'g'",
	} {
		e := fhirpath.MustCompile(src)
		res, err := e.Evaluate(obs)
		if err != nil {
			fmt.Println(err)
			continue
		}
		for _, it := range res {
			fmt.Printf("%s: %s %s\n", src, it.TypeName(), it)
		}
	}
	// Output:
	// Observation.value.ofType(Quantity): FHIR.Quantity 72.50 'kg'
	// (Observation.value as Quantity).value: FHIR.decimal 72.50
	// Observation.subject.where(resolve() is Patient).reference: FHIR.string Patient/123
	// Observation.effective: FHIR.dateTime 2024-03-10
	// Observation.value > 70000 'g': System.Boolean true
}

func ExampleItem_AsDateTime() {
	p := decode(`{"resourceType": "Patient", "birthDate": "1980-02"}`)
	res, _ := fhirpath.MustCompile("birthDate").Evaluate(p)
	d, _ := res[0].AsDateTime()
	start, end := d.Range(nil)
	fmt.Println(res[0].FHIRType(), d.Precision == fhirpath.PrecisionMonth, start.Format("2006-01-02"), end.Format("2006-01-02"))
	// Output: date true 1980-02-01 1980-03-01
}

func ExampleExpression_Check() {
	e := fhirpath.MustCompile("Patient.name.given1")
	fmt.Println(e.Check("Patient", fhirpath.CheckOptions{}))
	// Output: fhirpath: semantic error at offset 13: given1 is not an element of HumanName
}
