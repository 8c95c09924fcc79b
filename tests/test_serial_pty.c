/* -serial pty (vmm/chardev.c): the path QEMU-style on stderr, output
 * reaches a client of the slave, input reaches the receiver, and a client
 * may leave and another come (vmm holds the slave, so no HUP loop). */
#include "vmm/chardev.h"
#include "vmm/event_loop.h"
#include "tests/check.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static char got[256];
static size_t ngot;

static size_t rx(void *opaque, const uint8_t *buf, size_t len)
{
	if (len > sizeof(got) - ngot)
		len = sizeof(got) - ngot;
	memcpy(got + ngot, buf, len);
	ngot += len;
	return len;
}

static int read_some(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 2000) <= 0)
		return -1;
	return (int)read(fd, buf, len);
}

int main(void)
{
	struct event_loop *loop;
	CHECK_EQ(event_loop_create(&loop), 0);
	/* Catch the "char device redirected to" line. */
	int p[2];
	CHECK(pipe(p) == 0);
	int saved = dup(2);
	dup2(p[1], 2);
	struct chardev *c = NULL;
	char msg[256];
	int ret = chardev_open(&c, "-serial", SERIAL_PTY, NULL, loop, NULL, NULL, msg, sizeof(msg));
	fflush(stderr);
	dup2(saved, 2);
	close(p[1]);
	CHECK_EQ(ret, 0);
	char line[256] = "";
	ssize_t n = read(p[0], line, sizeof(line) - 1);
	CHECK(n > 0);
	char path[128] = "";
	CHECK_EQ(sscanf(line, "char device redirected to %127s (label serial0)", path), 1);
	CHECK(strncmp(path, "/dev/pts/", 9) == 0);
	chardev_set_receiver(c, rx, NULL);

	for (int round = 0; round < 2; round++) {
		int s = open(path, O_RDWR | O_NOCTTY);
		CHECK(s >= 0);
		struct termios t;
		tcgetattr(s, &t);
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
		chardev_write(c, (const uint8_t *)"hello\n", 6);
		char buf[64] = "";
		int r = read_some(s, buf, sizeof(buf) - 1);
		CHECK_EQ(r, 6);
		CHECK_STR(buf, "hello\n");
		ngot = 0;
		CHECK_EQ(write(s, "abc", 3), 3);
		for (int i = 0; i < 100 && ngot < 3; i++)
			event_loop_run_once(loop, 20);
		CHECK_EQ(ngot, 3);
		CHECK_MEM(got, "abc", 3);
		close(s);
		/* The client left: the loop must not spin on HUP. */
		int busy = 0;
		for (int i = 0; i < 5; i++)
			busy += event_loop_run_once(loop, 20) > 0;
		CHECK_EQ(busy, 0);
	}
	chardev_close(c);
	event_loop_destroy(loop);
	return check_done();
}
