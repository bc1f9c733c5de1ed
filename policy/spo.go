package policy

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// This file reads and writes the SeccompProfile resource of the
// Kubernetes Security Profiles Operator (SPO,
// security-profiles-operator.x-k8s.io), whose spec is the OCI profile
// without moby's extensions: no archMap, includes, excludes, name,
// comment or defaultErrnoRet.

// spoGroup is the API group of SeccompProfile.
const spoGroup = "security-profiles-operator.x-k8s.io"

// SPOAPIVersion is the apiVersion FormatSPO writes.
const SPOAPIVersion = spoGroup + "/v1beta1"

var (
	spoTopKeys      = []string{"apiVersion", "kind", "metadata", "spec", "status"}
	spoSpecKeys     = []string{"defaultAction", "architectures", "flags", "listenerPath", "listenerMetadata", "syscalls"}
	spoSpecExtra    = []string{"baseProfileName", "disabled", "state"}
	spoSyscallKeys  = []string{"names", "action", "errnoRet", "args"}
	spoAPIVersions  = []string{spoGroup + "/v1alpha1", spoGroup + "/v1beta1", spoGroup + "/v1"}
	spoMaxNameBytes = 253
)

// ParseSPO reads a SeccompProfile resource of the Security Profiles
// Operator (apiVersion security-profiles-operator.x-k8s.io/v1beta1, and
// v1alpha1 or v1 with the same spec) as the policy the operator installs
// on a node of this machine's architecture. Errors and warnings are
// placed as for ParseOCI. The YAML comment above the
// resource and above each syscalls entry become the policy's and the
// rules' comments. A baseProfileName is reported, not followed: the
// policy then holds only this resource's own rules.
func ParseSPO(filename string, data []byte) (*Policy, error) {
	h, err := ociHost(filename, "")
	if err != nil {
		return nil, err
	}
	li := newLineIndex(filename, data)
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, ErrorList{{Pos: spoErrorPos(li, err), Msg: "YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, ErrorList{{Pos: Pos{File: filename, Line: extra.Line, Col: extra.Column}, Msg: "a second YAML document; put one SeccompProfile in a file"}}
	}
	im := &ociImport{jsonReader: jsonReader{li: li}, host: h, spo: true}
	root, err := spoToJSON(&doc, li, 0)
	if err != nil {
		return nil, err
	}
	p := im.resource(root)
	if p != nil {
		top := doc.Content[0]
		first := ""
		if len(top.Content) > 0 {
			first = top.Content[0].HeadComment
		}
		p.Comment = spoComment(doc.HeadComment, top.HeadComment, first)
		im.ruleComments(p, &doc)
	}
	return im.finish(p)
}

// resource checks the resource around the spec and reads the spec.
func (im *ociImport) resource(root *jsonNode) *Policy {
	m := im.object(root, "the SeccompProfile", spoTopKeys...)
	if m == nil {
		return nil
	}
	if f := m["apiVersion"]; f == nil {
		im.errorf(root.off, "no apiVersion; want %s", SPOAPIVersion)
	} else if s, ok := im.str(f.val, "apiVersion"); ok && !strings.HasPrefix(s, spoGroup+"/") {
		im.errorf(f.val.off, "apiVersion %q is not the Security Profiles Operator's; want %s", s, SPOAPIVersion)
	} else if ok && !slices.Contains(spoAPIVersions, s) {
		im.errorf(f.val.off, "unknown apiVersion %q (known: %s)", s, strings.Join(spoAPIVersions, ", "))
	}
	if f := m["kind"]; f == nil {
		im.errorf(root.off, "no kind; want SeccompProfile")
	} else if s, ok := im.str(f.val, "kind"); ok && s != "SeccompProfile" {
		im.errorf(f.val.off, "kind %q is not SeccompProfile", s)
	}
	if f := m["metadata"]; f != nil && f.val.kind != jsonObject {
		im.errorf(f.val.off, "metadata: want an object, found %s", f.val.kind)
	}
	f := m["spec"]
	if f == nil {
		im.errorf(root.off, "the SeccompProfile has no spec")
		return nil
	}
	spec := f.val
	if spec.kind != jsonObject {
		im.errorf(spec.off, "spec: want an object, found %s", spec.kind)
		return nil
	}
	// The operator's own keys, then the profile.
	profile := &jsonNode{kind: jsonObject, off: spec.off}
	for _, g := range spec.fields {
		if !slices.Contains(spoSpecExtra, g.key) {
			profile.fields = append(profile.fields, g)
			continue
		}
		switch g.key {
		case "baseProfileName":
			if s, ok := im.str(g.val, "spec.baseProfileName"); ok && s != "" {
				im.warnf(g.off, "baseProfileName %q is not followed: the operator adds that profile's rules to this one, and this policy holds only this resource's rules", s)
			}
		case "disabled":
			if g.val.kind != jsonBool {
				im.errorf(g.val.off, "spec.disabled: want a boolean, found %s", g.val.kind)
			} else if g.val.boolean {
				im.warnf(g.off, "the profile is disabled: the operator does not install it")
			}
		case "state":
			if s, ok := im.str(g.val, "spec.state"); ok && s == "Disabled" {
				im.warnf(g.off, "the profile is disabled: the operator does not install it")
			} else if ok && s != "Enabled" {
				im.errorf(g.val.off, "spec.state %q: want Enabled or Disabled", s)
			}
		}
	}
	return im.profile(profile)
}

// spoErrorPos finds the line a yaml.v3 error names ("yaml: line 3: ...").
func spoErrorPos(li *lineIndex, err error) Pos {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+len("line "):]
		end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if end < 0 {
			end = len(rest)
		}
		if n, err := strconv.Atoi(rest[:end]); err == nil && n > 0 {
			return Pos{File: li.file, Line: n, Col: 1}
		}
	}
	return Pos{File: li.file}
}

// spoToJSON turns a YAML node into the tree the profile reader checks,
// with offsets computed from YAML's lines and columns.
func spoToJSON(n *yaml.Node, li *lineIndex, depth int) (*jsonNode, error) {
	off := li.offset(n.Line, n.Column)
	fail := func(format string, args ...any) error {
		return ErrorList{{Pos: li.pos(off), Msg: fmt.Sprintf(format, args...)}}
	}
	if depth >= jsonMaxDepth {
		return nil, fail("YAML nested deeper than %d levels", jsonMaxDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, fail("an empty YAML document")
		}
		return spoToJSON(n.Content[0], li, depth+1)
	case yaml.AliasNode:
		return nil, fail("YAML aliases (*%s) are not accepted in profiles; write the value out", n.Value)
	case yaml.MappingNode:
		out := &jsonNode{kind: jsonObject, off: off}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || (k.Tag != "!!str" && k.Tag != "!!merge") {
				return nil, ErrorList{{Pos: li.pos(li.offset(k.Line, k.Column)), Msg: "a mapping key that is not a string"}}
			}
			if k.Tag == "!!merge" {
				return nil, ErrorList{{Pos: li.pos(li.offset(k.Line, k.Column)), Msg: "YAML merge keys (<<) are not accepted in profiles; write the keys out"}}
			}
			val, err := spoToJSON(v, li, depth+1)
			if err != nil {
				return nil, err
			}
			out.fields = append(out.fields, jsonField{key: k.Value, off: li.offset(k.Line, k.Column), val: val})
		}
		return out, nil
	case yaml.SequenceNode:
		out := &jsonNode{kind: jsonArray, off: off}
		for _, c := range n.Content {
			e, err := spoToJSON(c, li, depth+1)
			if err != nil {
				return nil, err
			}
			out.elems = append(out.elems, e)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return &jsonNode{kind: jsonNull, off: off}, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, fail("%v", err)
			}
			return &jsonNode{kind: jsonBool, off: off, boolean: b}, nil
		case "!!int":
			// YAML writes integers in decimal, 0x hex or 0o octal.
			v, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
			if err != nil {
				// Negative or too large: keep the literal for the message.
				return &jsonNode{kind: jsonNumber, off: off, str: n.Value}, nil
			}
			return &jsonNode{kind: jsonNumber, off: off, str: strconv.FormatUint(v, 10)}, nil
		case "!!float":
			return &jsonNode{kind: jsonNumber, off: off, str: n.Value}, nil
		}
		return &jsonNode{kind: jsonString, off: off, str: n.Value}, nil
	}
	return nil, fail("unexpected YAML node")
}

// offset returns the byte offset of a 1-based line and column.
func (li *lineIndex) offset(line, col int) int {
	if line < 1 || line > len(li.start) {
		return 0
	}
	return li.start[line-1] + max(col-1, 0)
}

// spoComment joins YAML comments and strips their '#'.
func spoComment(parts ...string) string {
	var lines []string
	for _, p := range parts {
		if p == "" {
			continue
		}
		for _, l := range strings.Split(p, "\n") {
			l = strings.TrimPrefix(strings.TrimPrefix(l, "#"), " ")
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// ruleComments gives each rule the comment above its syscalls entry.
func (im *ociImport) ruleComments(p *Policy, doc *yaml.Node) {
	spec := spoLookup(doc.Content[0], "spec")
	syscalls := spoLookup(spec, "syscalls")
	if syscalls == nil || syscalls.Kind != yaml.SequenceNode {
		return
	}
	for _, item := range syscalls.Content {
		c := item.HeadComment
		if item.Kind == yaml.MappingNode && len(item.Content) > 0 {
			c = spoComment(c, item.Content[0].HeadComment)
		} else {
			c = spoComment(c)
		}
		if c == "" {
			continue
		}
		pos := im.li.pos(im.li.offset(item.Line, item.Column))
		for _, r := range p.Rules {
			if r.Pos == pos {
				r.Comment = c
				break
			}
		}
	}
}

// spoLookup returns the value of a key of a mapping node.
func spoLookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// FormatSPO writes p as a SeccompProfile resource of the Security
// Profiles Operator named name (a Kubernetes object name: lower-case
// letters, digits, '-' and '.'). The rules are written as FormatOCI
// writes them, so the operator's runtime enforces the same decisions.
// A SeccompProfile cannot say what moby's extensions say, so a policy
// whose rules depend on capabilities or the kernel version, or whose
// default errno is not EPERM, is refused; and Kubernetes integers are
// signed, so comparisons with values of 2^63 and above are refused too.
// The policy's and rules' comments become YAML comments.
func FormatSPO(p *Policy, name string) ([]byte, error) {
	if err := spoCheckName(name); err != nil {
		return nil, err
	}
	x, err := newOCIExporter(p)
	if err != nil {
		return nil, err
	}
	out, err := x.profile()
	if err != nil {
		return nil, err
	}
	if r := out.DefaultErrnoRet; r != nil && *r != 1 {
		return nil, fmt.Errorf("the default action %s returns %d, but a SeccompProfile has no defaultErrnoRet: the operator's profiles return EPERM (1)", p.Default, *r)
	}

	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	num := func(v uint64) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(v, 10)}
	}
	mapping := func(kv ...*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Content: kv} }
	list := func(items []string) *yaml.Node {
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, s := range items {
			n.Content = append(n.Content, str(s))
		}
		return n
	}

	spec := mapping(str("defaultAction"), str(out.DefaultAction))
	if len(out.Architectures) > 0 {
		spec.Content = append(spec.Content, str("architectures"), list(out.Architectures))
	}
	if out.Flags != nil && len(*out.Flags) > 0 {
		spec.Content = append(spec.Content, str("flags"), list(*out.Flags))
	}
	if out.ListenerPath != "" {
		spec.Content = append(spec.Content, str("listenerPath"), str(out.ListenerPath))
	}
	if out.ListenerMetadata != "" {
		spec.Content = append(spec.Content, str("listenerMetadata"), str(out.ListenerMetadata))
	}
	syscalls := &yaml.Node{Kind: yaml.SequenceNode}
	for _, sc := range out.Syscalls {
		if sc.Includes != nil || sc.Excludes != nil {
			return nil, fmt.Errorf("the rules for %s depend on the container's capabilities, the kernel version or the host's architecture, which a SeccompProfile cannot say (it has no includes or excludes); write one policy per environment", strings.Join(sc.Names, ", "))
		}
		item := mapping(str("names"), list(sc.Names), str("action"), str(sc.Action))
		if sc.ErrnoRet != nil {
			item.Content = append(item.Content, str("errnoRet"), num(*sc.ErrnoRet))
		}
		if len(sc.Args) > 0 {
			args := &yaml.Node{Kind: yaml.SequenceNode}
			for _, a := range sc.Args {
				if a.Value > 1<<63-1 || a.ValueTwo != nil && *a.ValueTwo > 1<<63-1 {
					return nil, fmt.Errorf("the rule for %s compares argument %d with %#x, but a SeccompProfile holds only values below 2^63 (Kubernetes integers are int64)", strings.Join(sc.Names, ", "), a.Index, max(a.Value, ociDeref(a.ValueTwo)))
				}
				arg := mapping(str("index"), num(uint64(a.Index)), str("value"), num(a.Value))
				if a.ValueTwo != nil {
					arg.Content = append(arg.Content, str("valueTwo"), num(*a.ValueTwo))
				}
				arg.Content = append(arg.Content, str("op"), str(a.Op))
				args.Content = append(args.Content, arg)
			}
			item.Content = append(item.Content, str("args"), args)
		}
		item.HeadComment = spoCommentOut(sc.Comment)
		syscalls.Content = append(syscalls.Content, item)
	}
	spec.Content = append(spec.Content, str("syscalls"), syscalls)

	root := mapping(
		str("apiVersion"), str(SPOAPIVersion),
		str("kind"), str("SeccompProfile"),
		str("metadata"), mapping(str("name"), str(name)),
		str("spec"), spec,
	)
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}, HeadComment: spoCommentOut(p.Comment)}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func ociDeref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

// spoCommentOut turns comment text into YAML comment lines.
func spoCommentOut(c string) string {
	if c == "" {
		return ""
	}
	lines := strings.Split(c, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = "#"
		} else {
			lines[i] = "# " + l
		}
	}
	return strings.Join(lines, "\n")
}

// spoNameSyntax reports whether name is a DNS subdomain as RFC 1123 and
// Kubernetes write it, leaving the length aside: labels separated by
// '.', each of lower-case letters, digits and '-', starting and ending
// with a letter or digit. It is the regular expression
// ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
// written out, so that nothing is compiled at start-up.
func spoNameSyntax(name string) bool {
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || !spoAlnum(label[0]) || !spoAlnum(label[len(label)-1]) {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !spoAlnum(label[i]) && label[i] != '-' {
				return false
			}
		}
	}
	return true
}

// spoAlnum reports whether c is a lower-case ASCII letter or a digit.
func spoAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// spoCheckName checks a Kubernetes object name (a DNS subdomain, RFC 1123).
func spoCheckName(name string) error {
	if name == "" || len(name) > spoMaxNameBytes || !spoNameSyntax(name) {
		hint := strings.Trim(strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
				return r
			case r >= 'A' && r <= 'Z':
				return r + 'a' - 'A'
			}
			return '-'
		}, name), "-.")
		msg := fmt.Sprintf("%q is not a Kubernetes object name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most %d characters", name, spoMaxNameBytes)
		if hint != "" && len(hint) <= spoMaxNameBytes && spoNameSyntax(hint) {
			msg += fmt.Sprintf("; did you mean %q?", hint)
		}
		return fmt.Errorf("%s", msg)
	}
	return nil
}
