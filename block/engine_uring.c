/* io_uring back-end of the block engine (liburing 2.3): readv/writev/fsync
 * SQEs, completions signalled on the engine's eventfd (registered with
 * io_uring_register_eventfd). Requests beyond the ring's capacity wait in a
 * FIFO; short transfers and -EAGAIN are resubmitted for the rest. */
#include "block/engine.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>

struct uring_backend {
	struct io_uring ring;
	unsigned inflight;   /* SQEs handed to the ring, CQE not yet seen */
	unsigned cap;        /* bound on inflight so the CQ never overflows */
	struct engine_req *pend_head, *pend_tail;
};

static void pend_push(struct uring_backend *u, struct engine_req *r)
{
	r->next = NULL;
	if (u->pend_tail)
		u->pend_tail->next = r;
	else
		u->pend_head = r;
	u->pend_tail = r;
}

/* Moves waiting requests into the SQ and submits them; while the engine is
 * plugged and the SQ has room, only queues them (unless force). */
static void uring_kick(struct block_engine *eng, int force)
{
	struct uring_backend *u = eng->backend;
	unsigned queued = 0;

	while (u->pend_head && u->inflight < u->cap) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
		struct engine_req *r = u->pend_head;

		if (!sqe)
			break;   /* SQ full of unsubmitted entries: submit them first */
		u->pend_head = r->next;
		if (!u->pend_head)
			u->pend_tail = NULL;
		switch (r->op) {
		case ENGINE_READ:
			io_uring_prep_readv(sqe, r->fd, r->iov, r->iovcnt, r->off);
			break;
		case ENGINE_WRITE:
			io_uring_prep_writev(sqe, r->fd, r->iov, r->iovcnt, r->off);
			break;
		default:
			io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC);
			break;
		}
		io_uring_sqe_set_data(sqe, r);
		u->inflight++;
		queued++;
	}
	if (eng->plugged && !force && u->pend_head == NULL && io_uring_sq_space_left(&u->ring))
		return;
	/* Also retries SQEs left behind by an earlier -EAGAIN/-EBUSY. */
	if (queued || io_uring_sq_ready(&u->ring))
		io_uring_submit(&u->ring);
}

static void uring_submit(struct block_engine *eng, struct engine_req *r)
{
	pend_push(eng->backend, r);
	uring_kick(eng, 0);
}

static void uring_unplug(struct block_engine *eng)
{
	uring_kick(eng, 1);
}

static void uring_reap(struct block_engine *eng)
{
	struct uring_backend *u = eng->backend;
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct engine_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		u->inflight--;
		if (res == -EAGAIN || res == -EINTR) {
			pend_push(u, r);
			continue;
		}
		if (res < 0) {
			r->ret = res;
		} else if (r->op == ENGINE_READ || r->op == ENGINE_WRITE) {
			if (res == 0) {
				/* End of file: a read returns zeroes for the tail
				 * (the block layer bounded it by the disk size); a
				 * write that makes no progress is an error. */
				if (r->op == ENGINE_READ)
					engine_req_zero_rest(r);
				else
					r->ret = -EIO;
			} else if (engine_req_advance(r, (size_t)res) > 0) {
				pend_push(u, r);
				continue;
			}
		}
		engine_finish_locked(eng, r);
	}
	/* Forced: a poll waiting inside a plugged section (a synchronous
	 * wrapper) must see its own request reach the kernel. */
	uring_kick(eng, 1);
}

static void uring_destroy(struct block_engine *eng)
{
	struct uring_backend *u = eng->backend;
	struct engine_req *r;

	while ((r = u->pend_head)) {
		u->pend_head = r->next;
		free(r->iov_alloc);
		free(r);
	}
	io_uring_submit(&u->ring);
	/* The kernel may still write into the buffers: wait for every CQE. */
	while (u->inflight > 0) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(&u->ring, &cqe) < 0)
			break;
		r = io_uring_cqe_get_data(cqe);
		io_uring_cqe_seen(&u->ring, cqe);
		u->inflight--;
		free(r->iov_alloc);
		free(r);
	}
	io_uring_queue_exit(&u->ring);
	free(u);
}

static const struct engine_backend_ops uring_ops = {
	.name = "io_uring",
	.submit = uring_submit,
	.reap = uring_reap,
	.destroy = uring_destroy,
	.unplug = uring_unplug,
};

int engine_uring_init(struct block_engine *eng)
{
	struct uring_backend *u = calloc(1, sizeof(*u));
	unsigned entries = 1;
	int ret;

	if (!u)
		return -ENOMEM;
	while (entries < eng->queue_depth)
		entries <<= 1;
	ret = io_uring_queue_init(entries, &u->ring, 0);
	if (ret < 0) {
		free(u);
		return ret;
	}
	ret = io_uring_register_eventfd(&u->ring, eng->efd);
	if (ret < 0) {
		io_uring_queue_exit(&u->ring);
		free(u);
		return ret;
	}
	u->cap = *u->ring.cq.kring_entries;
	if (u->cap > eng->queue_depth)
		u->cap = eng->queue_depth;
	eng->backend = u;
	eng->ops = &uring_ops;
	return 0;
}
