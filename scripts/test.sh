#!/usr/bin/env bash
# Runs syscage's whole test suite on a fresh Debian machine: installs the
# tools the tests drive (strace, runc, busybox, libseccomp, the corpus of
# real programs) when they are missing, then vets and tests every package.
# Long fuzz, soak and benchmark runs are separate commands (README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

# command-on-PATH -> Debian package providing it
declare -A tools=(
	[strace]=strace
	[gcc]=gcc
	[scmp_sys_resolver]=libseccomp-dev
	[runc]=runc
	[busybox]=busybox-static
	[bwrap]=bubblewrap
	[python3]=python3
	[perl]=perl
	[git]=git
	[tar]=tar
	[gzip]=gzip
	[xz]=xz-utils
	[zstd]=zstd
	[sqlite3]=sqlite3
	[curl]=curl
	[node]=nodejs
)
missing=()
for cmd in "${!tools[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${tools[$cmd]}")
done
# Headers for the C test programs (pthread, i386 entry via int 0x80).
[ -e /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
if [ "${#missing[@]}" -gt 0 ]; then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	echo "installing: ${missing[*]}"
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
	else
		sudo apt-get update -qq
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
	fi
fi

# tracefs gives the syscall signature tests their reference.
if [ ! -e /sys/kernel/tracing/events ] && [ "$(id -u)" -eq 0 ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi

# Packages test in parallel, and some make the kernel log many seccomp
# records; printk's rate limit (10 per 5 s by default) would then drop the
# records other tests look for. 0 turns the limit off for this machine.
if [ "$(id -u)" -eq 0 ] && [ -w /proc/sys/kernel/printk_ratelimit ]; then
	echo 0 >/proc/sys/kernel/printk_ratelimit
fi

# The main module has no cgo; building without it also keeps the C
# library out of every syscage start (cobra's flags pull in net, whose cgo
# resolver costs a millisecond per process start).
export CGO_ENABLED=0

echo "== go vet"
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

echo "== staticcheck"
staticcheck="$(go env GOPATH)/bin/staticcheck"
if ! "$staticcheck" -version 2>/dev/null | grep -q '(0.8.2)'; then
	go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
"$staticcheck" ./...

echo "== go test (main module)"
go test -count=1 -timeout 15m ./...

if [ -f bench/go.mod ]; then
	echo "== go test (bench module: differential checks against peers)"
	# The bench module links libseccomp through cgo.
	(cd bench && export CGO_ENABLED=1 && go vet ./... && go test -count=1 -timeout 15m ./...)
fi
