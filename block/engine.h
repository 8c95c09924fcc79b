/* Private to block/: the engine core shared by the io_uring back-end
 * (engine_uring.c) and the thread-pool fallback (engine_threads.c). A request
 * carries its own iovec copy so short transfers can be resumed. */
#ifndef VMM_BLOCK_ENGINE_H
#define VMM_BLOCK_ENGINE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/uio.h>

#include "block/block.h"

enum engine_op { ENGINE_READ, ENGINE_WRITE, ENGINE_FSYNC, ENGINE_NOP };

#define ENGINE_INLINE_IOV 8
#define ENGINE_MAX_IOV 1024   /* UIO_MAXIOV: what preadv and io_uring accept */

struct engine_req {
	struct engine_req *next;
	enum engine_op op;
	int fd;
	uint64_t off;
	struct iovec *iov;       /* current position; advanced on short transfers */
	int iovcnt;
	struct iovec *iov_alloc; /* heap copy when more than ENGINE_INLINE_IOV */
	block_done_fn done;
	void *opaque;
	int ret;
	struct iovec iov_inline[ENGINE_INLINE_IOV];
};

struct engine_backend_ops {
	const char *name;
	/* Called with eng->lock held: start r (or queue it internally). */
	void (*submit)(struct block_engine *eng, struct engine_req *r);
	/* Called with eng->lock held: move finished requests to the ready
	 * list with engine_finish_locked(). */
	void (*reap)(struct block_engine *eng);
	/* Waits for host I/O in flight to end and frees the back-end. */
	void (*destroy)(struct block_engine *eng);
	/* Optional, called with eng->lock held when the last plug is
	 * removed: hand the requests queued meanwhile to the host. */
	void (*unplug)(struct block_engine *eng);
};

struct block_engine {
	pthread_mutex_t lock;
	int efd;                   /* eventfd: readable when callbacks are due */
	unsigned queue_depth;
	unsigned outstanding;      /* submitted, not yet on the ready list */
	unsigned plugged;          /* block_engine_plug() depth: defer host submission */
	int signal_pending;        /* a completion queued while plugged: signal at unplug */
	struct engine_req *ready_head, *ready_tail;
	struct engine_req *free_reqs; /* finished requests kept for reuse */
	unsigned nfree;
	const struct engine_backend_ops *ops;
	void *backend;
};

int engine_uring_init(struct block_engine *eng);
int engine_threads_init(struct block_engine *eng);

/* With eng->lock held: r is finished with r->ret; queue its callback. */
void engine_finish_locked(struct block_engine *eng, struct engine_req *r);
void engine_signal(struct block_engine *eng);

/* Accounts for n bytes transferred: advances r's iovecs and offset. Returns
 * the bytes still to transfer. */
size_t engine_req_advance(struct engine_req *r, size_t n);
/* Zeroes what remains of a read that hit end of file. */
void engine_req_zero_rest(struct engine_req *r);

/* Whether requests are in flight or callbacks are due (for the sync
 * wrappers: a wait on an idle engine would never end). */
int engine_busy(struct block_engine *eng);

#endif
