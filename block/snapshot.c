/* Temporary overlays for snapshot mode (block/snapshot.h): QEMU's
 * bdrv_append_temp_snapshot() with this project's qcow2 driver (qcow2.txt
 * "Header": backing_file_offset/size, the backing format extension). */
#include "block/snapshot.h"
#include "qcow2/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *block_snapshot_dir(void)
{
	const char *d = getenv("TMPDIR");
	return d && *d ? d : "/var/tmp";
}

int block_open_snapshot(struct block_dev **out, const char *path, const struct block_open_opts *opts,
			struct block_engine *eng, const char *tmpdir, char *msg, size_t msglen)
{
	struct block_open_opts base_opts = { .format = opts ? opts->format : NULL, .read_only = 1 };
	struct block_open_opts ovl_opts = { .format = "qcow2", .no_flush = 1 };
	struct block_dev *base = NULL;
	char abspath[PATH_MAX], tmp[PATH_MAX + 32];
	char fmt[16];
	uint64_t size;
	int fd, ret;

	*out = NULL;
	if (opts) {
		ovl_opts.l2_cache_bytes = opts->l2_cache_bytes;
		ovl_opts.refcount_cache_bytes = opts->refcount_cache_bytes;
	}
	/* The image: its format and size, and whether it opens at all (so its
	 * errors read as without snapshot mode). */
	ret = block_open(&base, path, &base_opts, eng, NULL);
	if (ret < 0) {
		snprintf(msg, msglen, "%s", block_strerror(ret));
		return ret;
	}
	snprintf(fmt, sizeof(fmt), "%s", base->drv->format);
	size = (base->size + 511) & ~(uint64_t)511;
	block_close(base);
	if (!realpath(path, abspath)) {
		ret = -errno;
		snprintf(msg, msglen, "%s", strerror(-ret));
		return ret;
	}

	if (!tmpdir)
		tmpdir = block_snapshot_dir();
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/vmm-snapshot.XXXXXX", tmpdir) >= sizeof(tmp)) {
		snprintf(msg, msglen, "snapshot: temporary directory name too long (TMPDIR)");
		return -ENAMETOOLONG;
	}
	fd = mkostemp(tmp, O_CLOEXEC);    /* O_CREAT | O_EXCL, mode 0600 */
	if (fd < 0) {
		ret = -errno;
		snprintf(msg, msglen, "snapshot: cannot create a temporary overlay in %s: %s (set TMPDIR to a writable directory)",
			 tmpdir, strerror(-ret));
		return ret;
	}
	close(fd);    /* qcow2_create() opens it again by name; the mode stays 0600 */
	struct qcow2_create_opts co = { .size = size, .backing_file = abspath, .backing_fmt = fmt };
	ret = qcow2_create(tmp, &co);
	if (ret < 0) {
		unlink(tmp);
		snprintf(msg, msglen, "snapshot: creating the temporary overlay %s: %s", tmp, block_strerror(ret));
		return ret;
	}
	ret = block_open(out, tmp, &ovl_opts, eng, NULL);
	unlink(tmp);
	if (ret < 0) {
		*out = NULL;
		snprintf(msg, msglen, "snapshot: opening the temporary overlay: %s", block_strerror(ret));
	}
	return ret;
}
