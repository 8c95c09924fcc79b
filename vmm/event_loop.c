/* epoll-based event loop; see event_loop.h for the contract. Handlers live in
 * a table indexed by slot; a deleted handler is tombstoned so a dispatch pass
 * that already collected its event does not call it. */
#include "vmm/event_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct handler {
	int fd;        /* -1 when the slot is free */
	event_fn fn;
	void *opaque;
};

struct event_loop {
	int epfd, stopfd;
	volatile int stop;
	struct handler *h;
	unsigned nh;
};

static void on_stop(void *opaque, uint32_t events)
{
	struct event_loop *loop = opaque;
	uint64_t v;
	if (read(loop->stopfd, &v, sizeof(v)) < 0) {
		/* nothing to drain */
	}
}

int event_loop_create(struct event_loop **out)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->stopfd < 0) {
		int err = -errno;
		event_loop_destroy(loop);
		return err;
	}
	int ret = event_loop_add(loop, loop->stopfd, EPOLLIN, on_stop, loop);
	if (ret < 0) {
		event_loop_destroy(loop);
		return ret;
	}
	*out = loop;
	return 0;
}

void event_loop_destroy(struct event_loop *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stopfd >= 0)
		close(loop->stopfd);
	free(loop->h);
	free(loop);
}

static int find(struct event_loop *loop, int fd)
{
	for (unsigned i = 0; i < loop->nh; i++)
		if (loop->h[i].fd == fd)
			return (int)i;
	return -1;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque)
{
	if (fd < 0 || !fn)
		return -EINVAL;
	if (find(loop, fd) >= 0)
		return -EEXIST;
	int slot = find(loop, -1);
	if (slot < 0) {
		struct handler *n = realloc(loop->h, (loop->nh + 8) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		loop->h = n;
		for (unsigned i = loop->nh; i < loop->nh + 8; i++)
			loop->h[i].fd = -1;
		slot = (int)loop->nh;
		loop->nh += 8;
	}
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)slot };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	loop->h[slot] = (struct handler){ fd, fn, opaque };
	return 0;
}

int event_loop_mod(struct event_loop *loop, int fd, uint32_t events)
{
	int slot = find(loop, fd);
	if (slot < 0)
		return -ENOENT;
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)slot };
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int event_loop_del(struct event_loop *loop, int fd)
{
	int slot = find(loop, fd);
	if (slot < 0)
		return -ENOENT;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->h[slot].fd = -1;
	return 0;
}

int event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(loop->epfd, evs, 32, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct handler *h = &loop->h[evs[i].data.u32];
		if (h->fd >= 0)
			h->fn(h->opaque, evs[i].events);
	}
	return n;
}

int event_loop_run(struct event_loop *loop)
{
	while (!__atomic_load_n(&loop->stop, __ATOMIC_ACQUIRE)) {
		int ret = event_loop_run_once(loop, -1);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void event_loop_stop(struct event_loop *loop)
{
	uint64_t one = 1;
	__atomic_store_n(&loop->stop, 1, __ATOMIC_RELEASE);
	if (write(loop->stopfd, &one, sizeof(one)) < 0) {
		/* counter saturated: a wake-up is already pending */
	}
}
