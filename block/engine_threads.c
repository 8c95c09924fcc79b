/* Thread-pool back-end of the block engine, for hosts without io_uring (or
 * forced): worker threads run preadv/pwritev/fdatasync to completion
 * (resuming short transfers, retrying EINTR/EAGAIN) and queue the callback
 * for block_engine_poll() with the same semantics as engine_uring.c. */
#include "block/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define THREADS_MAX 8

struct threads_backend {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct engine_req *head, *tail;
	int stop;
	unsigned nthreads;
	pthread_t th[THREADS_MAX];
};

static int do_io(struct engine_req *r)
{
	if (r->op == ENGINE_FSYNC) {
		while (fdatasync(r->fd) < 0)
			if (errno != EINTR)
				return -errno;
		return 0;
	}
	while (r->iovcnt > 0) {
		ssize_t n;

		if (r->op == ENGINE_READ)
			n = preadv(r->fd, r->iov, r->iovcnt, (off_t)r->off);
		else
			n = pwritev(r->fd, r->iov, r->iovcnt, (off_t)r->off);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0) {
			/* Same end-of-file rule as the io_uring back-end. */
			if (r->op == ENGINE_WRITE)
				return -EIO;
			engine_req_zero_rest(r);
			return 0;
		}
		engine_req_advance(r, (size_t)n);
	}
	return 0;
}

static void *worker(void *arg)
{
	struct block_engine *eng = arg;
	struct threads_backend *t = eng->backend;

	for (;;) {
		struct engine_req *r;

		pthread_mutex_lock(&t->lock);
		while (!t->head && !t->stop)
			pthread_cond_wait(&t->cond, &t->lock);
		r = t->head;
		if (!r) {
			pthread_mutex_unlock(&t->lock);
			return NULL;
		}
		t->head = r->next;
		if (!t->head)
			t->tail = NULL;
		pthread_mutex_unlock(&t->lock);

		r->ret = do_io(r);

		pthread_mutex_lock(&eng->lock);
		engine_finish_locked(eng, r);
		pthread_mutex_unlock(&eng->lock);
		engine_signal(eng);
	}
}

static void threads_submit(struct block_engine *eng, struct engine_req *r)
{
	struct threads_backend *t = eng->backend;

	r->next = NULL;
	pthread_mutex_lock(&t->lock);
	if (t->tail)
		t->tail->next = r;
	else
		t->head = r;
	t->tail = r;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static void threads_reap(struct block_engine *eng)
{
	/* Workers put finished requests on the ready list themselves. */
}

static void threads_destroy(struct block_engine *eng)
{
	struct threads_backend *t = eng->backend;

	/* Workers drain the queue before they see stop with nothing left. */
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	for (unsigned i = 0; i < t->nthreads; i++)
		pthread_join(t->th[i], NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static const struct engine_backend_ops threads_ops = {
	.name = "threads",
	.submit = threads_submit,
	.reap = threads_reap,
	.destroy = threads_destroy,
};

int engine_threads_init(struct block_engine *eng)
{
	struct threads_backend *t = calloc(1, sizeof(*t));
	unsigned want = eng->queue_depth < THREADS_MAX ? eng->queue_depth : THREADS_MAX;

	if (!t)
		return -ENOMEM;
	if (pthread_mutex_init(&t->lock, NULL)) {
		free(t);
		return -ENOMEM;
	}
	if (pthread_cond_init(&t->cond, NULL)) {
		pthread_mutex_destroy(&t->lock);
		free(t);
		return -ENOMEM;
	}
	eng->backend = t;
	eng->ops = &threads_ops;
	for (unsigned i = 0; i < want; i++) {
		if (pthread_create(&t->th[i], NULL, worker, eng))
			break;
		t->nthreads++;
	}
	if (t->nthreads == 0) {
		threads_destroy(eng);
		eng->backend = NULL;
		eng->ops = NULL;
		return -EAGAIN;
	}
	return 0;
}
