package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/syscage/syscage/internal/testenv"
)

// corpus is a set of real programs doing real work. Each must give the
// same output and status under `syscage run` (default profile) as
// without it. Outputs avoid what differs between two runs (pids, times).
var corpus = []struct {
	name  string
	tools []string // commands that must be on PATH
	setup func(t *testing.T, dir string)
	env   []string
	argv  []string
}{
	{name: "dash", tools: []string{"sh"}, argv: []string{"sh", "-c",
		`set -e; echo start; for i in 1 2 3; do echo "n=$i"; done; x=$(echo sub | tr a-z A-Z); echo "$x"; (exit 3) || echo "status $?"; ls / >/dev/null; cat /etc/passwd | wc -l >/dev/null; echo done`}},
	{name: "bash", tools: []string{"bash"}, argv: []string{"bash", "-c",
		`declare -A m=([a]=1 [b]=2); echo "${m[a]}${m[b]}"; for f in $(seq 3); do printf '%s,' "$f"; done; echo; read -r l < /etc/hostname; echo "${#l}" >/dev/null; trap 'echo trapped' EXIT; kill -0 $$ && echo alive`}},
	{name: "coreutils", tools: []string{"sort", "sha256sum", "find", "dd", "stat"}, argv: []string{"sh", "-c",
		`mkdir -p a/b && printf '3\n1\n2\n' > a/b/f && sort -n a/b/f && cp a/b/f a/g && mv a/g a/h && ln -s h a/l && readlink a/l && chmod 600 a/h && stat -c '%a %s' a/h && dd if=/dev/zero bs=1k count=64 status=none | sha256sum && find a | sort && rm -r a && touch -d 2001-02-03 t && date -r t +%F && du -s . >/dev/null && id -u >/dev/null && echo ok`}},
	{name: "busybox", tools: []string{"busybox"}, argv: []string{"busybox", "sh", "-c",
		`echo hello | busybox tr a-z A-Z; busybox seq 5 | busybox awk '{s+=$1} END {print s}'; echo x > f; busybox gzip f; busybox zcat f.gz; busybox ls`}},
	{name: "python3", tools: []string{"python3"}, argv: []string{"python3", "-c", `
import hashlib, json, os, sqlite3, subprocess, sys, tempfile, threading
from concurrent.futures import ProcessPoolExecutor
r = []
t = threading.Thread(target=lambda: r.append(sum(range(1000)))); t.start(); t.join()
print(r, json.dumps({"a": [1, 2]}), hashlib.sha256(b"x").hexdigest()[:16])
print(subprocess.run(["sh", "-c", "echo from child"], capture_output=True, text=True).stdout.strip())
db = sqlite3.connect(":memory:"); db.execute("create table t(x)"); db.execute("insert into t values (42)"); print(db.execute("select x from t").fetchone())
with tempfile.TemporaryDirectory() as d:
    open(os.path.join(d, "f"), "w").write("data"); print(sorted(os.listdir(d)))
with ProcessPoolExecutor(2) as ex: print(list(ex.map(abs, [-1, -2])))
print(sys.version_info >= (3,))`}},
	{name: "perl", tools: []string{"perl"}, argv: []string{"perl", "-e",
		`use strict; my %h = (a => 1, b => 2); print join(",", map { "$_=$h{$_}" } sort keys %h), "\n"; my $p = open(my $fh, "-|", "echo", "piped") or die; print <$fh>; printf "%.3f\n", atan2(1, 1) * 4;`}},
	{name: "git", tools: []string{"git"}, env: []string{"GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=a",
		"GIT_COMMITTER_EMAIL=a@example.com", "GIT_AUTHOR_DATE=2001-02-03T04:05:06Z", "GIT_COMMITTER_DATE=2001-02-03T04:05:06Z", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"},
		argv: []string{"sh", "-c", `git init -q -b main r && cd r && echo one > f && git add f && git commit -qm first && echo two >> f && git commit -qam second && git log --format='%H %s' && git diff HEAD~1 --stat && git gc -q && git fsck --strict --no-progress && git status --short`}},
	{name: "tar and compressors", tools: []string{"tar", "gzip", "xz", "zstd"}, argv: []string{"sh", "-c",
		`mkdir d && seq 1 20000 > d/n && echo hi > d/h && for c in gzip xz zstd; do tar --sort=name --mtime=2001-01-01 --owner=0 --group=0 -caf d.tar.$c --use-compress-program=$c d && tar -tf d.tar.$c --use-compress-program=$c && mkdir x && tar -xf d.tar.$c -C x --use-compress-program=$c && cmp d/n x/d/n && rm -r x; done; gzip -9c d/n | gzip -dc | sha256sum; xz -T2 -c d/n | xz -dc | wc -l; zstd -q -c d/n | zstd -qdc | tail -1`}},
	{name: "sqlite3", tools: []string{"sqlite3"}, argv: []string{"sh", "-c",
		`sqlite3 db.sqlite "create table t(a integer primary key, b text); insert into t(b) values ('x'),('y'); select count(*), group_concat(b) from t;" && sqlite3 db.sqlite "pragma integrity_check; vacuum;"`}},
	{name: "curl file url", tools: []string{"curl"}, setup: func(t *testing.T, dir string) {
		writeFile(t, filepath.Join(dir, "page.txt"), "a page on disk\n")
	}, argv: []string{"sh", "-c", `curl -sS "file://$PWD/page.txt" && curl -sS -o copy "file://$PWD/page.txt" && cat copy && curl -sS file:///nonexistent; echo "status $?"`}},
	{name: "gcc", tools: []string{"gcc"}, setup: func(t *testing.T, dir string) {
		writeFile(t, filepath.Join(dir, "main.c"), "#include <stdio.h>\n#include <math.h>\n#include <pthread.h>\nstatic void *f(void *a) { return a; }\nint main(void) { pthread_t t; void *r; pthread_create(&t, 0, f, (void *)42); pthread_join(t, &r); printf(\"%ld %.2f\\n\", (long)r, sqrt(2.0)); return 0; }\n")
	}, argv: []string{"sh", "-c", `gcc -O2 -Wall -pthread -o prog main.c -lm && ./prog && gcc -c main.c -o main.o && gcc -pthread main.o -o prog2 -lm && ./prog2`}},
	{name: "go build", tools: []string{"go"}, setup: func(t *testing.T, dir string) {
		writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/hello\n\ngo 1.22\n")
		writeFile(t, filepath.Join(dir, "main.go"), "package main\n\nimport (\n\t\"fmt\"\n\t\"sync\"\n)\n\nfunc main() {\n\tvar wg sync.WaitGroup\n\tn := make([]int, 4)\n\tfor i := range n {\n\t\twg.Add(1)\n\t\tgo func() { defer wg.Done(); n[i] = i * i }()\n\t}\n\twg.Wait()\n\tfmt.Println(\"built\", n)\n}\n")
	}, env: []string{"GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0"},
		argv: []string{"sh", "-c", `go build -o hello . && ./hello && go vet .`}},
	{name: "node", tools: []string{"node"}, argv: []string{"node", "-e", `
const fs = require("fs"), cp = require("child_process"), os = require("os");
fs.writeFileSync("f.txt", "data");
console.log(cp.execSync("echo from child").toString().trim(), typeof os.cpus().length);
const { Worker } = require("worker_threads");
fs.promises.readFile("f.txt", "utf8")
  .then(d => console.log("async", d))
  .then(() => new Promise(r => setTimeout(r, 10)))
  .then(() => console.log("timer"))
  .then(() => new Worker("require('worker_threads').parentPort.postMessage(6*7)", { eval: true })
    .on("message", m => console.log("worker", m)));`}},
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCorpus runs every program bare and under the default profile and
// demands the same output and exit status.
func TestCorpus(t *testing.T) {
	syscage(t)
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			for _, tool := range c.tools {
				testenv.NeedCommand(t, tool)
			}
			var res [2]result
			for i, sandboxed := range []bool{false, true} {
				dir := t.TempDir()
				if c.setup != nil {
					c.setup(t, dir)
				}
				if sandboxed {
					res[i] = caged(t, dir, c.env, nil, c.argv...)
				} else {
					res[i] = run(t, dir, c.env, c.argv...)
				}
			}
			bare, cage := res[0], res[1]
			if bare.code != 0 {
				t.Fatalf("the program fails even without syscage (status %d): %s", bare.code, bare.stderr)
			}
			if cage.code != bare.code || cage.stdout != bare.stdout || cage.stderr != bare.stderr {
				t.Errorf("differs under syscage run:\nbare:  status %d\nstdout %q\nstderr %q\ncaged: status %d\nstdout %q\nstderr %q",
					bare.code, bare.stdout, bare.stderr, cage.code, cage.stdout, cage.stderr)
			}
			if bare.stdout == "" {
				t.Errorf("the program printed nothing; the comparison proves little")
			}
		})
	}
}
