/* Serial backends; see chardev.h. The stdio escape keys follow QEMU's mux
 * chardev (docs "Keys in the character backend multiplexer"): Ctrl-A x
 * quits, Ctrl-A h prints help, Ctrl-A Ctrl-A sends one Ctrl-A. Raw mode per
 * termios(3) cfmakeraw, keeping OPOST so a bare "\n" still starts a line. */
#include "vmm/chardev.h"
#include "vmm/event_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define CTRL_A 0x01
#define RX_PENDING_MAX 4096
#define RX_RETRY_NS (2 * 1000 * 1000)

struct chardev {
	enum serial_backend backend;
	struct event_loop *loop;
	int in_fd;            /* stdin, or -1 */
	int in_watched;       /* in_fd (or client fd) is in the loop with EPOLLIN */
	int out_fd;           /* stdout or the file; -1 for unix/null */
	int listen_fd, client_fd;
	char sock_path[108];
	pthread_mutex_t out_lock;   /* client_fd vs. vCPU writers */
	int timer_fd;
	int escape;           /* saw Ctrl-A */
	void (*quit)(void *);
	void *quit_opaque;
	chardev_rx_fn rx;
	void *rx_opaque;
	uint8_t pending[RX_PENDING_MAX];
	size_t npending;
	int pty_slave_fd;     /* SERIAL_PTY: held open so the master never sees HUP */
};

/* Terminal state is process-wide: the signal handlers need it. */
static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;

void chardev_restore_terminal(void)
{
	if (tio_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		tio_saved = 0;
	}
}

static void fatal_signal(int sig)
{
	chardev_restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void set_raw_terminal(void)
{
	struct termios t;
	if (tcgetattr(STDIN_FILENO, &t) < 0)
		return;
	saved_tio = t;
	tio_saved = 1;
	static int once;
	if (!once) {
		once = 1;
		atexit(chardev_restore_terminal);
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = fatal_signal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESETHAND;
		const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
		for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaction(sigs[i], &sa, NULL);
	}
	cfmakeraw(&t);
	t.c_oflag |= OPOST;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;       /* EPIPE, EAGAIN, ...: the bytes are lost */
		}
		buf += n;
		len -= (size_t)n;
	}
}

void chardev_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct chardev *c = opaque;
	if (!c)
		return;
	switch (c->backend) {
	case SERIAL_STDIO:
	case SERIAL_FILE:
	case SERIAL_PTY:        /* non-blocking master: dropped when nobody reads */
		write_all(c->out_fd, buf, len);
		break;
	case SERIAL_UNIX:
		pthread_mutex_lock(&c->out_lock);
		if (c->client_fd >= 0) {
			while (len) {
				ssize_t n = send(c->client_fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					break;   /* client slow or gone: drop */
				buf += n;
				len -= (size_t)n;
			}
		}
		pthread_mutex_unlock(&c->out_lock);
		break;
	default:
		break;
	}
}

static void set_timer(struct chardev *c, int on)
{
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (on) {
		its.it_value.tv_nsec = RX_RETRY_NS;
		its.it_interval.tv_nsec = RX_RETRY_NS;
	}
	timerfd_settime(c->timer_fd, 0, &its, NULL);
}

static int input_fd(struct chardev *c)
{
	return c->backend == SERIAL_UNIX ? c->client_fd : c->in_fd;
}

/* Stop reading input while bytes wait for FIFO space; a timer retries. */
static void flush_pending(struct chardev *c)
{
	if (c->npending && c->rx) {
		size_t n = c->rx(c->rx_opaque, c->pending, c->npending);
		if (n > c->npending)
			n = c->npending;
		memmove(c->pending, c->pending + n, c->npending - n);
		c->npending -= n;
	}
	int fd = input_fd(c);
	if (c->npending) {
		set_timer(c, 1);
		if (fd >= 0 && c->in_watched) {
			event_loop_mod(c->loop, fd, 0);
			c->in_watched = 0;
		}
	} else {
		set_timer(c, 0);
		if (fd >= 0 && !c->in_watched) {
			event_loop_mod(c->loop, fd, EPOLLIN);
			c->in_watched = 1;
		}
	}
}

static void queue_byte(struct chardev *c, uint8_t b)
{
	if (c->npending < sizeof(c->pending))
		c->pending[c->npending++] = b;
}

static void print_help(struct chardev *c)
{
	static const char help[] =
		"\r\n"
		"C-a h    print this help\r\n"
		"C-a x    exit emulator\r\n"
		"C-a C-a  sends C-a\r\n";
	write_all(STDOUT_FILENO, (const uint8_t *)help, sizeof(help) - 1);
}

static void process_input(struct chardev *c, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t b = buf[i];
		if (c->backend != SERIAL_STDIO) {
			queue_byte(c, b);
			continue;
		}
		if (c->escape) {
			c->escape = 0;
			if (b == 'x' || b == 'X') {
				flush_pending(c);
				if (c->quit)
					c->quit(c->quit_opaque);
				return;
			} else if (b == 'h' || b == 'H' || b == '?') {
				print_help(c);
			} else if (b == CTRL_A) {
				queue_byte(c, CTRL_A);
			}
			continue;
		}
		if (b == CTRL_A)
			c->escape = 1;
		else
			queue_byte(c, b);
	}
	flush_pending(c);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct chardev *c = opaque;
	uint64_t ticks;
	if (read(c->timer_fd, &ticks, sizeof(ticks)) < 0) {
		/* spurious wake-up */
	}
	flush_pending(c);
}

/* Reads what fits in the pending buffer's room from fd (stdin, the pty
 * master or the socket client, all but stdin non-blocking) and processes
 * it. Returns 0, or -1 at EOF or on an error: the caller drops fd. */
static int read_input(struct chardev *c, int fd)
{
	uint8_t buf[256];
	size_t room = sizeof(c->pending) - c->npending;
	if (room == 0)
		return 0;   /* a zero-length read would look like EOF */
	ssize_t n = read(fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	process_input(c, buf, (size_t)n);
	return 0;
}

static void on_stdin(void *opaque, uint32_t events)
{
	struct chardev *c = opaque;
	if (read_input(c, c->in_fd) < 0) {   /* EOF or error: no more input, keep running */
		event_loop_del(c->loop, c->in_fd);
		c->in_fd = -1;
		c->in_watched = 0;
	}
}

static void close_client(struct chardev *c)
{
	pthread_mutex_lock(&c->out_lock);
	if (c->client_fd >= 0) {
		event_loop_del(c->loop, c->client_fd);
		close(c->client_fd);
		c->client_fd = -1;
	}
	pthread_mutex_unlock(&c->out_lock);
	c->in_watched = 0;
}

static void on_client(void *opaque, uint32_t events)
{
	struct chardev *c = opaque;
	if (read_input(c, c->client_fd) < 0)
		close_client(c);
}

static void on_accept(void *opaque, uint32_t events)
{
	struct chardev *c = opaque;
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (c->client_fd >= 0) {   /* one client at a time */
		close(fd);
		return;
	}
	pthread_mutex_lock(&c->out_lock);
	c->client_fd = fd;
	pthread_mutex_unlock(&c->out_lock);
	if (event_loop_add(c->loop, fd, c->npending ? 0 : EPOLLIN, on_client, c) < 0) {
		close_client(c);
		return;
	}
	c->in_watched = !c->npending;
}

static int open_unix(struct chardev *c, const char *opt, const char *path, char *msg,
		     size_t msglen)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(msg, msglen, "%s: %s: socket path too long", opt, path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int err = errno;
		snprintf(msg, msglen, "%s: socket: %s", opt, strerror(err));
		return -err;
	}
	unlink(path);   /* a stale socket from an earlier run, as QEMU does */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int err = errno;
		snprintf(msg, msglen, "%s: %s: %s", opt, path, strerror(err));
		close(fd);
		return -err;
	}
	c->listen_fd = fd;
	snprintf(c->sock_path, sizeof(c->sock_path), "%s", path);
	int ret = event_loop_add(c->loop, fd, EPOLLIN, on_accept, c);
	if (ret < 0) {
		snprintf(msg, msglen, "%s: %s: %s", opt, path, strerror(-ret));
		return ret;
	}
	return 0;
}

/* -serial pty, as QEMU: a new pseudo-terminal in raw mode, its path
 * printed as "char device redirected to /dev/pts/N (label serial0)". vmm
 * keeps the slave open itself, so clients may come and go (the master would
 * otherwise report EOF/HUP once the first one left). */
static int open_pty(struct chardev *c, const char *opt, char *msg, size_t msglen)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	char name[64];
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
		int err = errno;
		snprintf(msg, msglen, "%s pty: %s", opt, strerror(err));
		if (m >= 0)
			close(m);
		return -err;
	}
	int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		int err = errno;
		snprintf(msg, msglen, "%s pty: %s: %s", opt, name, strerror(err));
		close(m);
		return -err;
	}
	struct termios t;
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	c->pty_slave_fd = s;
	c->in_fd = c->out_fd = m;
	if (event_loop_add(c->loop, m, EPOLLIN, on_stdin, c) == 0)
		c->in_watched = 1;
	fprintf(stderr, "char device redirected to %s (label serial0)\n", name);
	return 0;
}

int chardev_open(struct chardev **out, const char *opt, enum serial_backend backend,
		 const char *path, struct event_loop *loop, void (*quit)(void *opaque),
		 void *quit_opaque, char *msg, size_t msglen)
{
	struct chardev *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(msg, msglen, "%s: out of memory", opt);
		return -ENOMEM;
	}
	c->backend = backend;
	c->loop = loop;
	c->in_fd = c->out_fd = c->listen_fd = c->client_fd = c->pty_slave_fd = -1;
	c->quit = quit;
	c->quit_opaque = quit_opaque;
	pthread_mutex_init(&c->out_lock, NULL);
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int ret = 0;
	if (c->timer_fd < 0 || event_loop_add(loop, c->timer_fd, EPOLLIN, on_timer, c) < 0) {
		ret = -errno;
		snprintf(msg, msglen, "%s: timerfd: %s", opt, strerror(errno));
		if (c->timer_fd >= 0)
			close(c->timer_fd);
		c->timer_fd = -1;
		chardev_close(c);
		return ret ? ret : -EIO;
	}

	switch (backend) {
	case SERIAL_STDIO:
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		/* stdin may be a file or /dev/null that epoll refuses: no input then */
		if (event_loop_add(loop, c->in_fd, EPOLLIN, on_stdin, c) < 0) {
			c->in_fd = -1;
		} else {
			c->in_watched = 1;
			if (isatty(STDIN_FILENO))
				set_raw_terminal();
		}
		break;
	case SERIAL_FILE:
		c->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0) {
			ret = -errno;
			snprintf(msg, msglen, "%s: %s: %s", opt, path, strerror(errno));
		}
		break;
	case SERIAL_UNIX:
		ret = open_unix(c, opt, path, msg, msglen);
		break;
	case SERIAL_PTY:
		ret = open_pty(c, opt, msg, msglen);
		break;
	default:
		break;
	}
	if (ret < 0) {
		chardev_close(c);
		return ret;
	}
	*out = c;
	return 0;
}

void chardev_set_receiver(struct chardev *c, chardev_rx_fn fn, void *opaque)
{
	if (!c)
		return;
	c->rx = fn;
	c->rx_opaque = opaque;
	if (fn)
		flush_pending(c);
}

void chardev_close(struct chardev *c)
{
	if (!c)
		return;
	if (c->in_fd >= 0)
		event_loop_del(c->loop, c->in_fd);
	close_client(c);
	if (c->listen_fd >= 0) {
		event_loop_del(c->loop, c->listen_fd);
		close(c->listen_fd);
		unlink(c->sock_path);
	}
	if (c->timer_fd >= 0) {
		event_loop_del(c->loop, c->timer_fd);
		close(c->timer_fd);
	}
	if ((c->backend == SERIAL_FILE || c->backend == SERIAL_PTY) && c->out_fd >= 0)
		close(c->out_fd);
	if (c->pty_slave_fd >= 0)
		close(c->pty_slave_fd);
	chardev_restore_terminal();
	pthread_mutex_destroy(&c->out_lock);
	free(c);
}
