/*
 * int80open makes open or openat through the i386 system call entry
 * (int $0x80) from a 64-bit process, reads what it opened and prints it,
 * so the tests can show how the broker serves i386 forms of the
 * file-opening syscalls.
 *
 *   int80open open PATH          -> prints the content, or "errno N"
 *   int80open openat PATH
 *   int80open creat PATH MODE
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
#define NR32_OPEN 5
#define NR32_CREAT 8
#define NR32_OPENAT 295
#define AT_FDCWD32 (-100)

static long int80(long nr, long a, long b, long c, long d)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
			 : "memory");
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	/* int $0x80 takes 32-bit pointers: copy the path to low memory. */
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		return 3;
	strncpy(low, argv[2], 4095);
	long fd;
	if (strcmp(argv[1], "open") == 0)
		fd = int80(NR32_OPEN, (long)low, 0, 0, 0);
	else if (strcmp(argv[1], "openat") == 0)
		fd = int80(NR32_OPENAT, (unsigned)AT_FDCWD32, (long)low, 0, 0);
	else if (strcmp(argv[1], "creat") == 0 && argc > 3)
		fd = int80(NR32_CREAT, (long)low, strtol(argv[3], NULL, 8), 0, 0);
	else
		return 2;
	if (fd < 0) {
		printf("errno %ld", -fd);
		return 0;
	}
	char buf[4096];
	ssize_t n = read((int)fd, buf, sizeof buf);
	if (n > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	return 0;
}
