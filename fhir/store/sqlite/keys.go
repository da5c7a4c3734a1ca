package sqlite

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"

	"github.com/cpms-fhir/cpms/fhir"
)

// The index stores hashes instead of strings where a search only compares
// for equality: parameter names, token codes and systems, reference
// targets and URLs. An 8-byte key keeps index entries small and of one
// size whatever the length of the values (identifiers and URLs are long),
// as HAPI FHIR and Blaze do. The hash is SHA-256 truncated to 64 bits: a
// collision between two of the values one parameter holds is about as
// likely as a disk error (below 1e-7 at ten million values), and no one can
// forge a value that collides with a chosen one, which a non-cryptographic
// hash would allow (and with it a search that finds another patient).
//
// Parts are length-prefixed, so that no two lists of parts hash alike.

// h64 hashes parts.
func h64(parts ...string) int64 {
	var buf [256]byte
	b := buf[:0]
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	sum := sha256.Sum256(b)
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// paramKey names the values of parameter param of resource type t.
func paramKey(t fhir.ResourceType, param string) int64 {
	return h64("p", string(t), param)
}

// tokenCodeKey is the key of a code of any system ("code").
func tokenCodeKey(t fhir.ResourceType, param, code string) int64 {
	return h64("c", string(t), param, code)
}

// tokenKey is the key of a code in a system ("system|code", "|code").
func tokenKey(t fhir.ResourceType, param, system, code string) int64 {
	return h64("sc", string(t), param, system, code)
}

// tokenSystemKey is the key of a system ("system|").
func tokenSystemKey(t fhir.ResourceType, param, system string) int64 {
	return h64("s", string(t), param, system)
}

// refKey is the key of a resource as a reference target: resource.h of
// the resource and ref.th of the references to it.
func refKey(t fhir.ResourceType, id fhir.ID) int64 {
	return h64("r", string(t), string(id))
}

// urlKey is the key of an absolute or canonical URL.
func urlKey(url string) int64 {
	return h64("u", url)
}

// textParam is the derived parameter that holds the texts of token
// parameter param, for :text.
func textParam(param string) string { return param + "\x00text" }

// compParam is the derived parameter under which component i of composite
// parameter param hashes its token values.
func compParam(param string, i int) string { return param + "\x00" + strconv.Itoa(i) }
