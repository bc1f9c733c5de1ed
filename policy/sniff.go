package policy

import (
	"bytes"
	"strings"
)

// Source formats SniffFormat tells apart.
const (
	SourceNative = "native" // syscage's policy language
	SourceOCI    = "oci"    // OCI runtime spec / Docker / Podman JSON
	SourceSPO    = "spo"    // Security Profiles Operator SeccompProfile YAML
)

// SniffFormat tells which format a policy source is in, by content: JSON
// (an object or, by mistake, an array or string, after white space) is an
// OCI profile, so that the JSON reader says what is wrong with it; YAML whose first
// statement is an apiVersion or kind key is a SeccompProfile; anything
// else is the native format.
func SniffFormat(data []byte) string {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[' || t[0] == '"') {
		return SourceOCI
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" || line == "---" || strings.HasPrefix(strings.TrimLeft(line, " \t"), "#") {
			continue
		}
		if strings.HasPrefix(line, "apiVersion:") || strings.HasPrefix(line, "kind:") {
			return SourceSPO
		}
		return SourceNative
	}
	return SourceNative
}

// ParseAny reads a policy in any format syscage knows, recognised by
// SniffFormat: OCI JSON with ParseOCI, a SeccompProfile with ParseSPO,
// and the native format with Parse(filename, data, opts).
func ParseAny(filename string, data []byte, opts ParseOptions) (*Policy, error) {
	switch SniffFormat(data) {
	case SourceOCI:
		return ParseOCI(filename, bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	case SourceSPO:
		return ParseSPO(filename, data)
	}
	return Parse(filename, data, opts)
}
