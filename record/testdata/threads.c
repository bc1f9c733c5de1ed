// threads: four threads each make a few syscalls; the main thread joins
// them. pthread_create uses clone3 (glibc 2.34 and later).
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

static void *work(void *arg) {
	long n = (long)arg;
	for (int i = 0; i < 3; i++)
		syscall(SYS_gettid);
	char buf[32];
	int len = snprintf(buf, sizeof buf, "thread %ld\n", n);
	return (void *)(long)len;
}

int main(void) {
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, work, (void *)i);
	long total = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (long)r;
	}
	printf("threads done %ld\n", total);
	return 0;
}
