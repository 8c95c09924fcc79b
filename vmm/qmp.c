/* QMP server: Unix-socket listeners and clients on the main thread's event
 * loop, the greeting, message framing and events (QEMU
 * docs/interop/qmp-spec.rst: "Server Greeting", "Issuing Commands",
 * "Asynchronous events"). Framing follows QEMU's JSON streamer: a message
 * ends when its braces/brackets balance outside strings; a top-level scalar
 * ends at a newline. Hostile input is bounded (qmp.h QMP_MAX_*). */
#include "vmm/qmp.h"
#include "vmm/event_loop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define QMP_MAX_LISTENERS 8

struct qmp_client {
	struct qmp_server *s;
	int fd;
	struct qmp_dispatch_ctx ctx;
	char *in;                   /* the message being received */
	size_t in_len, in_cap;
	size_t msg_bytes;           /* bytes of the current message, kept or not */
	int in_msg, scalar, depth, in_str, esc, discarding;
	char *out;                  /* queued output not yet written */
	size_t out_len, out_cap;
	uint32_t events;            /* epoll mask registered */
	int closing;                /* drop once out is written */
	struct qmp_client *next;
};

struct qmp_listener {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct qmp_server {
	struct event_loop *loop;
	const struct qmp_vm_ops *ops;
	const char *name;
	struct qmp_listener listeners[QMP_MAX_LISTENERS];
	unsigned nlisteners;
	struct qmp_client *clients;
	unsigned nclients;
};

static void client_free(struct qmp_client *c)
{
	struct qmp_server *s = c->s;
	for (struct qmp_client **p = &s->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	s->nclients--;
	event_loop_del(s->loop, c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static void client_update_events(struct qmp_client *c)
{
	uint32_t want = (c->closing ? 0 : EPOLLIN) | (c->out_len ? EPOLLOUT : 0);
	if (want != c->events && event_loop_mod(c->s->loop, c->fd, want) == 0)
		c->events = want;
}

/* Writes what the socket takes now. Returns -1 when the client is gone. */
static int client_flush(struct qmp_client *c)
{
	while (c->out_len) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	if (!c->out_len && c->closing)
		return -1;
	client_update_events(c);
	return 0;
}

/* Queues text + "\r\n" (QEMU ends every message so). A client that reads
 * nothing while output piles up is dropped rather than growing memory. */
static void client_send(struct qmp_client *c, const char *text)
{
	size_t len = strlen(text);
	if (c->out_len + len + 2 > QMP_MAX_OUTPUT) {
		c->closing = 1;
		c->out_len = 0;
		return;
	}
	if (c->out_len + len + 2 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + len + 2)
			cap *= 2;
		char *n = realloc(c->out, cap);
		if (!n) {
			c->closing = 1;
			return;
		}
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len);
	memcpy(c->out + c->out_len + len, "\r\n", 2);
	c->out_len += len + 2;
}

static void client_send_error(struct qmp_client *c, const char *desc)
{
	json_t *e = json_pack("{s:{s:s,s:s}}", "error", "class", "GenericError", "desc", desc);
	char *t = e ? json_dumps(e, JSON_PRESERVE_ORDER) : NULL;
	if (t)
		client_send(c, t);
	free(t);
	json_decref(e);
}

static void client_reset_message(struct qmp_client *c)
{
	c->in_len = c->msg_bytes = 0;
	c->in_msg = c->scalar = c->depth = c->in_str = c->esc = c->discarding = 0;
	if (c->in_cap > 65536) {       /* give back a huge message's buffer */
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

static void client_message(struct qmp_client *c)
{
	struct qmp_server *s = c->s;
	char *ans = qmp_dispatch_text(&c->ctx, c->in, c->in_len);
	client_reset_message(c);
	if (ans)
		client_send(c, ans);
	else
		client_send_error(c, "out of memory");
	free(ans);
	if (c->ctx.quit) {
		c->ctx.quit = 0;
		s->ops->quit(s->ops->opaque);
	}
}

static int client_append(struct qmp_client *c, char ch)
{
	if (c->in_len + 1 > c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 1024;
		char *n = realloc(c->in, cap);
		if (!n)
			return -1;
		c->in = n;
		c->in_cap = cap;
	}
	c->in[c->in_len++] = ch;
	return 0;
}

/* Feeds received bytes through the framer. Returns -1 to drop the client. */
static int client_input(struct qmp_client *c, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];
		if (!c->in_msg) {
			if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
				continue;
			c->in_msg = 1;
			c->scalar = ch != '{' && ch != '[';
		}
		if (++c->msg_bytes > QMP_MAX_MESSAGE) {
			client_send_error(c, "JSON message too long (limit 1 MiB), closing the connection");
			return -1;
		}
		if (!c->discarding && client_append(c, ch) < 0) {
			client_send_error(c, "out of memory");
			return -1;
		}
		if (c->in_str) {
			if (c->esc)
				c->esc = 0;
			else if (ch == '\\')
				c->esc = 1;
			else if (ch == '"')
				c->in_str = 0;
			continue;
		}
		if (ch == '"') {
			c->in_str = 1;
			continue;
		}
		if (c->scalar) {
			if (ch == '\n' || ch == '\r') {
				client_message(c);
			}
			continue;
		}
		if (ch == '{' || ch == '[') {
			if (++c->depth > QMP_MAX_DEPTH && !c->discarding) {
				client_send_error(c, "JSON nesting too deep (limit 64)");
				c->discarding = 1;
				c->in_len = 0;
			}
		} else if (ch == '}' || ch == ']') {
			if (--c->depth <= 0) {
				if (c->discarding)
					client_reset_message(c);
				else
					client_message(c);
			}
		}
	}
	return 0;
}

static void on_client(void *opaque, uint32_t events)
{
	struct qmp_client *c = opaque;
	/* A hang-up is confirmed by recv() rather than trusted: the event may
	 * be stale, for an fd whose loop slot a new client has taken since. */
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		char buf[16384];
		for (int rounds = 0; rounds < 16; rounds++) {
			ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
				client_free(c);     /* gone, maybe mid-message */
				return;
			}
			if (n < 0)
				break;
			if (c->closing)
				continue;           /* input after an error that drops it */
			if (client_input(c, buf, (size_t)n) < 0) {
				c->closing = 1;
				break;
			}
			if ((size_t)n < sizeof(buf) || c->closing)
				break;
		}
	}
	if (client_flush(c) < 0)
		client_free(c);
}

int qmp_server_add_client(struct qmp_server *s, int fd)
{
	if (s->nclients >= QMP_MAX_CLIENTS)
		return -EMFILE;
	struct qmp_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	c->s = s;
	c->fd = fd;
	c->ctx.ops = s->ops;
	c->ctx.name = s->name;
	c->events = EPOLLIN;
	int ret = event_loop_add(s->loop, fd, EPOLLIN, on_client, c);
	if (ret < 0) {
		free(c);
		return ret;
	}
	c->next = s->clients;
	s->clients = c;
	s->nclients++;
	json_t *g = json_pack("{s:{s:{s:{s:i,s:i,s:i},s:s},s:[]}}", "QMP", "version",
			      "qemu", "micro", 0, "minor", 1, "major", 0, "package", "vmm",
			      "capabilities");
	char *t = g ? json_dumps(g, JSON_PRESERVE_ORDER) : NULL;
	if (t)
		client_send(c, t);
	free(t);
	json_decref(g);
	if (client_flush(c) < 0)
		client_free(c);
	return 0;
}

static void on_accept(void *opaque, uint32_t events)
{
	struct qmp_server *s = opaque;
	for (unsigned i = 0; i < s->nlisteners; i++) {
		for (;;) {
			int fd = accept4(s->listeners[i].fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd < 0)
				break;
			if (qmp_server_add_client(s, fd) < 0)
				close(fd);   /* too many clients: refused */
		}
	}
}

int qmp_server_create(struct qmp_server **out, struct event_loop *loop,
		      const struct qmp_vm_ops *ops, const char *name)
{
	struct qmp_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->ops = ops;
	s->name = name;
	*out = s;
	return 0;
}

int qmp_server_listen_unix(struct qmp_server *s, const char *path, char *msg, size_t msglen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (s->nlisteners >= QMP_MAX_LISTENERS) {
		snprintf(msg, msglen, "%s: too many QMP sockets (at most %d)", path, QMP_MAX_LISTENERS);
		return -EINVAL;
	}
	if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(msg, msglen, "%s: socket path empty or longer than %zu bytes", path,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	struct stat st;
	/* A stale socket from an earlier run is replaced, as QEMU does; any
	 * other kind of file is not ours to remove. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(msg, msglen, "%s: exists and is not a socket", path);
			return -EEXIST;
		}
		unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		int err = errno;
		snprintf(msg, msglen, "%s: cannot listen: %s", path, strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	int ret = event_loop_add(s->loop, fd, EPOLLIN, on_accept, s);
	if (ret < 0) {
		snprintf(msg, msglen, "%s: %s", path, strerror(-ret));
		close(fd);
		unlink(path);
		return ret;
	}
	struct qmp_listener *l = &s->listeners[s->nlisteners++];
	l->fd = fd;
	strcpy(l->path, path);
	return 0;
}

unsigned qmp_server_nclients(const struct qmp_server *s)
{
	return s ? s->nclients : 0;
}

void qmp_server_emit(struct qmp_server *s, const char *name, const char *data_json)
{
	if (!s)
		return;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	json_t *ev = json_pack("{s:s}", "event", name);
	if (!ev)
		return;
	if (data_json) {
		json_t *d = json_loads(data_json, 0, NULL);
		if (d)
			json_object_set_new(ev, "data", d);
	}
	json_object_set_new(ev, "timestamp", json_pack("{s:I,s:I}", "seconds", (json_int_t)tv.tv_sec,
						       "microseconds", (json_int_t)tv.tv_usec));
	char *t = json_dumps(ev, JSON_PRESERVE_ORDER);
	json_decref(ev);
	if (!t)
		return;
	struct qmp_client *next;
	for (struct qmp_client *c = s->clients; c; c = next) {
		next = c->next;
		if (!c->ctx.negotiated || c->closing)
			continue;
		client_send(c, t);
		if (client_flush(c) < 0)
			client_free(c);
	}
	free(t);
}

void qmp_server_flush(struct qmp_server *s, int timeout_ms)
{
	if (!s)
		return;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int pending = 0;
		struct qmp_client *next;
		for (struct qmp_client *c = s->clients; c; c = next) {
			next = c->next;
			if (c->out_len && client_flush(c) < 0)
				client_free(c);
			else if (c->out_len)
				pending++;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (!pending || ms >= timeout_ms)
			return;
		poll(NULL, 0, 10);
	}
}

void qmp_server_destroy(struct qmp_server *s)
{
	if (!s)
		return;
	qmp_server_flush(s, 200);
	while (s->clients)
		client_free(s->clients);
	for (unsigned i = 0; i < s->nlisteners; i++) {
		event_loop_del(s->loop, s->listeners[i].fd);
		close(s->listeners[i].fd);
		unlink(s->listeners[i].path);
	}
	free(s);
}

int qmp_find_thread(const char *comm)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 0;
	struct dirent *e;
	int tid = 0;
	while (!tid && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[64], name[32] = "";
		snprintf(path, sizeof(path), "/proc/self/task/%.20s/comm", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f)) {
			name[strcspn(name, "\n")] = '\0';
			if (strcmp(name, comm) == 0)
				tid = atoi(e->d_name);
		}
		fclose(f);
	}
	closedir(d);
	return tid;
}
