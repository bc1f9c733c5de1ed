// chain N: forks a child that executes "chain N-1", waits for it, and
// prints its depth; "chain 0" runs /bin/sh -c with a pipe.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 2;
	if (n == 0) {
		execl("/bin/sh", "sh", "-c", "echo leaf | cat", (char *)0);
		return 127;
	}
	pid_t p = fork();
	if (p == 0) {
		char arg[16];
		snprintf(arg, sizeof arg, "%d", n - 1);
		execl("/proc/self/exe", argv[0], arg, (char *)0);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	printf("depth %d child status %d\n", n, WEXITSTATUS(st));
	return 0;
}
