/* -daemonize and -pidfile; see daemon.h. The pidfile lock is an fcntl
 * open-file-description write lock over the whole file; it conflicts with
 * the lockf() lock QEMU's qemu_write_pidfile() takes, so tools that check
 * either implementation agree. */
#include "vmm/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int ready_fd = -1;     /* write end of the pipe to the waiting parent */
static int is_daemon;

int daemon_start(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(p[0]);
		close(p[1]);
		return -err;
	}
	if (pid == 0) {
		close(p[0]);
		ready_fd = p[1];
		is_daemon = 1;
		/* Its own session now, so the caller's terminal closing (SIGHUP)
		 * or its Ctrl-C (SIGINT to the foreground group) do not reach it. */
		setsid();
		return 0;
	}
	close(p[1]);
	char c;
	ssize_t n;
	do
		n = read(p[0], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(0);
	/* The child exited before it was ready: its status is ours. */
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		_exit(WEXITSTATUS(st));
	_exit(3);
}

void daemon_ready(void)
{
	if (ready_fd < 0)
		return;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		struct stat st;
		/* A -D log file stays; a terminal or pipe to the caller goes. */
		if (fstat(STDERR_FILENO, &st) < 0 || !S_ISREG(st.st_mode))
			dup2(null, STDERR_FILENO);
		close(null);
	}
	char c = 0;
	if (write(ready_fd, &c, 1) < 0) {
		/* the parent is gone: nothing to tell */
	}
	close(ready_fd);
	ready_fd = -1;
}

int daemon_is_daemon(void)
{
	return is_daemon;
}

int daemon_pidfile_create(const char *path, char *msg, size_t msglen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		int err = errno;
		snprintf(msg, msglen, "-pidfile %s: %s", path, strerror(err));
		return -err;
	}
	/* An open-file-description lock: unlike a classic POSIX lock it is not
	 * dropped when this process closes some other fd of the same file, and
	 * it still conflicts with lockf()/F_SETLK holders such as QEMU. */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		int err = errno;
		char holder[32] = "";
		ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
		if ((err == EAGAIN || err == EACCES) && n > 0) {
			holder[n] = '\0';
			holder[strcspn(holder, "\n")] = '\0';
			snprintf(msg, msglen, "-pidfile %s: locked by another process (pid %s)", path, holder);
		} else {
			snprintf(msg, msglen, "-pidfile %s: cannot lock: %s", path, strerror(err));
		}
		close(fd);
		return err == EACCES ? -EAGAIN : -err;
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		int err = errno;
		snprintf(msg, msglen, "-pidfile %s: cannot write: %s", path, strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

void daemon_pidfile_remove(const char *path, int fd)
{
	if (fd < 0)
		return;
	struct stat a, b;
	/* Someone may have replaced it (another vmm after we lost it): only
	 * our own file goes. */
	if (path && fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		unlink(path);
	close(fd);
}
