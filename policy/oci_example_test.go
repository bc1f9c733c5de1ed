package policy_test

import (
	"fmt"
	"log"

	"github.com/syscage/syscage/policy"
)

func ExampleParseOCI() {
	profile := `{
	"defaultAction": "SCMP_ACT_ERRNO",
	"architectures": ["SCMP_ARCH_X86_64"],
	"syscalls": [
		{"names": ["read", "write", "exit_group", "raed"], "action": "SCMP_ACT_ALLOW"},
		{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
		{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
		 "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]}
	]
}`
	// ParseOCIFor names the runtime's host; ParseOCI uses this machine's.
	p, err := policy.ParseOCIFor("profile.json", []byte(profile), "x86_64")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(policy.Format(p)))
	for _, w := range p.Warnings {
		fmt.Println("warning:", w)
	}
	// Output:
	// arch x86_64
	// default errno(EPERM)
	// unknown errno(ENOSYS)
	// badarch kill_process
	//
	// allow read write exit_group
	// errno(ENOSYS) clone3
	// allow personality if arg0 == 0xffffffff
	// warning: profile.json:5:45: syscalls[0].names[3]: syscall "raed" is not known on any architecture, so it is left out, as runc leaves out names libseccomp does not know; did you mean "read", "readv", "rseq"?
}

func ExampleFormatOCI() {
	p, err := policy.Parse("web.policy", []byte(`default errno(EPERM)
arch x86_64
allow read write exit_group
allow socket if family == AF_INET
`), policy.ParseOptions{})
	if err != nil {
		log.Fatal(err)
	}
	data, err := policy.FormatOCI(p)
	if err != nil {
		log.Fatal(err)
	}
	// family is an int: the profile compares only its low 32 bits, as
	// the kernel reads it.
	fmt.Print(string(data))
	// Output:
	// {
	// 	"defaultAction": "SCMP_ACT_ERRNO",
	// 	"defaultErrnoRet": 1,
	// 	"architectures": [
	// 		"SCMP_ARCH_X86_64"
	// 	],
	// 	"flags": [],
	// 	"syscalls": [
	// 		{
	// 			"names": [
	// 				"read",
	// 				"write",
	// 				"exit_group"
	// 			],
	// 			"action": "SCMP_ACT_ALLOW"
	// 		},
	// 		{
	// 			"names": [
	// 				"socket"
	// 			],
	// 			"action": "SCMP_ACT_ALLOW",
	// 			"args": [
	// 				{
	// 					"index": 0,
	// 					"value": 4294967295,
	// 					"valueTwo": 2,
	// 					"op": "SCMP_CMP_MASKED_EQ"
	// 				}
	// 			]
	// 		}
	// 	]
	// }
}

func ExampleFormatSPO() {
	p, err := policy.Parse("web.policy", []byte(`# The web front end.

default errno(EPERM)
arch x86_64
allow read write exit_group
`), policy.ParseOptions{})
	if err != nil {
		log.Fatal(err)
	}
	data, err := policy.FormatSPO(p, "web")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(data))
	// Output:
	// # The web front end.
	//
	// apiVersion: security-profiles-operator.x-k8s.io/v1beta1
	// kind: SeccompProfile
	// metadata:
	//   name: web
	// spec:
	//   defaultAction: SCMP_ACT_ERRNO
	//   architectures:
	//     - SCMP_ARCH_X86_64
	//   syscalls:
	//     - names:
	//         - read
	//         - write
	//         - exit_group
	//       action: SCMP_ACT_ALLOW
}

func ExampleFormatKubernetesLocalhost() {
	p, err := policy.Parse("web.policy", []byte("default errno(EPERM)\narch x86_64\nallow read write exit_group\n"), policy.ParseOptions{})
	if err != nil {
		log.Fatal(err)
	}
	_, pod, err := policy.FormatKubernetesLocalhost(p, "web")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(pod))
	// Output:
	// # Install the profile on every node as /var/lib/kubelet/seccomp/profiles/web.json,
	// # then set this securityContext on the pod (or on one of its containers):
	// securityContext:
	//   seccompProfile:
	//     type: Localhost
	//     localhostProfile: profiles/web.json
}

func ExampleSniffFormat() {
	for _, src := range []string{
		`{"defaultAction": "SCMP_ACT_ALLOW"}`,
		"apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n",
		"default allow\n",
	} {
		fmt.Println(policy.SniffFormat([]byte(src)))
	}
	// Output:
	// oci
	// spo
	// native
}

func ExampleParseSPO() {
	resource := `# The web front end.
apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: web
spec:
  baseProfileName: runc-v1.0.0
  defaultAction: SCMP_ACT_ERRNO
  architectures: [SCMP_ARCH_X86_64]
  syscalls:
    - names: [read, write, exit_group]
      action: SCMP_ACT_ALLOW
`
	p, err := policy.ParseSPO("web.yaml", []byte(resource))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range p.Rules {
		fmt.Println(policy.FormatRule(r))
	}
	for _, w := range p.Warnings {
		fmt.Println("warning:", w)
	}
	// Output:
	// allow read write exit_group
	// warning: web.yaml:7:3: baseProfileName "runc-v1.0.0" is not followed: the operator adds that profile's rules to this one, and this policy holds only this resource's rules
}

func ExampleExportOCI() {
	p, err := policy.Parse("p.policy", []byte("default errno(EPERM)\narch x86_64\nallow read\n"), policy.ParseOptions{})
	if err != nil {
		log.Fatal(err)
	}
	_, notes, err := policy.ExportOCI(p)
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range notes {
		fmt.Println(n)
	}
	// Output:
	// runc kills only the thread (SCMP_ACT_KILL) that makes a syscall of an architecture the profile does not accept, where the policy kills the process
}

func ExampleParseAny() {
	for _, src := range []string{
		`{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`,
		"default errno(EPERM)\narch x86_64\nallow read\n",
	} {
		p, err := policy.ParseAny("policy", []byte(src), policy.ParseOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s\n", policy.SniffFormat([]byte(src)), policy.FormatRule(p.Rules[0]))
	}
	// Output:
	// oci: allow read
	// native: allow read
}
