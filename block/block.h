/* The block layer's driver interface: open/probe an image, then vectored
 * asynchronous read/write/flush/discard/write-zeroes with a completion
 * callback. `raw` (block/raw.c) and `qcow2` (qcow2/) implement it; virtio-blk,
 * virtio-scsi, vmm-img and vmm-io use it without knowing which. A backing
 * chain is block devices stacked (struct block_dev.backing).
 *
 * Completion contract: a submit function returns 0 and later calls done()
 * exactly once from block_engine_poll() on the engine's thread, never from
 * inside the submit call; or it returns a negative errno and never calls
 * done(). ret passed to done() is 0 or a negative errno. */
#ifndef VMM_BLOCK_BLOCK_H
#define VMM_BLOCK_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct block_dev;
struct block_engine;

typedef void (*block_done_fn)(void *opaque, int ret);

/* --- I/O engine: io_uring, or a thread pool where io_uring is unavailable. */

/* Creates an engine for up to queue_depth in-flight host requests.
 * force_threads selects the thread-pool fallback (tests, old kernels). */
int block_engine_create(struct block_engine **out, unsigned queue_depth, int force_threads);
void block_engine_destroy(struct block_engine *eng);
/* An fd that becomes readable when completions are pending (for epoll). */
int block_engine_fd(struct block_engine *eng);
/* Reaps completions and runs their callbacks. wait: block until at least one.
 * Returns the number of callbacks run or a negative errno. */
int block_engine_poll(struct block_engine *eng, int wait);
/* Host I/O on fd, completed through the engine (used by drivers). */
int block_engine_preadv(struct block_engine *eng, int fd, uint64_t off, const struct iovec *iov,
			int iovcnt, block_done_fn done, void *opaque);
int block_engine_pwritev(struct block_engine *eng, int fd, uint64_t off, const struct iovec *iov,
			 int iovcnt, block_done_fn done, void *opaque);
int block_engine_fsync(struct block_engine *eng, int fd, block_done_fn done, void *opaque);
/* Queue done(opaque, ret) to run from the next poll: for drivers that finish
 * a request without host I/O (zeroes, errors, metadata-only updates). */
int block_engine_complete(struct block_engine *eng, block_done_fn done, void *opaque, int ret);
/* Batching (Linux's blk_start_plug): between plug and unplug, host requests
 * submitted on eng are queued and handed to the kernel together at unplug
 * (one io_uring_enter for all the requests of a virtqueue notification
 * instead of one per request). Nestable; any waiting poll submits what is
 * queued first, so a synchronous wrapper inside a plugged section still
 * completes. */
void block_engine_plug(struct block_engine *eng);
void block_engine_unplug(struct block_engine *eng);
/* From a completion callback: runs fn(opaque) once (same fn and opaque
 * scheduled twice run once) after the last callback of the current
 * block_engine_poll() batch on this thread, e.g. one interrupt for all the
 * requests a batch completed. Called outside a callback, runs fn now. */
void block_engine_defer(void (*fn)(void *opaque), void *opaque);

/* --- Drivers and devices. */

struct block_open_opts {
	const char *format;        /* "raw", "qcow2", or NULL to probe */
	int read_only;
	int cache_direct;          /* cache=none: O_DIRECT on the data file */
	int no_flush;              /* cache=unsafe: flush is a no-op */
	uint64_t l2_cache_bytes;   /* qcow2 caches, 0 = driver default */
	uint64_t refcount_cache_bytes;
};

struct block_driver {
	const char *format;
	/* Score how likely buf (the file's first bytes) is this format: 0 = no, 100 = magic match. */
	int (*probe)(const uint8_t *buf, size_t len);
	/* Fill in bs->priv, size, read_only. path is the image; bs->engine is set. */
	int (*open)(struct block_dev *bs, const char *path, const struct block_open_opts *opts);
	void (*close)(struct block_dev *bs);
	int (*preadv)(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		      block_done_fn done, void *opaque);
	int (*pwritev)(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		       block_done_fn done, void *opaque);
	int (*flush)(struct block_dev *bs, block_done_fn done, void *opaque);
	/* Optional (NULL: -ENOTSUP). unmap: may deallocate (discard semantics). */
	int (*discard)(struct block_dev *bs, uint64_t off, uint64_t len, block_done_fn done, void *opaque);
	int (*write_zeroes)(struct block_dev *bs, uint64_t off, uint64_t len, int unmap,
			    block_done_fn done, void *opaque);
	/* Optional, synchronous (NULL: block_get_status reports all DATA /
	 * -ENOTSUP for truncate). See block_get_status(). */
	int (*block_status)(struct block_dev *bs, uint64_t off, uint64_t len,
			    uint64_t *pnum, uint64_t *host_off, int *flags);
	int (*truncate)(struct block_dev *bs, uint64_t new_size);
};

struct block_dev {
	const struct block_driver *drv;
	struct block_engine *engine;
	void *priv;
	char *filename;
	uint64_t size;            /* virtual disk size in bytes */
	unsigned sector_size;     /* logical block size (512) */
	int read_only;
	struct block_dev *backing; /* NULL if none */
};

/* Opens path with the driver opts->format names or the one probing picks.
 * When probing falls back to raw, *probed_raw is set (callers warn, as QEMU).
 * Errors: -ENOENT/-EACCES/... from the host, -EINVAL for an unknown format,
 * or a driver's own negative code (block_strerror explains it). */
int block_open(struct block_dev **out, const char *path, const struct block_open_opts *opts,
	       struct block_engine *eng, int *probed_raw);
void block_close(struct block_dev *bs);
const struct block_driver *block_find_driver(const char *format);
/* Text for a negative code from block_open or a driver (falls back to strerror). */
const char *block_strerror(int err);

/* Writes all of v (n entries) at off to a plain file descriptor, going on
 * after short writes and EINTR; v is consumed (entries advanced). 0, or
 * -errno (-EIO when the file takes no more bytes). */
int block_fd_pwritev(int fd, struct iovec *v, int n, uint64_t off);

/* Block-layer codes (below -4095, never an errno). */
enum {
	BLOCK_E_NO_DIRECT = -4200,      /* cache=none: the file system refuses O_DIRECT */
};
/* block_strerror() also asks `const char *qcow2_strerror(int err)` when the
 * qcow2 driver defines it (NULL for codes it does not own). */
/* "io_uring" or "threads": which back-end the engine runs on. */
const char *block_engine_name(struct block_engine *eng);

/* Asynchronous requests: range-checked against bs->size (-EINVAL past the end). */
int block_preadv(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		 block_done_fn done, void *opaque);
int block_pwritev(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		  block_done_fn done, void *opaque);
int block_flush(struct block_dev *bs, block_done_fn done, void *opaque);
int block_discard(struct block_dev *bs, uint64_t off, uint64_t len, block_done_fn done, void *opaque);
int block_write_zeroes(struct block_dev *bs, uint64_t off, uint64_t len, int unmap,
		       block_done_fn done, void *opaque);

/* Synchronous wrappers for tools and tests: submit, then poll the engine
 * until done. Return 0 or a negative errno. */
int block_pread_sync(struct block_dev *bs, uint64_t off, void *buf, size_t len);
int block_pwrite_sync(struct block_dev *bs, uint64_t off, const void *buf, size_t len);
int block_flush_sync(struct block_dev *bs);
int block_discard_sync(struct block_dev *bs, uint64_t off, uint64_t len);
int block_write_zeroes_sync(struct block_dev *bs, uint64_t off, uint64_t len, int unmap);

/* --- Allocation status and resizing (synchronous; for tools: map, convert, resize). */
#define BLOCK_STATUS_DATA       1   /* reads come from this layer's data */
#define BLOCK_STATUS_ZERO       2   /* reads as zeroes */
#define BLOCK_STATUS_ALLOCATED  4   /* allocated in this layer (not the backing file) */
#define BLOCK_STATUS_COMPRESSED 8
/* Status of [off, off+len): *pnum = bytes from off with the same status (> 0),
 * *host_off = offset in the image/data file when DATA and not compressed, else 0.
 * -EINVAL when the range is empty or past the end. */
int block_get_status(struct block_dev *bs, uint64_t off, uint64_t len,
		     uint64_t *pnum, uint64_t *host_off, int *flags);
/* Grows (or, where the driver allows, shrinks) the virtual disk; updates bs->size. */
int block_truncate(struct block_dev *bs, uint64_t new_size);

#endif
