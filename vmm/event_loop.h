/* The I/O thread's event loop: epoll over file descriptors (ioeventfds,
 * io_uring completion eventfds, tap, serial input, control sockets, signalfd)
 * with one callback each, in the spirit of Redis' ae.h. Only the thread that
 * runs the loop calls add/mod/del; event_loop_stop() is safe from any thread. */
#ifndef VMM_EVENT_LOOP_H
#define VMM_EVENT_LOOP_H

#include <stdint.h>

struct event_loop;

/* events is the EPOLLIN/EPOLLOUT/... mask that fired. */
typedef void (*event_fn)(void *opaque, uint32_t events);

/* Returns 0 and a new loop in *out, or a negative errno. */
int event_loop_create(struct event_loop **out);
void event_loop_destroy(struct event_loop *loop);

/* Watch fd for events (EPOLLIN etc.). 0, -EEXIST if fd is watched, or -errno. */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque);
int event_loop_mod(struct event_loop *loop, int fd, uint32_t events);
/* Stop watching fd; safe to call from inside a callback (also for fd itself). */
int event_loop_del(struct event_loop *loop, int fd);

/* Wait up to timeout_ms (-1: forever) and dispatch ready callbacks once.
 * Returns the number dispatched or a negative errno (EINTR is not an error). */
int event_loop_run_once(struct event_loop *loop, int timeout_ms);

/* Dispatch until event_loop_stop(). Returns 0. */
int event_loop_run(struct event_loop *loop);
void event_loop_stop(struct event_loop *loop);

#endif
