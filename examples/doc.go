// Package examples holds the synthetic ERN example data (centres, experts,
// patients with consents, consultation forms and panels) as transaction
// Bundles that "cpms import" loads and "cpms serve --load-examples" serves.
//
// The package is empty until the CPMS profiles and their examples land.
package examples
