package policy

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// spoExample is a SeccompProfile as the operator's documentation writes
// them, with comments.
const spoExample = `# Profile for the web front end.
apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: web
  namespace: shop
  annotations:
    description: "front end"
spec:
  defaultAction: SCMP_ACT_ERRNO
  architectures:
    - SCMP_ARCH_X86_64
  syscalls:
    # What every process needs.
    - action: SCMP_ACT_ALLOW
      names:
        - exit_group
        - read
        - write
    - action: SCMP_ACT_ERRNO
      errnoRet: "38"
      names: [clone3]
    - action: SCMP_ACT_ALLOW
      names: [socket]
      args:
        - index: 0
          value: 0x2
          op: SCMP_CMP_EQ
status:
  status: Installed
`

func TestParseSPO(t *testing.T) {
	needX86(t)
	p, err := ParseSPO("web.yaml", []byte(spoExample))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) > 0 {
		t.Errorf("warnings: %v", p.Warnings)
	}
	var rules []string
	for _, r := range p.Rules {
		rules = append(rules, FormatRule(r))
	}
	want := []string{"allow exit_group read write", "errno(ENOSYS) clone3", "allow socket if arg0 == 2"}
	if !slices.Equal(rules, want) {
		t.Errorf("rules %q, want %q", rules, want)
	}
	if p.Comment != "Profile for the web front end." || p.Rules[0].Comment != "What every process needs." {
		t.Errorf("comments %q and %q", p.Comment, p.Rules[0].Comment)
	}
	if p.Rules[2].Pos != (Pos{"web.yaml", 23, 7}) || p.Rules[2].Syscalls[0].Pos != (Pos{"web.yaml", 24, 15}) {
		t.Errorf("positions %v and %v", p.Rules[2].Pos, p.Rules[2].Syscalls[0].Pos)
	}
	if !slices.Equal(p.Arches, []string{"x86_64"}) || p.Default.String() != "errno(EPERM)" {
		t.Errorf("arches %v default %s", p.Arches, p.Default)
	}
}

// TestSPORoundTrip writes policies as SeccompProfiles and reads them
// back: the same policy, comments included; and the entries are those
// FormatOCI writes.
func TestSPORoundTrip(t *testing.T) {
	needX86(t)
	srcs := []string{
		`# A tight profile.
# Second line.
default errno(EPERM)
arch x86_64 i386 x32
flags log

# Basic I/O.
allow read write exit_group
allow socket if family == AF_UNIX
errno(EAFNOSUPPORT) socket
trace(7) ptrace
`,
		`default kill_process
allow openat if flags only O_RDONLY|O_CLOEXEC
allow mprotect if prot none PROT_EXEC
notify mount
`,
	}
	for _, src := range srcs {
		p := mustParse(t, src)
		y, err := FormatSPO(p, "my-profile")
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParseSPO("p.yaml", y)
		if err != nil {
			t.Fatalf("%v\n%s", err, y)
		}
		ociSameDecisions(t, p, q, runcInputs(t, mustOCI(t, p), q.Arches, true))
		if q.Comment != p.Comment {
			t.Errorf("policy comment %q, want %q", q.Comment, p.Comment)
		}
		if p.Rules[0].Comment != "" && q.Rules[0].Comment != p.Rules[0].Comment {
			t.Errorf("rule comment %q, want %q", q.Rules[0].Comment, p.Rules[0].Comment)
		}
		// Read again and written again: nothing changes.
		y2, err := FormatSPO(q, "my-profile")
		if err != nil {
			t.Fatal(err)
		}
		q2, err := ParseSPO("p.yaml", y2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ociCanon(q), ociCanon(q2)) {
			t.Errorf("second round trip changed the policy:\n%s\n---\n%s", y, y2)
		}
		// The same entries as the OCI profile.
		var res struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string
			Metadata   struct{ Name string }
			Spec       struct{ Syscalls []map[string]any }
		}
		if err := yaml.Unmarshal(y, &res); err != nil {
			t.Fatal(err)
		}
		if res.APIVersion != SPOAPIVersion || res.Kind != "SeccompProfile" || res.Metadata.Name != "my-profile" {
			t.Errorf("resource header %+v", res)
		}
		o, err := ParseOCI("p.json", mustOCI(t, p))
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Rules) != len(q.Rules) {
			t.Errorf("%d entries, the OCI profile has %d", len(q.Rules), len(o.Rules))
		}
	}
}

func mustOCI(t *testing.T, p *Policy) []byte {
	t.Helper()
	data, err := FormatOCI(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseSPOErrors(t *testing.T) {
	head := "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata:\n  name: x\n"
	tests := []struct{ name, src, want string }{
		{"api", "apiVersion: v1\nkind: SeccompProfile\nspec:\n  defaultAction: SCMP_ACT_ALLOW\n", `1:13: apiVersion "v1" is not the Security Profiles Operator's`},
		{"version", "apiVersion: security-profiles-operator.x-k8s.io/v2\nkind: SeccompProfile\nspec:\n  defaultAction: SCMP_ACT_ALLOW\n", `unknown apiVersion`},
		{"kind", "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: AppArmorProfile\nspec: {}\n", `2:7: kind "AppArmorProfile" is not SeccompProfile`},
		{"no spec", head, "has no spec"},
		{"moby key", head + "spec:\n  defaultAction: SCMP_ACT_ALLOW\n  syscalls:\n    - names: [read]\n      action: SCMP_ACT_ALLOW\n      includes: {caps: [CAP_SYS_ADMIN]}\n", `10:7: syscalls[0]: unknown key "includes"`},
		{"defaultErrnoRet", head + "spec:\n  defaultAction: SCMP_ACT_ERRNO\n  defaultErrnoRet: 38\n", `7:3: spec: unknown key "defaultErrnoRet"`},
		{"action", head + "spec:\n  defaultAction: SCMP_ACT_DENY\n", `6:18: defaultAction: unknown action "SCMP_ACT_DENY"`},
		{"negative", head + "spec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n    - names: [read]\n      action: SCMP_ACT_ALLOW\n      args: [{index: 0, value: -1, op: SCMP_CMP_EQ}]\n", "-1 is negative"},
		{"alias", head + "spec:\n  defaultAction: &a SCMP_ACT_ERRNO\n  syscalls:\n    - names: [read]\n      action: *a\n", "YAML aliases"},
		{"two documents", head + "spec:\n  defaultAction: SCMP_ACT_ERRNO\n---\nkind: x\n", "a second YAML document"},
		{"syntax", head + "spec:\n  defaultAction: [\n", "6:1: YAML: line 6: did not find expected node content"},
		{"state", head + "spec:\n  defaultAction: SCMP_ACT_ERRNO\n  state: Off\n", `spec.state "Off"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSPO("p.yaml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseSPOWarnings(t *testing.T) {
	needX86(t)
	src := "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata:\n  name: x\nspec:\n  baseProfileName: runc-v1.0.0\n  disabled: true\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n    - names: [read]\n      action: SCMP_ACT_ALLOW\n      errnoRet: 0\n"
	_, err := ParseSPO("p.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "12:17: syscalls[0].errnoRet is set for SCMP_ACT_ALLOW") {
		t.Errorf("err = %v", err)
	}
	src = strings.TrimSuffix(src, "      errnoRet: 0\n")
	p, err := ParseSPO("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range p.Warnings {
		got = append(got, w.String())
	}
	want := []string{
		`p.yaml:6:3: baseProfileName "runc-v1.0.0" is not followed`,
		"p.yaml:7:3: the profile is disabled",
	}
	for i, w := range want {
		if i >= len(got) || !strings.HasPrefix(got[i], w) {
			t.Errorf("warnings %q, want %q", got, want)
			break
		}
	}
}

func TestFormatSPOErrors(t *testing.T) {
	needX86(t)
	moby, err := ParseOCI("moby.json", readMoby(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		p    *Policy
		name string
		want string
	}{
		{moby, "docker-default", "depend on the container's capabilities"},
		{mustParse(t, "default errno(EACCES)\nallow read\n"), "x", "has no defaultErrnoRet"},
		{mustParse(t, "default errno(EPERM)\nallow clone if clone_flags & 0x8000000000000000 == 0\n"), "x", "only values below 2^63"},
		{mustParse(t, "default allow\n"), "My_Profile", `did you mean "my-profile"?`},
		{mustParse(t, "default allow\n"), "", "is not a Kubernetes object name"},
	}
	for _, tc := range tests {
		_, err := FormatSPO(tc.p, tc.name)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestFormatKubernetesLocalhost(t *testing.T) {
	needX86(t)
	p := mustParse(t, "default errno(EPERM)\nallow read write exit_group\n")
	profile, pod, err := FormatKubernetesLocalhost(p, "web.json")
	if err != nil {
		t.Fatal(err)
	}
	if want := mustOCI(t, p); string(profile) != string(want) {
		t.Errorf("the profile is not FormatOCI's output")
	}
	var snippet struct {
		SecurityContext struct {
			SeccompProfile struct {
				Type             string
				LocalhostProfile string `yaml:"localhostProfile"`
			} `yaml:"seccompProfile"`
		} `yaml:"securityContext"`
	}
	if err := yaml.Unmarshal(pod, &snippet); err != nil {
		t.Fatal(err)
	}
	if sp := snippet.SecurityContext.SeccompProfile; sp.Type != "Localhost" || sp.LocalhostProfile != "profiles/web.json" {
		t.Errorf("snippet %+v", sp)
	}
	if !strings.Contains(string(pod), "/var/lib/kubelet/seccomp/profiles/web.json") {
		t.Errorf("the snippet does not say where to install the profile:\n%s", pod)
	}
	for _, bad := range []string{"", "../etc/passwd", "a b", "x/y"} {
		if _, _, err := FormatKubernetesLocalhost(p, bad); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

func TestSniffFormat(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{"defaultAction": "SCMP_ACT_ALLOW"}`, SourceOCI},
		{"\xef\xbb\xbf\n  {}", SourceOCI},
		{"[]", SourceOCI}, // not a profile, but the JSON reader says why
		{` "str"`, SourceOCI},
		{"apiVersion: x\nkind: SeccompProfile\n", SourceSPO},
		{"# comment\n---\nkind: SeccompProfile\n", SourceSPO},
		{"default allow\nallow read\n", SourceNative},
		{"# apiVersion: x\ndefault allow\n", SourceNative},
		{"", SourceNative},
	}
	for _, tc := range tests {
		if got := SniffFormat([]byte(tc.src)); got != tc.want {
			t.Errorf("SniffFormat(%q) = %s, want %s", tc.src, got, tc.want)
		}
	}
}

func TestParseAny(t *testing.T) {
	needX86(t)
	for _, src := range []string{
		`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`,
		"apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata: {name: x}\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls: [{names: [read], action: SCMP_ACT_ALLOW}]\n",
		"default errno(EPERM)\nallow read\n",
	} {
		p, err := ParseAny("p", []byte(src), ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if len(p.Rules) != 1 || FormatRule(p.Rules[0]) != "allow read" || p.Default.String() != "errno(EPERM)" {
			t.Errorf("%s: read as %s", src, Format(p))
		}
	}
}

// spoNameRE is the definition spoNameSyntax implements by hand.
var spoNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// TestSPONameSyntax: the hand-written check accepts exactly the names
// the RFC 1123 subdomain expression accepts.
func TestSPONameSyntax(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"web", true},
		{"a", true},
		{"0", true},
		{"web-1.shop.example", true},
		{"a--b", true},
		{"", false},
		{".", false},
		{"a.", false},
		{".a", false},
		{"a..b", false},
		{"-a", false},
		{"a-", false},
		{"a.-b", false},
		{"a-.b", false},
		{"Web", false},
		{"we_b", false},
		{"caf\u00e9", false},
		{"web\n", false},
		{"\xff", false},
	}
	for _, tt := range tests {
		if got := spoNameSyntax(tt.name); got != tt.want {
			t.Errorf("spoNameSyntax(%q) = %v, want %v", tt.name, got, tt.want)
		}
		if re := spoNameRE.MatchString(tt.name); re != tt.want {
			t.Errorf("the expression says %v for %q, the table %v", re, tt.name, tt.want)
		}
	}
}

func FuzzSPONameSyntax(f *testing.F) {
	for _, s := range []string{"", "web", "a.b-c", "a..b", "-a", "A", "a\n", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := spoNameSyntax(s), spoNameRE.MatchString(s); got != want {
			t.Errorf("spoNameSyntax(%q) = %v, the expression says %v", s, got, want)
		}
	})
}
