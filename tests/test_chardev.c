/* Tests for vmm/chardev.c without a terminal: the unix-socket backend (one
 * client at a time, output dropped without a client, input with
 * back-pressure through the retry timer) and file output. */
#include "tests/check.h"
#include "vmm/chardev.h"
#include "vmm/event_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct sink {
	uint8_t buf[256];
	size_t len;
	size_t per_call;    /* accept at most this many per call (FIFO space) */
	unsigned calls;
};

static size_t sink_rx(void *opaque, const uint8_t *b, size_t n)
{
	struct sink *s = opaque;
	s->calls++;
	if (n > s->per_call)
		n = s->per_call;
	if (n > sizeof(s->buf) - s->len)
		n = sizeof(s->buf) - s->len;
	memcpy(s->buf + s->len, b, n);
	s->len += n;
	return n;
}

static int quits;
static void on_quit(void *opaque) { quits++; }

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void spin(struct event_loop *loop, int rounds)
{
	for (int i = 0; i < rounds; i++)
		event_loop_run_once(loop, 5);
}

static void test_unix(const char *dir)
{
	char path[256], msg[256];
	snprintf(path, sizeof(path), "%s/serial.sock", dir);
	struct event_loop *loop;
	CHECK_EQ(event_loop_create(&loop), 0);
	struct chardev *c = NULL;
	quits = 0;
	CHECK_EQ(chardev_open(&c, "-serial", SERIAL_UNIX, path, loop, on_quit, NULL, msg, sizeof(msg)), 0);
	if (!c)
		return;
	chardev_write(c, (const uint8_t *)"lost", 4);   /* no client: dropped */

	int cl = connect_to(path);
	CHECK(cl >= 0);
	spin(loop, 3);                                   /* accept */
	chardev_write(c, (const uint8_t *)"hello", 5);
	char got[16] = { 0 };
	CHECK_EQ(read(cl, got, sizeof(got)), 5);
	CHECK_STR(got, "hello");

	/* a second client is refused while the first is connected */
	int cl2 = connect_to(path);
	CHECK(cl2 >= 0);
	spin(loop, 3);
	CHECK_EQ(read(cl2, got, sizeof(got)), 0);
	close(cl2);

	/* input: held without a receiver, then delivered 3 bytes at a time;
	 * Ctrl-A is data here (escapes belong to stdio) */
	struct sink s = { .per_call = 3 };
	const char in[] = "abcdefghij\x01x";
	CHECK_EQ(write(cl, in, sizeof(in) - 1), (long)(sizeof(in) - 1));
	spin(loop, 3);
	chardev_set_receiver(c, sink_rx, &s);
	for (int i = 0; i < 50 && s.len < sizeof(in) - 1; i++)
		spin(loop, 1);
	CHECK_EQ(s.len, sizeof(in) - 1);
	CHECK_MEM(s.buf, in, sizeof(in) - 1);
	CHECK(s.calls >= 4);
	CHECK_EQ(quits, 0);

	/* client goes away, a new one is served */
	close(cl);
	spin(loop, 3);
	cl = connect_to(path);
	spin(loop, 3);
	chardev_write(c, (const uint8_t *)"again", 5);
	memset(got, 0, sizeof(got));
	CHECK_EQ(read(cl, got, sizeof(got)), 5);
	CHECK_STR(got, "again");
	close(cl);
	chardev_close(c);
	CHECK_EQ(access(path, F_OK), -1);                /* socket removed */
	event_loop_destroy(loop);
}

static void test_file(const char *dir)
{
	char path[256], msg[256];
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	struct event_loop *loop;
	CHECK_EQ(event_loop_create(&loop), 0);
	struct chardev *c = NULL;
	CHECK_EQ(chardev_open(&c, "-serial", SERIAL_FILE, path, loop, on_quit, NULL, msg, sizeof(msg)), 0);
	chardev_write(c, (const uint8_t *)"line\n", 5);
	chardev_close(c);
	char got[16] = { 0 };
	int fd = open(path, O_RDONLY);
	CHECK_EQ(read(fd, got, sizeof(got)), 5);
	CHECK_STR(got, "line\n");
	close(fd);

	snprintf(path, sizeof(path), "%s/missing/out.txt", dir);
	c = NULL;
	CHECK_EQ(chardev_open(&c, "-serial", SERIAL_FILE, path, loop, on_quit, NULL, msg, sizeof(msg)), -ENOENT);
	CHECK(c == NULL);
	char want[320];
	snprintf(want, sizeof(want), "-serial: %s: No such file or directory", path);
	CHECK_STR(msg, want);
	/* the message names the option the caller gives, not always -serial */
	CHECK_EQ(chardev_open(&c, "-debugcon", SERIAL_FILE, path, loop, NULL, NULL, msg, sizeof(msg)),
		 -ENOENT);
	CHECK(c == NULL);
	snprintf(want, sizeof(want), "-debugcon: %s: No such file or directory", path);
	CHECK_STR(msg, want);
	event_loop_destroy(loop);
}

/* stdio on pipes (not a tty, so no raw mode): QEMU's Ctrl-A escapes. */
static void test_stdio_mux(void)
{
	int in[2], out[2];
	CHECK_EQ(pipe(in), 0);
	CHECK_EQ(pipe(out), 0);
	int saved_in = dup(0), saved_out = dup(1);
	dup2(in[0], 0);
	dup2(out[1], 1);
	struct event_loop *loop;
	CHECK_EQ(event_loop_create(&loop), 0);
	struct chardev *c = NULL;
	char msg[256];
	CHECK_EQ(chardev_open(&c, "-serial", SERIAL_STDIO, NULL, loop, on_quit, NULL, msg, sizeof(msg)), 0);
	struct sink s = { .per_call = 100 };
	chardev_set_receiver(c, sink_rx, &s);
	quits = 0;
	const char keys[] = "ab\x01\x01" "c\x01hd\x01zq\x01x";
	CHECK_EQ(write(in[1], keys, sizeof(keys) - 1), (long)(sizeof(keys) - 1));
	spin(loop, 5);
	CHECK_EQ(s.len, 6);
	CHECK_MEM(s.buf, "ab\x01" "cdq", 6);       /* C-a C-a -> C-a; C-a z dropped */
	CHECK_EQ(quits, 1);
	chardev_write(c, (const uint8_t *)"OUT", 3);
	chardev_close(c);
	event_loop_destroy(loop);
	dup2(saved_in, 0);
	dup2(saved_out, 1);
	close(saved_in);
	close(saved_out);
	close(in[0]);
	close(in[1]);
	close(out[1]);
	char got[512] = { 0 };
	ssize_t n = read(out[0], got, sizeof(got) - 1);
	close(out[0]);
	CHECK(n > 0);
	CHECK(strstr(got, "C-a x    exit emulator") != NULL);
	CHECK(strstr(got, "OUT") != NULL);
}

int main(void)
{
	test_stdio_mux();
	char dir[] = "/tmp/test_chardev.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_unix(dir);
	test_file(dir);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_done();
}
