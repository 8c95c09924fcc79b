/* Unit test of the tap helper (devices/virtio/tap.c) on a real tap inside a
 * fresh network namespace: vnet-header frames written to the tap arrive at a
 * packet socket on the interface and back; busy taps, multi-queue, offloads.
 * Exits 77 (skipped) where namespaces or /dev/net/tun are not permitted. */
#include "devices/virtio/tap.h"
#include "tests/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ETHERTYPE_TEST 0x88b5   /* IEEE local experimental */

static int link_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

static void make_frame(uint8_t *f, uint8_t tag)
{
	static const uint8_t src[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	for (int i = 14; i < 64; i++)
		f[i] = (uint8_t)(tag + i);
}

/* Reads from fd until a frame of our ethertype (at offset skip) or timeout. */
static ssize_t read_test_frame(int fd, uint8_t *buf, size_t len, size_t skip)
{
	for (int tries = 0; tries < 50; tries++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf, len);
		if (n >= (ssize_t)(skip + 14) && buf[skip + 12] == (ETHERTYPE_TEST >> 8) &&
		    buf[skip + 13] == (ETHERTYPE_TEST & 0xff))
			return n;
	}
	return -1;
}

static int run(void)
{
	struct tap *t, *t2, *mq;
	uint8_t frame[64], buf[2048];
	struct sockaddr_ll sll;
	int ps, ret;

	ret = tap_open(&t, "vmmtap0", 1);
	if (ret == -EPERM || ret == -EACCES || ret == -ENOENT || ret == -ENODEV) {
		printf("skip: %s\n", tap_strerror(ret));
		return 77;
	}
	CHECK_EQ(ret, 0);
	if (ret)
		return check_done();
	CHECK_STR(tap_ifname(t), "vmmtap0");
	CHECK_EQ(tap_queues(t), 1);
	CHECK(tap_fd(t, 0) >= 0);
	CHECK_EQ(tap_fd(t, 1), -1);

	/* Attached elsewhere: busy, with a message that says so. */
	CHECK_EQ(tap_open(&t2, "vmmtap0", 1), -EBUSY);
	CHECK(strstr(tap_strerror(-EBUSY), "busy") != NULL);
	CHECK(strstr(tap_strerror(-ENOENT), "/dev/net/tun") != NULL);
	CHECK(strstr(tap_strerror(-EPERM), "CAP_NET_ADMIN") != NULL);
	CHECK_EQ(tap_open(&t2, "a-name-longer-than-ifnamsiz", 1), -EINVAL);
	CHECK_EQ(tap_open(&t2, "x", 0), -EINVAL);

	CHECK_EQ(tap_set_offload(t, TAP_OFFLOAD_CSUM | TAP_OFFLOAD_TSO4 | TAP_OFFLOAD_TSO6), 0);
	CHECK_EQ(tap_set_offload(t, 0), 0);
	CHECK_EQ(link_up("vmmtap0"), 0);

	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETHERTYPE_TEST));
	CHECK(ps >= 0);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETHERTYPE_TEST);
	sll.sll_ifindex = (int)if_nametoindex("vmmtap0");
	CHECK(sll.sll_ifindex > 0);
	CHECK_EQ(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);

	/* Guest to host: vnet header + frame written to the tap. */
	memset(buf, 0, TAP_VNET_HDR_LEN);
	make_frame(frame, 1);
	memcpy(buf + TAP_VNET_HDR_LEN, frame, sizeof(frame));
	CHECK_EQ(write(tap_fd(t, 0), buf, TAP_VNET_HDR_LEN + sizeof(frame)), TAP_VNET_HDR_LEN + (ssize_t)sizeof(frame));
	CHECK_EQ(read_test_frame(ps, buf, sizeof(buf), 0), (ssize_t)sizeof(frame));
	CHECK_MEM(buf, frame, sizeof(frame));

	/* Host to guest: the tap hands over a 12-byte header first. */
	make_frame(frame, 2);
	CHECK_EQ(send(ps, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	CHECK_EQ(read_test_frame(tap_fd(t, 0), buf, sizeof(buf), TAP_VNET_HDR_LEN),
		 TAP_VNET_HDR_LEN + (ssize_t)sizeof(frame));
	CHECK_MEM(buf + TAP_VNET_HDR_LEN, frame, sizeof(frame));
	CHECK_EQ(buf[1], 0);   /* gso_type NONE */
	close(ps);

	/* Multi-queue: one fd per queue, queues can be detached. */
	CHECK_EQ(tap_open(&mq, "vmmmq0", 3), 0);
	if (mq) {
		CHECK_EQ(tap_queues(mq), 3);
		CHECK(tap_fd(mq, 2) >= 0 && tap_fd(mq, 2) != tap_fd(mq, 0));
		CHECK_EQ(tap_set_queue_enabled(mq, 2, 0), 0);
		CHECK_EQ(tap_set_queue_enabled(mq, 2, 1), 0);
		CHECK_EQ(tap_set_queue_enabled(mq, 3, 1), -EINVAL);
		/* A single-queue open of a multi-queue tap is refused. */
		CHECK_EQ(tap_open(&t2, "vmmmq0", 1), -EBUSY);
		tap_close(mq);
	}
	/* The single-queue tap does not do TUNSETQUEUE. */
	CHECK(tap_set_queue_enabled(t, 0, 1) < 0);
	tap_close(t);
	/* Closed: the name is free again (non-persistent taps vanish). */
	CHECK_EQ(tap_open(&t, "vmmtap0", 1), 0);
	tap_close(t);
	return check_done();
}

int main(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 1;
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0) {
			printf("skip: cannot create a network namespace: %s\n", strerror(errno));
			fflush(stdout);
			_exit(77);
		}
		status = run();
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}
