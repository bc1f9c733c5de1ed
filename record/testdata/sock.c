// sock: makes the calls whose scalar arguments tight rules check:
// sockets of two families, setsockopt, ioctl, fcntl, prctl, mprotect,
// kill with signal 0, madvise.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
	int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int i = socket(AF_INET, SOCK_DGRAM, 0);
	int one = 1;
	setsockopt(i, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	int avail;
	ioctl(i, FIONREAD, &avail);
	fcntl(u, F_SETFL, fcntl(u, F_GETFL) | O_NONBLOCK);
	prctl(PR_SET_NAME, "sock");
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(p, 4096, PROT_READ);
	madvise(p, 4096, MADV_DONTNEED);
	kill(getpid(), 0);
	close(u);
	close(i);
	printf("sock done\n");
	return 0;
}
