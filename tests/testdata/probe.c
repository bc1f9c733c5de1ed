/*
 * probe: makes system calls the way an attacker or a C library would,
 * for syscage's bypass and behaviour tests, and prints what the kernel
 * answered, one line per observation.
 *
 *   probe call NR [ARG...]     syscall(NR, ARG...) on the native entry
 *   probe int80 NR [ARG...]    the i386 entry (int 0x80) from 64-bit code
 *   probe sweep64 FROM TO      every number in [FROM, TO] with zero args
 *   probe sweep32 FROM TO      the same through int 0x80
 *   probe trap NR              catch SIGSYS and print its siginfo
 *   probe fork NR              call in a forked child
 *   probe thread NR            call in a second thread
 *   probe killthread NR        a second thread calls; the main one reports
 *   probe relax NR             stack an allow-all filter, try mode 0, call
 *   probe pthread              pthread_create (clone3, then clone)
 *   probe faccessat2           faccessat with AT_EACCESS (faccessat2)
 *   probe sweepf FILE 64|32 FROM TO
 *                              install the raw filter in FILE, then call
 *                              every number in [FROM, TO] and print the
 *                              errno each got (write and exit_group are
 *                              skipped: the probe needs them; so are
 *                              uretprobe and uprobe, 335 and 336, which
 *                              the kernel exempts from seccomp and which
 *                              raise SIGILL outside a probe trampoline)
 *
 * Numbers are read with strtoull base 0, so hex and 64-bit values work.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long long num(const char *s) { return strtoull(s, NULL, 0); }

static void report(const char *what, long r) {
	if (r < 0 && r > -4096)
		printf("%s errno=%ld\n", what, -r);
	else
		printf("%s ret=%ld\n", what, r);
	fflush(stdout);
}

/* raw64 enters the kernel without the C library, so no errno mapping or
 * argument truncation happens on the way. */
static long raw64(long nr, unsigned long a0, unsigned long a1, unsigned long a2,
		  unsigned long a3, unsigned long a4, unsigned long a5) {
	long ret;
	register unsigned long r10 __asm__("r10") = a3;
	register unsigned long r8 __asm__("r8") = a4;
	register unsigned long r9 __asm__("r9") = a5;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* raw32 uses the i386 entry point from a 64-bit process. */
static long raw32(unsigned int nr, unsigned int a0, unsigned int a1, unsigned int a2) {
	int ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a0), "c"(a1), "d"(a2)
			 : "memory");
	return ret;
}

static unsigned long args[6];
static long callnr;

static void *thread_call(void *unused) {
	(void)unused;
	report("thread", raw64(callnr, args[0], args[1], args[2], args[3], args[4], args[5]));
	return NULL;
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
	(void)ctx;
	printf("sigsys signo=%d code=%d syscall=%d arch=0x%x errno=%d\n", sig, si->si_code,
	       si->si_syscall, si->si_arch, si->si_errno);
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: probe MODE ...\n");
		return 2;
	}
	const char *mode = argv[1];
	for (int i = 0; i < 6 && i + 3 < argc; i++)
		args[i] = num(argv[i + 3]);
	if (argc > 2)
		callnr = (long)num(argv[2]);

	if (!strcmp(mode, "call")) {
		report("call", raw64(callnr, args[0], args[1], args[2], args[3], args[4], args[5]));
	} else if (!strcmp(mode, "int80")) {
		report("int80", raw32((unsigned)callnr, args[0], args[1], args[2]));
	} else if (!strcmp(mode, "sweep64") || !strcmp(mode, "sweep32")) {
		unsigned long long from = num(argv[2]), to = num(argv[3]);
		for (unsigned long long nr = from; nr <= to; nr++) {
			long r = mode[5] == '6' ? raw64((long)nr, 0, 0, 0, 0, 0, 0) : raw32((unsigned)nr, 0, 0, 0);
			printf("%llu %ld\n", nr, r < 0 && r > -4096 ? -r : 0);
		}
	} else if (!strcmp(mode, "trap")) {
		struct sigaction sa = {0};
		sa.sa_sigaction = on_sigsys;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSYS, &sa, NULL);
		report("trap-returned", raw64(callnr, 0, 0, 0, 0, 0, 0));
	} else if (!strcmp(mode, "fork")) {
		pid_t pid = fork();
		if (pid == 0) {
			report("child", raw64(callnr, 0, 0, 0, 0, 0, 0));
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
	} else if (!strcmp(mode, "thread")) {
		pthread_t t;
		pthread_create(&t, NULL, thread_call, NULL);
		pthread_join(t, NULL);
	} else if (!strcmp(mode, "killthread")) {
		pthread_t t;
		pthread_create(&t, NULL, thread_call, NULL);
		sleep(1);
		printf("main alive\n");
		fflush(stdout);
	} else if (!strcmp(mode, "relax")) {
		struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
		struct sock_fprog prog = {1, allow};
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		report("stack-allow", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) ? -errno : 0);
		report("mode0", prctl(PR_SET_SECCOMP, 0, 0, 0, 0) ? -errno : 0);
		report("call", raw64(callnr, 0, 0, 0, 0, 0, 0));
	} else if (!strcmp(mode, "pthread")) {
		pthread_t t;
		int e = pthread_create(&t, NULL, thread_call, NULL);
		if (e == 0)
			pthread_join(t, NULL);
		report("pthread_create", -e);
	} else if (!strcmp(mode, "faccessat2")) {
		report("faccessat", faccessat(AT_FDCWD, "/", R_OK, AT_EACCESS) ? -errno : 0);
	} else if (!strcmp(mode, "sweepf")) {
		static unsigned char raw[4096 * 8];
		FILE *f = fopen(argv[2], "rb");
		if (!f) {
			perror(argv[2]);
			return 1;
		}
		size_t n = fread(raw, 1, sizeof raw, f);
		fclose(f);
		int bits = atoi(argv[3]);
		unsigned long long from = num(argv[4]), to = num(argv[5]);
		static long results[1 << 16];
		if (to - from >= sizeof results / sizeof results[0]) {
			fprintf(stderr, "range too large\n");
			return 2;
		}
		struct sock_fprog prog = {(unsigned short)(n / 8), (struct sock_filter *)raw};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
			perror("install");
			return 1;
		}
		/* Nothing but the calls under test until the results are in. */
		for (unsigned long long nr = from; nr <= to; nr++) {
			unsigned int low = (unsigned int)nr;
			int skip = bits == 64 ? (nr == SYS_write || nr == SYS_exit_group || nr == 335 || nr == 336)
					      : (low == 4 || low == 252);
			long r = skip ? 1 : bits == 64 ? raw64((long)nr, 0, 0, 0, 0, 0, 0) : raw32(low, 0, 0, 0);
			results[nr - from] = skip ? -1 : (r < 0 && r > -4096 ? -r : 0);
		}
		for (unsigned long long nr = from; nr <= to; nr++)
			printf("%llu %ld\n", nr, results[nr - from]);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}
