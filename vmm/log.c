/* Levels, timestamps and the -D log file; see log.h. Timestamps follow
 * QEMU's -msg timestamp=on (util/error-report.c: UTC, microseconds). */
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum vmm_log_level cur_level = VMM_LOG_INFO;
static int stamps;

static const char *const names[] = { "error", "warn", "info", "debug" };

int log_parse_level(const char *name, enum vmm_log_level *out)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (enum vmm_log_level)i;
			return 0;
		}
	if (strcmp(name, "warning") == 0) {
		*out = VMM_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

void log_set_level(enum vmm_log_level level) { cur_level = level; }
void log_set_timestamps(int on) { stamps = on; }
int log_timestamps(void) { return stamps; }

int log_open_file(const char *path, char *msg, size_t msglen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		int err = errno;
		snprintf(msg, msglen, "-D %s: %s", path, strerror(err));
		return -err;
	}
	fflush(stderr);
	if (dup2(fd, STDERR_FILENO) < 0) {
		int err = errno;
		snprintf(msg, msglen, "-D %s: %s", path, strerror(err));
		close(fd);
		return -err;
	}
	close(fd);
	return 0;
}

void log_prefix(char *buf, size_t len)
{
	if (!stamps) {
		if (len)
			buf[0] = '\0';
		return;
	}
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	char t[32];
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06ldZ ", t, (long)tv.tv_usec);
}

void log_msg(enum vmm_log_level level, const char *fmt, ...)
{
	if (level > cur_level)
		return;
	char pre[48], text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_prefix(pre, sizeof(pre));
	/* One write per line, so lines of several threads never interleave. */
	fprintf(stderr, "%svmm: %s%s%s\n", pre, level == VMM_LOG_INFO ? "" : names[level],
		level == VMM_LOG_INFO ? "" : ": ", text);
}
