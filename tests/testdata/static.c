/* A compute-only program as the strict profile means it: a static C
 * program that reads its input with stdio, computes in threads and
 * writes the result. With an argument it then does what such a program
 * has no business doing: "fork" starts a process (clone without the
 * flags of a thread), "open" opens a file. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long sum_to(long n) {
	long s = 0;
	for (long i = 1; i <= n; i++)
		s += i;
	return s;
}

static void *worker(void *arg) {
	long *n = arg;
	*n = sum_to(*n);
	return NULL;
}

int main(int argc, char **argv) {
	char line[64];
	if (!fgets(line, sizeof line, stdin))
		return 2;
	long n[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		n[i] = atol(line) * (i + 1);
		if (pthread_create(&t[i], NULL, worker, &n[i]) != 0)
			return 3;
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	char *buf = malloc(1 << 20);
	memset(buf, 'x', 1 << 20);
	printf("%ld %ld %ld %ld %c\n", n[0], n[1], n[2], n[3], buf[12345]);
	free(buf);
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "fork") == 0 && fork() == 0)
		_exit(0);
	if (argc > 1 && strcmp(argv[1], "open") == 0)
		return open("/etc/hostname", O_RDONLY) < 0;
	return 0;
}
