/*
 * cloop is the smallest correct seccomp notification loop that brokers
 * opens: receive, read the path from the target, open it, send the
 * descriptor back with SECCOMP_IOCTL_NOTIF_ADDFD and
 * SECCOMP_ADDFD_FLAG_SEND. It is the baseline the Go broker's benchmark
 * compares with. It takes the listener on descriptor 3 and serves
 * openat(dirfd=AT_FDCWD) until no process uses the filter.
 *
 *   cloop [sync]   with "sync", sets SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

int main(int argc, char **argv)
{
	int fd = 3;
	struct seccomp_notif_sizes sizes;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) {
		perror("SECCOMP_GET_NOTIF_SIZES");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "sync") == 0)
		ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
	struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
	long page = sysconf(_SC_PAGESIZE);
	char path[4096];
	for (;;) {
		memset(req, 0, sizes.seccomp_notif);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOENT) {
				/* The target went away; stop when nobody is left. */
				struct pollfd p = {.fd = fd, .events = POLLIN};
				if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
					return 0;
				continue;
			}
			perror("SECCOMP_IOCTL_NOTIF_RECV");
			return 1;
		}
		/* Read the path up to the end of its page, then page by page. */
		unsigned long addr = req->data.args[1];
		size_t got = 0;
		int found = 0;
		while (got < sizeof path && !found) {
			size_t chunk = page - (addr + got) % page;
			if (chunk > sizeof path - got)
				chunk = sizeof path - got;
			struct iovec local = {path + got, chunk};
			struct iovec remote = {(void *)(addr + got), chunk};
			ssize_t n = process_vm_readv(req->pid, &local, 1, &remote, 1, 0);
			if (n <= 0)
				break;
			found = memchr(path + got, 0, n) != NULL;
			got += n;
		}
		memset(resp, 0, sizes.seccomp_notif_resp);
		resp->id = req->id;
		if (!found) {
			resp->error = -EFAULT;
			ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
			continue;
		}
		int flags = (int)req->data.args[2];
		int opened = openat(AT_FDCWD, path, flags | O_CLOEXEC, (mode_t)req->data.args[3]);
		if (opened < 0) {
			resp->error = -errno;
			ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
			continue;
		}
		struct seccomp_notif_addfd addfd = {
			.id = req->id,
			.flags = SECCOMP_ADDFD_FLAG_SEND,
			.srcfd = (unsigned)opened,
			.newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0,
		};
		ioctl(fd, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
		close(opened);
	}
}
