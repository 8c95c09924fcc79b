/* The block I/O engine front end: request objects, the ready list of
 * completions, the eventfd that makes them visible to epoll, and poll().
 * Callbacks run only from block_engine_poll(), never from a submit call. */
#include "block/engine.h"
#include "block/iov.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int block_engine_create(struct block_engine **out, unsigned queue_depth, int force_threads)
{
	struct block_engine *eng;
	int ret;

	if (queue_depth == 0 || queue_depth > 4096)
		return -EINVAL;
	eng = calloc(1, sizeof(*eng));
	if (!eng)
		return -ENOMEM;
	eng->queue_depth = queue_depth;
	eng->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (eng->efd < 0) {
		ret = -errno;
		free(eng);
		return ret;
	}
	if (pthread_mutex_init(&eng->lock, NULL)) {
		close(eng->efd);
		free(eng);
		return -ENOMEM;
	}
	ret = -ENOSYS;
	if (!force_threads)
		ret = engine_uring_init(eng);
	if (ret < 0)
		ret = engine_threads_init(eng);
	if (ret < 0) {
		pthread_mutex_destroy(&eng->lock);
		close(eng->efd);
		free(eng);
		return ret;
	}
	*out = eng;
	return 0;
}

#define ENGINE_FREE_MAX 256   /* finished requests kept for reuse */
#define ENGINE_DEFER_MAX 32    /* deferred calls per thread per batch */

static void req_free(struct engine_req *r)
{
	free(r->iov_alloc);
	free(r);
}

/* A zeroed request, from the free list when it has one (a calloc per
 * request is a measurable share of a 4 KiB request's cost). */
static struct engine_req *req_get(struct block_engine *eng)
{
	struct engine_req *r;

	pthread_mutex_lock(&eng->lock);
	r = eng->free_reqs;
	if (r) {
		eng->free_reqs = r->next;
		eng->nfree--;
	}
	pthread_mutex_unlock(&eng->lock);
	if (!r)
		return calloc(1, sizeof(*r));
	memset(r, 0, sizeof(*r));
	return r;
}

/* Returns the requests of list (linked by next) to the free list, freeing
 * what does not fit. */
static void req_put_list(struct block_engine *eng, struct engine_req *list)
{
	struct engine_req *r;

	pthread_mutex_lock(&eng->lock);
	while ((r = list) && eng->nfree < ENGINE_FREE_MAX) {
		list = r->next;
		free(r->iov_alloc);
		r->iov_alloc = NULL;
		r->next = eng->free_reqs;
		eng->free_reqs = r;
		eng->nfree++;
	}
	pthread_mutex_unlock(&eng->lock);
	while ((r = list)) {
		list = r->next;
		req_free(r);
	}
}

/* block_engine_defer(): per thread, because the I/O thread and a vCPU
 * thread draining a device on reset may both be inside a poll. */
struct defer_call {
	void (*fn)(void *);
	void *opaque;
};

static __thread struct {
	unsigned depth, n;
	struct defer_call call[ENGINE_DEFER_MAX];
} defer;

void block_engine_defer(void (*fn)(void *opaque), void *opaque)
{
	if (defer.depth == 0 || defer.n == ENGINE_DEFER_MAX) {
		fn(opaque);
		return;
	}
	for (unsigned i = 0; i < defer.n; i++)
		if (defer.call[i].fn == fn && defer.call[i].opaque == opaque)
			return;
	defer.call[defer.n].fn = fn;
	defer.call[defer.n].opaque = opaque;
	defer.n++;
}

/* Runs the calls deferred by the batch that just ended (outermost poll),
 * from a copy: a call may poll again and defer more. */
static void defer_run(void)
{
	struct defer_call call[ENGINE_DEFER_MAX];
	unsigned n = defer.n;

	memcpy(call, defer.call, sizeof(call[0]) * n);
	defer.n = 0;
	for (unsigned i = 0; i < n; i++)
		call[i].fn(call[i].opaque);
}

void block_engine_destroy(struct block_engine *eng)
{
	struct engine_req *r, *next;

	if (!eng)
		return;
	/* Requests still in flight finish their host I/O; their callbacks
	 * are dropped (the owner is going away). */
	eng->ops->destroy(eng);
	for (r = eng->ready_head; r; r = next) {
		next = r->next;
		req_free(r);
	}
	for (r = eng->free_reqs; r; r = next) {
		next = r->next;
		req_free(r);
	}
	pthread_mutex_destroy(&eng->lock);
	close(eng->efd);
	free(eng);
}

int block_engine_fd(struct block_engine *eng)
{
	return eng->efd;
}

const char *block_engine_name(struct block_engine *eng)
{
	return eng->ops->name;
}

void engine_signal(struct block_engine *eng)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: it is readable anyway. */
	if (write(eng->efd, &one, sizeof(one)) < 0) {
	}
}

void engine_finish_locked(struct block_engine *eng, struct engine_req *r)
{
	r->next = NULL;
	if (eng->ready_tail)
		eng->ready_tail->next = r;
	else
		eng->ready_head = r;
	eng->ready_tail = r;
	eng->outstanding--;
}

size_t engine_req_advance(struct engine_req *r, size_t n)
{
	r->off += n;
	block_iov_advance(&r->iov, &r->iovcnt, n);
	return block_iov_size(r->iov, r->iovcnt);
}

void engine_req_zero_rest(struct engine_req *r)
{
	block_iov_memset(r->iov, r->iovcnt, 0, 0, block_iov_size(r->iov, r->iovcnt));
	r->iovcnt = 0;
}

void block_engine_plug(struct block_engine *eng)
{
	pthread_mutex_lock(&eng->lock);
	eng->plugged++;
	pthread_mutex_unlock(&eng->lock);
}

void block_engine_unplug(struct block_engine *eng)
{
	int signal = 0;

	pthread_mutex_lock(&eng->lock);
	if (eng->plugged && --eng->plugged == 0) {
		if (eng->ops->unplug)
			eng->ops->unplug(eng);
		signal = eng->signal_pending;
		eng->signal_pending = 0;
	}
	pthread_mutex_unlock(&eng->lock);
	if (signal)
		engine_signal(eng);
}

int engine_busy(struct block_engine *eng)
{
	int busy;

	pthread_mutex_lock(&eng->lock);
	busy = eng->outstanding > 0 || eng->ready_head != NULL;
	pthread_mutex_unlock(&eng->lock);
	return busy;
}

static int submit(struct block_engine *eng, enum engine_op op, int fd, uint64_t off,
		  const struct iovec *iov, int iovcnt, block_done_fn done, void *opaque, int ret)
{
	struct engine_req *r;

	if (!done || iovcnt < 0 || iovcnt > ENGINE_MAX_IOV || (iovcnt && !iov))
		return -EINVAL;
	if ((op == ENGINE_READ || op == ENGINE_WRITE) && off > INT64_MAX)
		return -EINVAL;
	r = req_get(eng);
	if (!r)
		return -ENOMEM;
	r->op = op;
	r->fd = fd;
	r->off = off;
	r->done = done;
	r->opaque = opaque;
	r->ret = ret;
	r->iov = r->iov_inline;
	if (iovcnt > ENGINE_INLINE_IOV) {
		r->iov_alloc = malloc(sizeof(*iov) * (size_t)iovcnt);
		if (!r->iov_alloc) {
			req_put_list(eng, r);
			return -ENOMEM;
		}
		r->iov = r->iov_alloc;
	}
	/* Zero-length buffers are dropped: they would look like EOF. */
	for (int i = 0; i < iovcnt; i++)
		if (iov[i].iov_len)
			r->iov[r->iovcnt++] = iov[i];

	pthread_mutex_lock(&eng->lock);
	eng->outstanding++;
	if (op == ENGINE_NOP || ((op == ENGINE_READ || op == ENGINE_WRITE) && r->iovcnt == 0)) {
		/* Plugged: one eventfd write at unplug for the whole batch (a
		 * waiting poll takes the ready list without it). */
		int now = !eng->plugged;

		engine_finish_locked(eng, r);
		eng->signal_pending |= !now;
		pthread_mutex_unlock(&eng->lock);
		if (now)
			engine_signal(eng);
		return 0;
	}
	eng->ops->submit(eng, r);
	pthread_mutex_unlock(&eng->lock);
	return 0;
}

int block_engine_preadv(struct block_engine *eng, int fd, uint64_t off, const struct iovec *iov,
			int iovcnt, block_done_fn done, void *opaque)
{
	return submit(eng, ENGINE_READ, fd, off, iov, iovcnt, done, opaque, 0);
}

int block_engine_pwritev(struct block_engine *eng, int fd, uint64_t off, const struct iovec *iov,
			 int iovcnt, block_done_fn done, void *opaque)
{
	return submit(eng, ENGINE_WRITE, fd, off, iov, iovcnt, done, opaque, 0);
}

int block_engine_fsync(struct block_engine *eng, int fd, block_done_fn done, void *opaque)
{
	return submit(eng, ENGINE_FSYNC, fd, 0, NULL, 0, done, opaque, 0);
}

int block_engine_complete(struct block_engine *eng, block_done_fn done, void *opaque, int ret)
{
	if (ret > 0)
		return -EINVAL;
	return submit(eng, ENGINE_NOP, -1, 0, NULL, 0, done, opaque, ret);
}

int block_engine_poll(struct block_engine *eng, int wait)
{
	for (;;) {
		struct engine_req *list, *r, *done_list = NULL;
		uint64_t cnt;
		int n = 0, busy;

		/* Drain the eventfd before reaping, so a completion that lands
		 * after the reap leaves it readable. */
		if (read(eng->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
			return -errno;
		pthread_mutex_lock(&eng->lock);
		eng->ops->reap(eng);
		list = eng->ready_head;
		eng->ready_head = eng->ready_tail = NULL;
		busy = eng->outstanding > 0;
		pthread_mutex_unlock(&eng->lock);

		defer.depth++;
		while ((r = list)) {
			block_done_fn done = r->done;
			void *opaque = r->opaque;
			int ret = r->ret;

			list = r->next;
			r->next = done_list;
			done_list = r;
			done(opaque, ret);
			n++;
		}
		if (--defer.depth == 0)
			defer_run();
		req_put_list(eng, done_list);
		done_list = NULL;
		if (n || !wait || !busy)
			return n;
		/* A bounded wait: a back-end that had to retry a submission
		 * later (EAGAIN) gets its turn in reap(). */
		struct pollfd pfd = { .fd = eng->efd, .events = POLLIN };
		if (poll(&pfd, 1, 50) < 0 && errno != EINTR)
			return -errno;
	}
}
