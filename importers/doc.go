// Package importers reads data from outside into FHIR resources: Bundles
// and NDJSON files for bulk ingest, terminology releases, and DICOM and CDA
// documents, which are de-identified on the way in.
//
// The package is empty until the first importer lands.
package importers
