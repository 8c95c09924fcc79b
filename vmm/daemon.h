/* Running as a server: -daemonize (QEMU's os_daemonize(): fork before set-up,
 * the parent waits on a pipe and exits with the child's set-up status, so
 * errors still reach the caller's terminal) and -pidfile (created with the
 * daemon's pid, kept locked with fcntl F_OFD_SETLK while the VM runs, removed on
 * exit; a second vmm on the same pidfile fails to start). */
#ifndef VMM_DAEMON_H
#define VMM_DAEMON_H

#include <stddef.h>

/* Forks. Returns 0 in the child (which continues with set-up); the parent
 * never returns: it exits 0 once the child calls daemon_ready(), or with
 * the child's exit status if the child exits first. -errno on failure. */
int daemon_start(void);

/* In the child, set-up done: detaches from the terminal (new session,
 * stdin/stdout to /dev/null, stderr too unless it is a log file) and lets
 * the parent exit 0. No-op when not daemonized or when called again. */
void daemon_ready(void);

/* 1 in a process that daemon_start() made. */
int daemon_is_daemon(void);

/* Creates or takes over path, locks it (fails with -EAGAIN and names the
 * holder's pid in msg when another process holds the lock) and writes the
 * calling process's pid. Returns an fd to pass to daemon_pidfile_remove(),
 * or -errno with a one-line message in msg. */
int daemon_pidfile_create(const char *path, char *msg, size_t msglen);

/* Unlinks path (only if it is still the file we locked) and closes fd.
 * fd < 0 is a no-op. */
void daemon_pidfile_remove(const char *path, int fd);

#endif
