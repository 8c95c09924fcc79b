/* The block layer's generic part: the driver table, format probing, opening
 * and closing (with the backing chain), range and read-only checks in front
 * of every request, error texts, and the synchronous wrappers for tools. */
#include "block/block.h"
#include "block/engine.h"
#include "block/iov.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const struct block_driver block_driver_raw;
extern const struct block_driver block_driver_qcow2;

/* Defined by qcow2/ when it has its own codes; weak so block/ links alone. */
const char *qcow2_strerror(int err) __attribute__((weak));

static const struct block_driver *const drivers[] = {
	&block_driver_raw,
	&block_driver_qcow2,
};

#define PROBE_BYTES 512

const struct block_driver *block_find_driver(const char *format)
{
	if (!format)
		return NULL;
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i]->format, format) == 0)
			return drivers[i];
	return NULL;
}

static int probe(const char *path, const struct block_driver **drv, int *probed_raw)
{
	uint8_t buf[PROBE_BYTES];
	ssize_t n;
	int fd, best = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	close(fd);
	*drv = &block_driver_raw;
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		int score = drivers[i]->probe ? drivers[i]->probe(buf, (size_t)n) : 0;

		if (score > best) {
			best = score;
			*drv = drivers[i];
		}
	}
	if (probed_raw)
		*probed_raw = *drv == &block_driver_raw;
	return 0;
}

int block_open(struct block_dev **out, const char *path, const struct block_open_opts *opts,
	       struct block_engine *eng, int *probed_raw)
{
	static const struct block_open_opts defaults;
	const struct block_driver *drv;
	struct block_dev *bs;
	int ret;

	if (!out || !path || !eng)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	if (probed_raw)
		*probed_raw = 0;
	if (opts->format) {
		/* Callers name the format in their message: block_find_driver()
		 * returning NULL is how they tell this -EINVAL apart. */
		drv = block_find_driver(opts->format);
		if (!drv)
			return -EINVAL;
	} else {
		ret = probe(path, &drv, probed_raw);
		if (ret < 0)
			return ret;
	}
	bs = calloc(1, sizeof(*bs));
	if (!bs)
		return -ENOMEM;
	bs->filename = strdup(path);
	if (!bs->filename) {
		free(bs);
		return -ENOMEM;
	}
	bs->drv = drv;
	bs->engine = eng;
	bs->sector_size = 512;
	ret = drv->open(bs, path, opts);
	if (ret < 0) {
		if (bs->backing)
			block_close(bs->backing);
		free(bs->filename);
		free(bs);
		if (probed_raw)
			*probed_raw = 0;
		return ret;
	}
	*out = bs;
	return 0;
}

void block_close(struct block_dev *bs)
{
	while (bs) {
		struct block_dev *backing;

		if (bs->drv && bs->drv->close)
			bs->drv->close(bs);
		backing = bs->backing;
		free(bs->filename);
		free(bs);
		bs = backing;
	}
}

const char *block_strerror(int err)
{
	if (err == BLOCK_E_NO_DIRECT)
		return "the file system does not support O_DIRECT (cache=none); use cache=writeback";
	if (err < -4095 && qcow2_strerror) {
		const char *s = qcow2_strerror(err);

		if (s)
			return s;
	}
	if (err < -4095)
		return "unknown block driver error";
	return strerror(-err);
}

int block_fd_pwritev(int fd, struct iovec *v, int n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwritev(fd, v, n < IOV_MAX ? n : IOV_MAX, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		off += (uint64_t)w;
		block_iov_advance(&v, &n, (size_t)w);
	}
	return 0;
}

/* Total bytes of iov, or -EINVAL for bad counts and overflowing lengths. */
static int64_t iov_total(const struct iovec *iov, int iovcnt)
{
	uint64_t total = 0;

	if (iovcnt < 0 || iovcnt > ENGINE_MAX_IOV || (iovcnt > 0 && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > INT64_MAX - total)
			return -EINVAL;
		total += iov[i].iov_len;
	}
	return (int64_t)total;
}

static int check_range(struct block_dev *bs, uint64_t off, uint64_t len)
{
	if (off > bs->size || len > bs->size - off)
		return -EINVAL;
	return 0;
}

/* The request's iovecs are sane and [off, off + their total) is inside bs. */
static int check_iov_range(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt)
{
	int64_t len = iov_total(iov, iovcnt);

	if (len < 0)
		return (int)len;
	return check_range(bs, off, (uint64_t)len);
}

int block_preadv(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		 block_done_fn done, void *opaque)
{
	int ret = check_iov_range(bs, off, iov, iovcnt);

	if (ret < 0)
		return ret;
	return bs->drv->preadv(bs, off, iov, iovcnt, done, opaque);
}

int block_pwritev(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		  block_done_fn done, void *opaque)
{
	int ret = check_iov_range(bs, off, iov, iovcnt);

	if (ret < 0)
		return ret;
	if (bs->read_only)
		return -EROFS;
	return bs->drv->pwritev(bs, off, iov, iovcnt, done, opaque);
}

int block_flush(struct block_dev *bs, block_done_fn done, void *opaque)
{
	if (bs->read_only || !bs->drv->flush)
		return block_engine_complete(bs->engine, done, opaque, 0);
	return bs->drv->flush(bs, done, opaque);
}

int block_discard(struct block_dev *bs, uint64_t off, uint64_t len, block_done_fn done, void *opaque)
{
	if (check_range(bs, off, len) < 0)
		return -EINVAL;
	if (bs->read_only)
		return -EROFS;
	if (!bs->drv->discard)
		return -ENOTSUP;
	return bs->drv->discard(bs, off, len, done, opaque);
}

int block_write_zeroes(struct block_dev *bs, uint64_t off, uint64_t len, int unmap,
		       block_done_fn done, void *opaque)
{
	if (check_range(bs, off, len) < 0)
		return -EINVAL;
	if (bs->read_only)
		return -EROFS;
	if (!bs->drv->write_zeroes)
		return -ENOTSUP;
	return bs->drv->write_zeroes(bs, off, len, unmap, done, opaque);
}

int block_get_status(struct block_dev *bs, uint64_t off, uint64_t len,
		     uint64_t *pnum, uint64_t *host_off, int *flags)
{
	uint64_t n = 0, h = 0;
	int f = 0, ret;

	if (!bs || !pnum || len == 0 || check_range(bs, off, len) < 0)
		return -EINVAL;
	if (!bs->drv->block_status) {
		*pnum = len;
		if (host_off)
			*host_off = 0;
		if (flags)
			*flags = BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED;
		return 0;
	}
	ret = bs->drv->block_status(bs, off, len, &n, &h, &f);
	if (ret < 0)
		return ret;
	if (n == 0 || n > len)
		return -EIO;   /* a driver bug must not make callers loop forever */
	*pnum = n;
	if (host_off)
		*host_off = h;
	if (flags)
		*flags = f;
	return 0;
}

int block_truncate(struct block_dev *bs, uint64_t new_size)
{
	if (!bs)
		return -EINVAL;
	if (bs->read_only)
		return -EROFS;
	if (!bs->drv->truncate)
		return -ENOTSUP;
	return bs->drv->truncate(bs, new_size);
}

/* --- Synchronous wrappers. */

struct sync_wait {
	int done;
	int ret;
};

static void sync_done(void *opaque, int ret)
{
	struct sync_wait *w = opaque;

	w->ret = ret;
	w->done = 1;
}

static int sync_finish(struct block_dev *bs, struct sync_wait *w, int ret)
{
	if (ret < 0)
		return ret;
	while (!w->done) {
		ret = block_engine_poll(bs->engine, 1);
		if (ret < 0)
			return ret;
		/* Nothing in flight and our callback never ran: a driver
		 * lost the request. Better an error than a hang. */
		if (ret == 0 && !w->done && !engine_busy(bs->engine))
			return -EIO;
	}
	return w->ret;
}

int block_pread_sync(struct block_dev *bs, uint64_t off, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct sync_wait w = { 0, 0 };

	return sync_finish(bs, &w, block_preadv(bs, off, &iov, 1, sync_done, &w));
}

int block_pwrite_sync(struct block_dev *bs, uint64_t off, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct sync_wait w = { 0, 0 };

	return sync_finish(bs, &w, block_pwritev(bs, off, &iov, 1, sync_done, &w));
}

int block_flush_sync(struct block_dev *bs)
{
	struct sync_wait w = { 0, 0 };

	return sync_finish(bs, &w, block_flush(bs, sync_done, &w));
}

int block_discard_sync(struct block_dev *bs, uint64_t off, uint64_t len)
{
	struct sync_wait w = { 0, 0 };

	return sync_finish(bs, &w, block_discard(bs, off, len, sync_done, &w));
}

int block_write_zeroes_sync(struct block_dev *bs, uint64_t off, uint64_t len, int unmap)
{
	struct sync_wait w = { 0, 0 };

	return sync_finish(bs, &w, block_write_zeroes(bs, off, len, unmap, sync_done, &w));
}
