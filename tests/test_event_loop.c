/* Unit tests for vmm/event_loop.c: dispatch to the right callback, deletion
 * from inside a callback, and stop from another thread. */
#include "vmm/event_loop.h"
#include "tests/check.h"

#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct ctx {
	struct event_loop *loop;
	int fd, calls;
	int del_self;
};

static void on_ready(void *opaque, uint32_t events)
{
	struct ctx *c = opaque;
	uint64_t v;
	c->calls++;
	if (read(c->fd, &v, sizeof(v)) != sizeof(v))
		c->calls += 100;
	if (c->del_self)
		event_loop_del(c->loop, c->fd);
}

static void *stopper(void *arg)
{
	usleep(10000);
	event_loop_stop(arg);
	return NULL;
}

int main(void)
{
	struct event_loop *loop;
	CHECK_EQ(event_loop_create(&loop), 0);
	struct ctx a = { loop, eventfd(0, EFD_NONBLOCK), 0, 0 };
	struct ctx b = { loop, eventfd(0, EFD_NONBLOCK), 0, 1 };
	CHECK_EQ(event_loop_add(loop, a.fd, EPOLLIN, on_ready, &a), 0);
	CHECK_EQ(event_loop_add(loop, a.fd, EPOLLIN, on_ready, &a), -EEXIST);
	CHECK_EQ(event_loop_add(loop, b.fd, EPOLLIN, on_ready, &b), 0);

	uint64_t one = 1;
	CHECK_EQ(write(b.fd, &one, 8), 8);
	CHECK_EQ(event_loop_run_once(loop, 1000), 1);
	CHECK_EQ(a.calls, 0);
	CHECK_EQ(b.calls, 1);
	CHECK_EQ(write(b.fd, &one, 8), 8);   /* b deleted itself: no more calls */
	CHECK_EQ(write(a.fd, &one, 8), 8);
	CHECK_EQ(event_loop_run_once(loop, 1000), 1);
	CHECK_EQ(a.calls, 1);
	CHECK_EQ(b.calls, 1);
	CHECK_EQ(event_loop_del(loop, b.fd), -ENOENT);

	pthread_t t;
	pthread_create(&t, NULL, stopper, loop);
	CHECK_EQ(event_loop_run(loop), 0);
	pthread_join(t, NULL);
	event_loop_destroy(loop);
	close(a.fd);
	close(b.fd);
	return check_done();
}
