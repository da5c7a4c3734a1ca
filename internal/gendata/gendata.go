// Package gendata holds what the generators of the embedded FHIR tables
// (fhir/model's types, fhir/search's parameters and compartments,
// profiles/base's definitions), their loaders and the tests that read the
// shared corpora have in common: finding ../shared/data, compressing a
// table deterministically and reading it back, and the generators'
// command line.
package gendata

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// SharedDir returns the shared test-data folder: ../shared/data relative
// to the module root (the nearest parent of start holding go.mod).
func SharedDir(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", start)
		}
		dir = parent
	}
}

// Compress gzips data deterministically (no name, no modification time).
func Compress(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Main is the command line of a generator named name: it builds its table
// with build from the R4 definitions folder (-defs, by default
// ../shared/data/fhir/definitions-r4 from the module root) and writes it
// compressed to -out (by default out).
func Main(name, out string, build func(defs string) ([]byte, error)) {
	defs := flag.String("defs", "", "definitions-r4 folder (default: ../shared/data/fhir/definitions-r4 from the module root)")
	dst := flag.String("out", out, "output file")
	flag.Parse()
	if err := generate(*defs, *dst, build); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

func generate(defs, out string, build func(defs string) ([]byte, error)) error {
	if defs == "" {
		data, err := SharedDir(".")
		if err != nil {
			return err
		}
		defs = filepath.Join(data, "fhir", "definitions-r4")
	}
	raw, err := build(defs)
	if err != nil {
		return err
	}
	z, err := Compress(raw)
	if err != nil {
		return err
	}
	return os.WriteFile(out, z, 0o644)
}

// Gunzip returns what the gzipped data gz holds: an embedded table,
// written by Compress.
func Gunzip(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// ReadGzipJSON decodes the gzipped JSON file at path into v.
func ReadGzipJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
