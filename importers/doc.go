// Package importers reads data from outside into FHIR resources: Bundles
// and NDJSON files for bulk ingest, terminology releases, and DICOM and CDA
// documents, which are de-identified on the way in.
// Package bulk (importers/bulk) reads Bundles and NDJSON files for
// "cpms import".
package importers
