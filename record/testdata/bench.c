// bench N: a syscall-heavy workload: N getppid and N 64-byte reads of
// /dev/zero, then four fork+exec of /bin/true.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 200000;
	int fd = open("/dev/zero", O_RDONLY);
	char buf[64];
	long sum = 0;
	for (int i = 0; i < n; i++) {
		sum += getppid();
		if (read(fd, buf, sizeof buf) != sizeof buf)
			return 1;
	}
	for (int i = 0; i < 4; i++) {
		pid_t p = fork();
		if (p == 0) {
			execl("/bin/true", "true", (char *)0);
			_exit(127);
		}
		int st;
		waitpid(p, &st, 0);
	}
	printf("%d\n", sum > 0);
	return 0;
}
