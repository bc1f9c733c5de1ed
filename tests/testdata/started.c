// started prints the CLOCK_MONOTONIC time, in nanoseconds, at which its
// main function began. BenchmarkStartup subtracts the time at which it
// started the program, directly or through a sandbox, to get how long
// each way takes to get a program running.
#include <stdio.h>
#include <time.h>

int main(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	return 0;
}
