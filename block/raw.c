/* The raw image driver: the file (or host block device) is the disk, byte
 * for byte. I/O goes through the engine; cache=none opens with O_DIRECT and
 * bounces buffers the device cannot DMA from; discard and write-zeroes are
 * fallocate() calls completed through block_engine_complete(), and so are
 * writes to a file in RAM (tmpfs, ramfs), done at once (see write_now()). */
#include "block/block.h"
#include "block/iov.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

struct raw_state {
	int fd;
	int direct;
	int no_flush;
	int in_ram;           /* regular file on tmpfs/ramfs, buffered */
	unsigned mem_align;   /* O_DIRECT buffer alignment */
	unsigned off_align;   /* O_DIRECT offset/length alignment */
};

/* An O_DIRECT request whose buffers are not aligned goes through buf. */
struct raw_bounce {
	struct block_dev *bs;
	void *buf;
	size_t len;
	int is_read;
	block_done_fn done;
	void *opaque;
	int iovcnt;
	struct iovec iov[];
};

static int raw_probe(const uint8_t *buf, size_t len)
{
	return 1;   /* anything is a raw image; every real format outbids this */
}

static int direct_alignment(struct raw_state *s, int fd)
{
	struct statx stx;
	void *buf;
	ssize_t n;

	s->mem_align = 512;
	s->off_align = 512;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN)) {
		if (stx.stx_dio_offset_align == 0)
			return BLOCK_E_NO_DIRECT;
		if (stx.stx_dio_mem_align > s->mem_align)
			s->mem_align = stx.stx_dio_mem_align;
		if (stx.stx_dio_offset_align > s->off_align)
			s->off_align = stx.stx_dio_offset_align;
	}
	if (s->mem_align > 65536 || s->off_align > 65536)
		return BLOCK_E_NO_DIRECT;
	/* Some file systems accept O_DIRECT at open and refuse the I/O. */
	if (posix_memalign(&buf, s->mem_align < 4096 ? 4096 : s->mem_align, s->off_align))
		return -ENOMEM;
	n = pread(fd, buf, s->off_align, 0);
	free(buf);
	if (n < 0 && errno == EINVAL)
		return BLOCK_E_NO_DIRECT;
	return 0;
}

static int raw_open(struct block_dev *bs, const char *path, const struct block_open_opts *opts)
{
	struct raw_state *s = calloc(1, sizeof(*s));
	int flags = (opts->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	uint64_t size;
	int ret;

	if (!s)
		return -ENOMEM;
	if (opts->cache_direct)
		flags |= O_DIRECT;
	s->fd = open(path, flags);
	if (s->fd < 0) {
		ret = (errno == EINVAL && opts->cache_direct) ? BLOCK_E_NO_DIRECT : -errno;
		free(s);
		return ret;
	}
	if (fstat(s->fd, &st) < 0) {
		ret = -errno;
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(s->fd, BLKGETSIZE64, &size) < 0) {
			ret = -errno;
			goto fail;
		}
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto fail;
	}
	if (opts->cache_direct) {
		ret = direct_alignment(s, s->fd);
		if (ret < 0)
			goto fail;
		s->direct = 1;
	}
	if (!s->direct && S_ISREG(st.st_mode)) {
		struct statfs fs;

		s->in_ram = fstatfs(s->fd, &fs) == 0 &&
			    (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
	}
	s->no_flush = opts->no_flush;
	bs->priv = s;
	bs->size = size;
	bs->read_only = opts->read_only;
	bs->sector_size = s->direct && s->off_align > 512 ? s->off_align : 512;
	return 0;
fail:
	close(s->fd);
	free(s);
	return ret;
}

static void raw_close(struct block_dev *bs)
{
	struct raw_state *s = bs->priv;

	if (!s)
		return;
	close(s->fd);
	free(s);
	bs->priv = NULL;
}

static void bounce_done(void *opaque, int ret)
{
	struct raw_bounce *b = opaque;

	if (ret == 0 && b->is_read)
		block_iov_from_buf(b->iov, b->iovcnt, 0, b->buf, b->len);
	b->done(b->opaque, ret);
	free(b->buf);
	free(b);
}

#define WRITE_NOW_IOV 16

/* A buffered write to a file in RAM is a page-cache copy that never waits
 * for a disk, but io_uring cannot complete it inline (Linux 6.1 has no
 * async buffered writes on tmpfs: it goes to an io-wq worker, one per inode
 * at a time, and every write costs two thread switches); done here in the
 * submitting thread instead (kvmtool does every write so). 0 or -errno. */
static int write_now(int fd, uint64_t off, const struct iovec *iov, int iovcnt)
{
	struct iovec v[WRITE_NOW_IOV];

	if (block_iov_size(iov, iovcnt) == 0)
		return 0;   /* as the engine: nothing to write is no EOF */
	memcpy(v, iov, sizeof(*iov) * (size_t)iovcnt);
	return block_fd_pwritev(fd, v, iovcnt, off);   /* short writes continued */
}

/* O_DIRECT: offset and length must be multiples of the file's direct-I/O
 * alignment (-EINVAL otherwise: virtio-blk advertises it as blk_size);
 * misaligned memory is bounced through an aligned buffer. */
static int raw_rw(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		  block_done_fn done, void *opaque, int is_read)
{
	struct raw_state *s = bs->priv;
	struct raw_bounce *b;
	size_t len = 0;
	int bounce = 0, ret;

	if (!s->direct)
		goto direct_io;
	for (int i = 0; i < iovcnt; i++) {
		len += iov[i].iov_len;
		if ((uintptr_t)iov[i].iov_base % s->mem_align || iov[i].iov_len % s->mem_align)
			bounce = 1;
	}
	if (off % s->off_align || len % s->off_align)
		return -EINVAL;
	if (!bounce)
		goto direct_io;

	b = malloc(sizeof(*b) + sizeof(*iov) * (size_t)iovcnt);
	if (!b)
		return -ENOMEM;
	if (posix_memalign(&b->buf, s->mem_align < 4096 ? 4096 : s->mem_align, len ? len : 1)) {
		free(b);
		return -ENOMEM;
	}
	b->bs = bs;
	b->len = len;
	b->is_read = is_read;
	b->done = done;
	b->opaque = opaque;
	b->iovcnt = iovcnt;
	memcpy(b->iov, iov, sizeof(*iov) * (size_t)iovcnt);
	if (!is_read)
		block_iov_to_buf(iov, iovcnt, 0, b->buf, len);
	{
		struct iovec one = { .iov_base = b->buf, .iov_len = len };

		ret = is_read ? block_engine_preadv(bs->engine, s->fd, off, &one, 1, bounce_done, b)
			      : block_engine_pwritev(bs->engine, s->fd, off, &one, 1, bounce_done, b);
	}
	if (ret < 0) {
		free(b->buf);
		free(b);
	}
	return ret;

direct_io:
	if (!is_read && s->in_ram && iovcnt >= 0 && iovcnt <= WRITE_NOW_IOV)
		return block_engine_complete(bs->engine, done, opaque,
					     write_now(s->fd, off, iov, iovcnt));
	return is_read ? block_engine_preadv(bs->engine, s->fd, off, iov, iovcnt, done, opaque)
		       : block_engine_pwritev(bs->engine, s->fd, off, iov, iovcnt, done, opaque);
}

static int raw_preadv(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		      block_done_fn done, void *opaque)
{
	return raw_rw(bs, off, iov, iovcnt, done, opaque, 1);
}

static int raw_pwritev(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		       block_done_fn done, void *opaque)
{
	return raw_rw(bs, off, iov, iovcnt, done, opaque, 0);
}

static int raw_flush(struct block_dev *bs, block_done_fn done, void *opaque)
{
	struct raw_state *s = bs->priv;

	if (s->no_flush)
		return block_engine_complete(bs->engine, done, opaque, 0);
	return block_engine_fsync(bs->engine, s->fd, done, opaque);
}

static int try_fallocate(int fd, int mode, uint64_t off, uint64_t len)
{
	while (fallocate(fd, mode, (off_t)off, (off_t)len) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int unsupported(int ret)
{
	return ret == -EOPNOTSUPP || ret == -ENOTSUP || ret == -ENOSYS || ret == -EINVAL;
}

/* The last resort for write-zeroes: plain writes of a zero buffer. */
static int write_zero_buffer(struct raw_state *s, uint64_t off, uint64_t len)
{
	const size_t chunk = 1 << 20;
	void *zero;
	int ret = 0;

	if (posix_memalign(&zero, 4096, chunk))
		return -ENOMEM;
	memset(zero, 0, chunk);
	while (len > 0 && ret == 0) {
		size_t n = len < chunk ? (size_t)len : chunk;
		ssize_t w = pwrite(s->fd, zero, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			ret = -errno;
		else if (w == 0)
			ret = -EIO;
		else {
			off += (uint64_t)w;
			len -= (uint64_t)w;
		}
	}
	free(zero);
	return ret;
}

static int raw_discard(struct block_dev *bs, uint64_t off, uint64_t len, block_done_fn done, void *opaque)
{
	struct raw_state *s = bs->priv;
	int ret = try_fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);

	/* Discard is a hint (virtio 1.2 5.2.6.2): a file system that cannot
	 * punch holes leaves the data, which is allowed. */
	if (unsupported(ret))
		ret = 0;
	return block_engine_complete(bs->engine, done, opaque, ret);
}

static int raw_write_zeroes(struct block_dev *bs, uint64_t off, uint64_t len, int unmap,
			    block_done_fn done, void *opaque)
{
	struct raw_state *s = bs->priv;
	int ret = -EOPNOTSUPP;

	if (s->direct && (off % s->off_align || len % s->off_align))
		return -EINVAL;
	if (unmap)
		ret = try_fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	if (ret < 0 && unsupported(ret))
		ret = try_fallocate(s->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
	if (ret < 0 && unsupported(ret) && !unmap)
		ret = try_fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	if (ret < 0 && unsupported(ret))
		ret = write_zero_buffer(s, off, len);
	return block_engine_complete(bs->engine, done, opaque, ret);
}

/* Holes are found with SEEK_DATA/SEEK_HOLE; a file system without them
 * reports everything as data. */
static int raw_block_status(struct block_dev *bs, uint64_t off, uint64_t len,
			    uint64_t *pnum, uint64_t *host_off, int *flags)
{
	struct raw_state *s = bs->priv;
	off_t data = lseek(s->fd, (off_t)off, SEEK_DATA);
	off_t hole;

	*host_off = 0;
	if (data < 0 && errno == ENXIO) {
		/* No data from off to the end of the file. */
		*pnum = len;
		*flags = BLOCK_STATUS_ZERO;
		return 0;
	}
	if (data < 0) {
		*pnum = len;
		*flags = BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED;
		*host_off = off;
		return 0;
	}
	if ((uint64_t)data > off) {
		uint64_t n = (uint64_t)data - off;

		*pnum = n < len ? n : len;
		*flags = BLOCK_STATUS_ZERO;
		return 0;
	}
	hole = lseek(s->fd, (off_t)off, SEEK_HOLE);
	if (hole < 0 || (uint64_t)hole <= off || (uint64_t)hole - off > len)
		*pnum = len;
	else
		*pnum = (uint64_t)hole - off;
	*flags = BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED;
	*host_off = off;
	return 0;
}

static int raw_truncate(struct block_dev *bs, uint64_t new_size)
{
	struct raw_state *s = bs->priv;

	if (new_size > INT64_MAX)
		return -EFBIG;
	if (ftruncate(s->fd, (off_t)new_size) < 0)
		return -errno;
	bs->size = new_size;
	return 0;
}

const struct block_driver block_driver_raw = {
	.format = "raw",
	.probe = raw_probe,
	.open = raw_open,
	.close = raw_close,
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.block_status = raw_block_status,
	.truncate = raw_truncate,
};
