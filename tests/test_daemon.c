/* Unit tests of -pidfile (vmm/daemon.c: lock, pid, refusal while held,
 * removal only of our own file), -daemonize's parent/child hand-off, the
 * log prefix (vmm/log.c) and the headless server options (vmm/cli_server.c). */
#include "vmm/cli.h"
#include "vmm/daemon.h"
#include "vmm/log.h"
#include "tests/check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int parse(struct vmm_config *cfg, char *err, const char *a0, ...)
{
	char *argv[32] = { "vmm" };
	int argc = 1;
	va_list ap;
	va_start(ap, a0);
	for (const char *a = a0; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	return cli_parse(cfg, argc, argv, err, 512);
}

static void test_pidfile(void)
{
	char path[] = "/tmp/test_daemon_pidXXXXXX";
	int t = mkstemp(path);
	close(t);
	char msg[256];
	int fd = daemon_pidfile_create(path, msg, sizeof(msg));
	CHECK(fd >= 0);
	char buf[32] = "";
	int f = open(path, O_RDONLY);
	CHECK(read(f, buf, sizeof(buf) - 1) > 0);
	close(f);
	CHECK_EQ(atol(buf), getpid());

	/* Another process cannot take it while we hold it, and is told who. */
	pid_t child = fork();
	if (child == 0) {
		char m[256];
		int r = daemon_pidfile_create(path, m, sizeof(m));
		char want[64];
		snprintf(want, sizeof(want), "pid %ld", (long)getppid());
		_exit(r == -EAGAIN && strstr(m, want) ? 0 : 1);
	}
	int st;
	waitpid(child, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The file is still ours: same pid. */
	f = open(path, O_RDONLY);
	memset(buf, 0, sizeof(buf));
	CHECK(read(f, buf, sizeof(buf) - 1) > 0);
	close(f);
	CHECK_EQ(atol(buf), getpid());

	daemon_pidfile_remove(path, fd);
	struct stat sb;
	CHECK(stat(path, &sb) < 0 && errno == ENOENT);

	/* A stale file (no lock holder) is taken over. */
	f = open(path, O_WRONLY | O_CREAT, 0644);
	CHECK(write(f, "99999999\n", 9) == 9);
	close(f);
	fd = daemon_pidfile_create(path, msg, sizeof(msg));
	CHECK(fd >= 0);
	/* Replaced behind our back: our removal leaves the new file alone. */
	unlink(path);
	f = open(path, O_WRONLY | O_CREAT, 0644);
	close(f);
	daemon_pidfile_remove(path, fd);
	CHECK(stat(path, &sb) == 0);
	unlink(path);

	CHECK(daemon_pidfile_create("/nonexistent-dir/x.pid", msg, sizeof(msg)) == -ENOENT);
	CHECK(strstr(msg, "-pidfile /nonexistent-dir/x.pid") != NULL);
}

/* The parent exits 0 only once the child is ready, else with its status. */
static void test_daemonize(void)
{
	for (int ready = 0; ready < 2; ready++) {
		int p[2];
		CHECK(pipe(p) == 0);
		pid_t outer = fork();
		if (outer == 0) {
			close(p[0]);
			if (daemon_start() < 0)
				_exit(99);
			/* the child of daemon_start */
			CHECK(daemon_is_daemon());
			CHECK(getsid(0) == getpid());
			if (!ready)
				_exit(7);
			daemon_ready();
			usleep(100000);
			if (write(p[1], "x", 1) != 1)
				_exit(5);
			_exit(0);
		}
		close(p[1]);
		int st;
		waitpid(outer, &st, 0);
		CHECK(WIFEXITED(st));
		CHECK_EQ(WEXITSTATUS(st), ready ? 0 : 7);
		char c;
		/* The ready child lives on after its parent exited. */
		CHECK_EQ(read(p[0], &c, 1), ready ? 1 : 0);
		close(p[0]);
	}
}

static void test_cli(void)
{
	static struct vmm_config cfg;
	char err[512];
	CHECK_EQ(parse(&cfg, err, "-qmp", "unix:/tmp/a.sock,server=on,wait=off",
		       "-qmp", "unix:/tmp/b.sock,server,nowait", "-name", "web1", NULL), 0);
	CHECK_EQ(cfg.nqmp, 2);
	CHECK_STR(cfg.qmp_paths[0], "/tmp/a.sock");
	CHECK_STR(cfg.qmp_paths[1], "/tmp/b.sock");
	CHECK_STR(cfg.name, "web1");
	CHECK_EQ(cfg.shutdown_timeout, CLI_DEFAULT_SHUTDOWN_TIMEOUT);
	CHECK_EQ(cfg.serial, SERIAL_STDIO);

	CHECK_EQ(parse(&cfg, err, "-mon", "chardev=c0,mode=control", "-chardev",
		       "socket,id=c0,path=/tmp/m.sock,server=on,wait=off", NULL), 0);
	CHECK_EQ(cfg.nqmp, 1);
	CHECK_STR(cfg.qmp_paths[0], "/tmp/m.sock");

	CHECK_EQ(parse(&cfg, err, "-daemonize", "-pidfile", "/run/x.pid", "-no-shutdown",
		       "-D", "/tmp/log", "-d", "debug", "-msg", "timestamp=on",
		       "-shutdown-timeout", "5", NULL), 0);
	CHECK(cfg.daemonize && cfg.no_shutdown && cfg.log_timestamps);
	CHECK_STR(cfg.pidfile, "/run/x.pid");
	CHECK_STR(cfg.log_file, "/tmp/log");
	CHECK_EQ(cfg.log_level, VMM_LOG_DEBUG);
	CHECK_EQ(cfg.shutdown_timeout, 5);
	CHECK_EQ(cfg.serial, SERIAL_NULL);     /* a daemon has no stdio */

	CHECK_EQ(parse(&cfg, err, "-nodefaults", NULL), 0);
	CHECK_EQ(cfg.serial, SERIAL_NONE);
	CHECK_EQ(parse(&cfg, err, "-nodefaults", "-serial", "null", NULL), 0);
	CHECK_EQ(cfg.serial, SERIAL_NULL);

	static const struct { const char *a, *b, *want; } bad[] = {
		{ "-qmp", "tcp:localhost:4444", "-qmp: unsupported 'tcp:localhost:4444'" },
		{ "-qmp", "unix:/tmp/a.sock", "-qmp: only server=on sockets are supported" },
		{ "-qmp", "unix:/tmp/a.sock,server", "-qmp: only wait=off (nowait) is supported" },
		{ "-qmp", "unix:/tmp/a.sock,server,nowait,bogus=1", "-qmp: unsupported property 'bogus'" },
		{ "-mon", "chardev=nope,mode=control", "-mon: chardev 'nope' not found" },
		{ "-mon", "chardev=x,mode=readline", "-mon: unsupported mode 'readline'" },
		{ "-chardev", "socket,path=/tmp/x,server=on,wait=off", "-chardev: 'id' is required" },
		{ "-chardev", "pty,id=x", "-chardev: unsupported backend 'pty'" },
		{ "-chardev", "socket,id=x,path=/tmp/x,server=on,wait=off", "-chardev: 'x' is not used by any -mon" },
		{ "-d", "loud", "-d: unknown level 'loud'" },
		{ "-msg", "color=on", "-msg: unsupported 'color=on'" },
		{ "-shutdown-timeout", "-1", "-shutdown-timeout: invalid seconds '-1'" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ(parse(&cfg, err, bad[i].a, bad[i].b, NULL), -EINVAL);
		if (!strstr(err, bad[i].want)) {
			CHECK(!"message");
			fprintf(stderr, "  %s %s: got '%s', want '%s'\n", bad[i].a, bad[i].b, err, bad[i].want);
		}
	}
	CHECK_EQ(parse(&cfg, err, "-daemonize", "-nographic", NULL), -EINVAL);
	CHECK_STR(err, "-daemonize: -nographic cannot be used with -daemonize");
	CHECK_EQ(parse(&cfg, err, "-daemonize", "-serial", "stdio", NULL), -EINVAL);
	CHECK_EQ(parse(&cfg, err, "-chardev", "socket,id=a,path=/p,server=on,wait=off",
		       "-mon", "chardev=a,mode=control", "-mon", "chardev=a,mode=control", NULL), -EINVAL);
	CHECK_STR(err, "-mon: chardev 'a' is already in use");
}

static void test_log(void)
{
	char buf[64];
	log_set_timestamps(0);
	log_prefix(buf, sizeof(buf));
	CHECK_STR(buf, "");
	log_set_timestamps(1);
	log_prefix(buf, sizeof(buf));
	/* 2026-11-30T07:46:56.123456Z + space */
	CHECK_EQ(strlen(buf), 28);
	CHECK(buf[4] == '-' && buf[10] == 'T' && buf[19] == '.' && buf[26] == 'Z');
	enum vmm_log_level l;
	CHECK_EQ(log_parse_level("warn", &l), 0);
	CHECK_EQ(l, VMM_LOG_WARN);
	CHECK_EQ(log_parse_level("nope", &l), -EINVAL);
}

int main(void)
{
	test_pidfile();
	test_daemonize();
	test_cli();
	test_log();
	return check_done();
}
