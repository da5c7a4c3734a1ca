// Command cpms is the CPMS FHIR server: an open FHIR R4 clinical data
// server for the European Reference Networks' Clinical Patient Management
// System.
//
// Usage:
//
//	cpms serve [flags]    run the server
//	cpms reindex [flags]  recompute search values (the server stopped)
//	cpms import PATH...   load Bundles and NDJSON files
//	cpms migrate          copy the embedded store into MongoDB
//	cpms bench search     measure a search mix on Synthea-like patients
//	cpms bench ingest     measure bulk ingest of the Synthea bundles
//	cpms bench terminology measure start-up, memory and the terminology operations
//	cpms terminology import load official terminology releases as CodeSystems
//	cpms version          print the version
//
// Run "cpms serve -h" for the flags; each has an environment variable
// equivalent (CPMS_ADDR, CPMS_DATA, ...).
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "bench":
		return benchCmd(args[1:], stdout, stderr)
	case "terminology":
		return terminologyCmd(args[1:], stdout, stderr)
	case "reindex":
		return reindex(args[1:], stdout, stderr)
	case "import":
		return importCmd(args[1:], stdout, stderr)
	case "migrate":
		return migrate(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "cpms", version())
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "cpms: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `cpms: the CPMS FHIR R4 server

Usage:
  cpms serve [flags]    run the server (cpms serve -h for flags)
  cpms reindex [flags]  recompute the search values of stored resources (server stopped)
  cpms import PATH...   load FHIR Bundles and NDJSON files (cpms import -h for flags)
  cpms migrate          copy the embedded store into MongoDB (cpms migrate -h for flags)
  cpms bench search     load Synthea-like patients and measure a search mix
  cpms bench ingest     load the Synthea bundles three ways and measure each
  cpms bench terminology start the server, measure start-up, memory, $expand, $lookup, $validate-code
  cpms terminology import load HPO, ICD-10 ClaML, Loinc.csv, Orphadata XML or FHIR terminology files
  cpms version          print the version
`)
}

// version is the module version the binary was built from, or "dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
