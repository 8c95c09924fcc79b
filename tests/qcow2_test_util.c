/* Helpers shared by the qcow2 driver tests: see qcow2_test_util.h. */
#include "tests/qcow2_test_util.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int qt_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	if (r != 0)
		fprintf(stderr, "command failed (%d): %s\n", r, cmd);
	return r;
}

void qt_cb(void *opaque, int ret)
{
	struct qt_wait *w = opaque;

	w->done = 1;
	w->ret = ret;
}

int qt_setup(const char *name, int need_io, unsigned depth, char *dir, size_t dirlen,
	     struct block_engine **eng)
{
	snprintf(dir, dirlen, "/tmp/%s.XXXXXX", name);
	if (system("qemu-img --version >/dev/null 2>&1") != 0 ||
	    (need_io && system("qemu-io --version >/dev/null 2>&1") != 0)) {
		printf(need_io ? "qemu-img/qemu-io not installed: skipped\n" : "qemu-img not installed: skipped\n");
		return 77;
	}
	if (!mkdtemp(dir) || block_engine_create(eng, depth, 0) < 0) {
		perror("setup");
		return 1;
	}
	return 0;
}

uint8_t *qt_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = n < 0 ? NULL : malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = n < 0 ? 0 : (size_t)n;
	return b;
}

int qt_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, buf, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}
