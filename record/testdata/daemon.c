// daemon: double fork and setsid; the grandchild outlives its parent and
// grandparent, then makes syscalls nobody else makes (uname, sysinfo)
// and writes a file named by argv[1].
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
	const char *out = argc > 1 ? argv[1] : "/dev/null";
	pid_t p = fork();
	if (p == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		usleep(200 * 1000); // the parent and grandparent are gone by now
		struct utsname u;
		uname(&u);
		struct sysinfo si;
		sysinfo(&si);
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		write(fd, "daemon done\n", 12);
		close(fd);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	printf("parent done\n");
	return 0;
}
