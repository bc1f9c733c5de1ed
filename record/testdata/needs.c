// needs: prints a line; with the argument "more" it also calls
// sysinfo(2), which the run without it never makes.
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "more") == 0) {
		struct sysinfo si;
		if (sysinfo(&si) != 0) {
			perror("sysinfo");
			return 1;
		}
		printf("uptime known\n");
	}
	printf("needs done\n");
	return 0;
}
