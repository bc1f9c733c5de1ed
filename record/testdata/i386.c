// i386: a 64-bit program that enters the i386 syscall table through
// int 0x80 (getpid is 20 there, writev on x86_64), then prints both pids.
#include <stdio.h>
#include <unistd.h>

int main(void) {
	long pid32;
	__asm__ volatile("int $0x80" : "=a"(pid32) : "a"(20L) : "memory");
	printf("same %d\n", pid32 == (long)getpid());
	return 0;
}
