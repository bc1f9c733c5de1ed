/*
 * opener is the target of the brokered-open benchmark: it installs a
 * filter that sends openat to a supervisor, hands the listener to its
 * parent on descriptor 3 (keeping no copy), then runs THREADS threads
 * that each open and close FILE ITER times, and prints the elapsed
 * nanoseconds. With "direct" it installs nothing.
 *
 *   opener notify|direct THREADS ITER FILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long iter;
static const char *file;
static volatile int failed;

static void *run(void *arg)
{
	(void)arg;
	for (long i = 0; i < iter; i++) {
		int fd = openat(AT_FDCWD, file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			failed = errno;
			return NULL;
		}
		close(fd);
	}
	return NULL;
}

static int install(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	int flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
#endif
	int l = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (l < 0)
		return -1;
	char c = 'L';
	struct iovec iov = {&c, 1};
	char ctl[CMSG_SPACE(sizeof(int))];
	memset(ctl, 0, sizeof ctl);
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &l, sizeof l);
	if (sendmsg(3, &msg, 0) < 0)
		return -1;
	close(l);
	close(3);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	int threads = atoi(argv[2]);
	iter = atol(argv[3]);
	file = argv[4];
	if (strcmp(argv[1], "notify") == 0 && install() < 0) {
		perror("install");
		return 1;
	}
	pthread_t t[256];
	if (threads < 1 || threads > 256)
		return 2;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, run, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (failed) {
		fprintf(stderr, "open: %s\n", strerror(failed));
		return 1;
	}
	printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
	return 0;
}
