// Package notify is syscage's supervisor for seccomp user notifications:
// it receives the syscalls a filter sends to user space
// (SECCOMP_RET_USER_NOTIF), decides them with full context while the
// target waits, and answers with an errno, a value or a descriptor it
// opened itself. On top of the receive loop it provides a file broker
// that opens files for a sandboxed program within allowed roots, the
// runtime-spec seccomp agent protocol container runtimes speak, the
// answers of a policy's refusals, and rate-limited alert events.
//
// Files by concern:
//
//	sys.go        structures and ioctls of include/uapi/linux/seccomp.h
//	serve.go      Supervisor: workers taking turns at receiving, answers, alerts
//	request.go    Request: arguments and safe reads of target memory
//	response.go   Handler, Response and its constructors
//	broker.go     the file broker: placing, opening and checking files
//	rules.go      FileRules from a policy's files block, and the matching of paths to rules
//	threads.go    what the broker knows of each target thread, checked per request
//	creds.go      opening as the target: its identity on the worker's thread
//	status.go     /proc/TID/status
//	policy.go     Escalate and PolicyHandler: a policy's refusals as alerts
//	alerts.go     Alerts: JSON-lines events with a rate limit
//	oci.go        the seccomp agent protocol (ContainerProcessState) and Agent
//
// docs/supervisor.md explains how the pieces fit and what the kernel
// guarantees. Everything here is Linux-specific; facts about the kernel
// cite the file and function they come from (kernel/seccomp.c unless said
// otherwise).
package notify
