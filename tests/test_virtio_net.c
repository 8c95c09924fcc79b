/* Unit test of virtio-net (devices/virtio/net.c, virtio 1.2 section 5.1): the
 * tap is a SOCK_SEQPACKET socketpair (one frame with its vnet header per
 * message, like a tap fd); the test drives split rings in guest memory and
 * the event loop: TX frames reach the peer byte for byte, RX frames land in
 * guest buffers (merged with num_buffers under MRG_RXBUF), MQ via the
 * control queue, malformed RX chains set NEEDS_RESET. */
#include "devices/virtio/net.h"
#include "tests/check.h"
#include "tests/virtio_test_ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RAM_SIZE 0x200000ULL
#define QSIZE 16
#define RING(i) (0x1000ULL + (uint64_t)(i) * 0x1000)   /* desc, avail +0x100, used +0x200... */
#define BUF 0x100000ULL

static struct guest_memory mem;
static uint8_t *ram;
static uint16_t seen[8];

/* Ring q: descriptors at RING(q), avail at +0x200, used at +0x400; the
 * driver's side is tests/virtio_test_ring.h. */
static struct vtring rings[8];

static void post(unsigned q, const struct vtring_buf *b, int n) { vtring_post(&rings[q], b, n); }
static uint16_t used_idx(unsigned q) { return vtring_used_idx(&rings[q]); }
static void used_elem(unsigned q, uint16_t i, uint32_t *id, uint32_t *len) { vtring_used_elem(&rings[q], i, id, len); }

struct rig {
	struct event_loop *loop;
	struct tap *tap;
	struct virtio_net *net;
	struct virtio_device *vdev;
	int peer[2];
};

static void rig_init(struct rig *r, unsigned pairs, uint64_t features)
{
	int fds[2];

	memset(r, 0, sizeof(*r));
	memset(ram, 0, 0x10000);
	for (unsigned q = 0; q < 8; q++)
		vtring_init(&rings[q], ram, QSIZE, RING(q), RING(q) + 0x200, RING(q) + 0x400);
	memset(seen, 0, sizeof(seen));
	CHECK_EQ(event_loop_create(&r->loop), 0);
	for (unsigned i = 0; i < pairs; i++) {
		int sv[2];

		CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
		fds[i] = sv[0];
		r->peer[i] = sv[1];
	}
	CHECK_EQ(tap_open_fds(&r->tap, fds, pairs), 0);
	CHECK_EQ(virtio_net_create(&r->net, r->tap, r->loop, NULL), 0);
	r->vdev = virtio_net_device(r->net);
	r->vdev->transport = &vtring_fake_transport;
	r->vdev->driver_features = (r->vdev->device_features & features) | (1ull << VIRTIO_F_VERSION_1);
	for (unsigned q = 0; q < r->vdev->num_queues; q++) {
		virtq_init(&r->vdev->vq[q], &mem);
		CHECK_EQ(virtq_setup(&r->vdev->vq[q], QSIZE, RING(q), RING(q) + 0x200, RING(q) + 0x400,
				     r->vdev->driver_features), 0);
	}
	CHECK_EQ(r->vdev->ops->activate(r->vdev), 0);
}

static void rig_fini(struct rig *r, unsigned pairs)
{
	r->vdev->ops->reset(r->vdev);
	virtio_net_destroy(r->net);
	tap_close(r->tap);
	for (unsigned i = 0; i < pairs; i++)
		close(r->peer[i]);
	event_loop_destroy(r->loop);
}

/* Runs the loop until ring q has want used entries (or a bound). */
static void spin(struct rig *r, unsigned q, uint16_t want)
{
	for (int i = 0; i < 50 && used_idx(q) != want; i++)
		event_loop_run_once(r->loop, 20);
	for (int i = 0; i < 3; i++)
		event_loop_run_once(r->loop, 0);
}

static void test_single(void)
{
	const uint64_t feat = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
			      (1ull << VIRTIO_NET_F_MRG_RXBUF) | (1ull << VIRTIO_NET_F_CSUM);
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	const struct virtio_net_config *cfg;
	uint8_t frame[2000], got[2000];
	uint32_t id, len;
	uint16_t nb;
	struct rig r;

	rig_init(&r, 1, feat);
	cfg = r.vdev->config;
	CHECK_EQ(r.vdev->device_id, VIRTIO_ID_NET);
	CHECK_EQ(r.vdev->num_queues, 2);
	CHECK_MEM(cfg->mac, mac, 6);
	CHECK_EQ(cfg->status, VIRTIO_NET_S_LINK_UP);
	CHECK(r.vdev->device_features & (1ull << VIRTIO_NET_F_MRG_RXBUF));
	CHECK(!(r.vdev->device_features & (1ull << VIRTIO_NET_F_MQ)));
	/* A socket cannot take TUNSETOFFLOAD: no guest offloads offered. */
	CHECK(!(r.vdev->device_features & (1ull << VIRTIO_NET_F_GUEST_CSUM)));

	/* TX: header + frame over two descriptors goes out as one message. */
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 5 + 3);
	memset(ram + BUF, 0, 12);
	ram[BUF] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	memcpy(ram + BUF + 12, frame, 100);
	{
		struct vtring_buf b[] = { { BUF, 12, 0 }, { BUF + 12, 40, 0 }, { BUF + 52, 60, 0 } };

		post(1, b, 3);
	}
	r.vdev->ops->queue_notify(r.vdev, 1);
	CHECK_EQ(used_idx(1), 1);
	CHECK_EQ(recv(r.peer[0], got, sizeof(got), MSG_DONTWAIT), 112);
	CHECK_MEM(got, ram + BUF, 112);
	/* A chain shorter than the header is dropped but returned. */
	{
		struct vtring_buf b[] = { { BUF, 8, 0 } };

		post(1, b, 1);
	}
	r.vdev->ops->queue_notify(r.vdev, 1);
	CHECK_EQ(used_idx(1), 2);
	CHECK_EQ(recv(r.peer[0], got, sizeof(got), MSG_DONTWAIT), -1);

	/* RX with no buffers: the frame waits, then lands when buffers come. */
	memset(got, 0, 12);
	got[0] = 0xff;   /* flags: cleared without GUEST_CSUM (5.1.6.3.2) */
	memcpy(got + 12, frame, 100);
	CHECK_EQ(send(r.peer[0], got, 112, 0), 112);
	spin(&r, 0, 1);
	CHECK_EQ(used_idx(0), 0);
	{
		struct vtring_buf b[] = { { BUF + 0x1000, 2048, 1 } };

		memset(ram + BUF + 0x1000, 0xee, 2048);
		post(0, b, 1);
	}
	r.vdev->ops->queue_notify(r.vdev, 0);
	spin(&r, 0, 1);
	CHECK_EQ(used_idx(0), 1);
	used_elem(0, 0, &id, &len);
	CHECK_EQ(id, 0);
	CHECK_EQ(len, 112);
	CHECK_EQ(ram[BUF + 0x1000], 0);
	memcpy(&nb, ram + BUF + 0x1000 + 10, 2);
	CHECK_EQ(nb, 1);
	CHECK_MEM(ram + BUF + 0x1000 + 12, frame, 100);
	CHECK(vtring_notifies > 0);

	/* MRG_RXBUF: a 612-byte frame over three 256-byte chains. */
	for (int i = 0; i < 4; i++) {
		struct vtring_buf b[] = { { BUF + 0x2000 + 0x100 * (uint64_t)i, 256, 1 } };

		post(0, b, 1);
	}
	r.vdev->ops->queue_notify(r.vdev, 0);
	memcpy(got + 12, frame, 600);
	got[0] = 0;
	CHECK_EQ(send(r.peer[0], got, 612, 0), 612);
	spin(&r, 0, 4);
	CHECK_EQ(used_idx(0), 4);
	{
		uint32_t l[3];

		for (int i = 0; i < 3; i++)
			used_elem(0, (uint16_t)(1 + i), &id, &l[i]);
		CHECK_EQ(l[0], 256);
		CHECK_EQ(l[1], 256);
		CHECK_EQ(l[2], 100);
		memcpy(&nb, ram + BUF + 0x2000 + 10, 2);
		CHECK_EQ(nb, 3);
		CHECK_MEM(ram + BUF + 0x2000 + 12, frame, 600);
	}
	/* The fourth chain is still there for the next frame. */
	CHECK_EQ(send(r.peer[0], got, 60, 0), 60);
	spin(&r, 0, 5);
	CHECK_EQ(used_idx(0), 5);
	used_elem(0, 4, &id, &len);
	CHECK_EQ(len, 60);

	/* A malformed RX chain (nothing writable): NEEDS_RESET, no crash. */
	{
		struct vtring_buf b[] = { { BUF + 0x3000, 64, 0 } };

		post(0, b, 1);
	}
	CHECK_EQ(send(r.peer[0], got, 60, 0), 60);
	r.vdev->ops->queue_notify(r.vdev, 0);
	spin(&r, 0, 6);
	CHECK_EQ(vtring_needs_reset, 1);
	CHECK_EQ(used_idx(0), 5);
	rig_fini(&r, 1);
}

static void test_no_mrg(void)
{
	uint8_t got[600] = { 0 };
	uint32_t id, len;
	uint16_t nb;
	struct rig r;

	rig_init(&r, 1, 1ull << VIRTIO_NET_F_MAC);
	/* Without MRG_RXBUF a chain must hold the frame: a short one gets it
	 * truncated, num_buffers is 1 (5.1.6.3.2). */
	{
		struct vtring_buf b[] = { { BUF, 12, 1 }, { BUF + 12, 200, 1 } };

		post(0, b, 2);
	}
	r.vdev->ops->queue_notify(r.vdev, 0);
	memset(got + 12, 0x77, 500);
	CHECK_EQ(send(r.peer[0], got, 512, 0), 512);
	spin(&r, 0, 1);
	CHECK_EQ(used_idx(0), 1);
	used_elem(0, 0, &id, &len);
	CHECK_EQ(len, 212);
	memcpy(&nb, ram + BUF + 10, 2);
	CHECK_EQ(nb, 1);
	CHECK_EQ(ram[BUF + 12], 0x77);
	rig_fini(&r, 1);
}

static void test_mq(void)
{
	const uint64_t feat = (1ull << VIRTIO_NET_F_MQ) | (1ull << VIRTIO_NET_F_CTRL_VQ) |
			      (1ull << VIRTIO_NET_F_MRG_RXBUF);
	uint8_t msg[100] = { 0 };
	struct rig r;

	vtring_needs_reset = 0;
	rig_init(&r, 2, feat);
	CHECK_EQ(r.vdev->num_queues, 5);
	CHECK_EQ(((const struct virtio_net_config *)r.vdev->config)->max_virtqueue_pairs, 2);

	/* Pair 1 is idle until the driver sets 2 pairs. */
	{
		struct vtring_buf b[] = { { BUF + 0x4000, 1024, 1 } };

		post(2, b, 1);
	}
	CHECK_EQ(send(r.peer[1], msg, 80, 0), 80);
	r.vdev->ops->queue_notify(r.vdev, 2);
	spin(&r, 2, 1);
	CHECK_EQ(used_idx(2), 0);

	/* VQ_PAIRS_SET 3: refused; 2: accepted, and the waiting frame lands. */
	for (int pairs = 3; pairs >= 2; pairs--) {
		uint8_t cmd[4] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, (uint8_t)pairs, 0 };
		struct vtring_buf b[] = { { BUF + 0x5000, 4, 0 }, { BUF + 0x5010, 1, 1 } };

		memcpy(ram + BUF + 0x5000, cmd, 4);
		ram[BUF + 0x5010] = 0xaa;
		post(4, b, 2);
		r.vdev->ops->queue_notify(r.vdev, 4);
		CHECK_EQ(ram[BUF + 0x5010], pairs == 2 ? VIRTIO_NET_OK : VIRTIO_NET_ERR);
	}
	CHECK_EQ(used_idx(4), 2);
	spin(&r, 2, 1);
	CHECK_EQ(used_idx(2), 1);

	/* TX on pair 1 goes to the second fd. */
	memset(ram + BUF, 0, 12);
	memset(ram + BUF + 12, 0x42, 50);
	{
		struct vtring_buf b[] = { { BUF, 62, 0 } };

		post(3, b, 1);
	}
	r.vdev->ops->queue_notify(r.vdev, 3);
	CHECK_EQ(recv(r.peer[1], msg, sizeof(msg), MSG_DONTWAIT), 62);
	CHECK_EQ(recv(r.peer[0], msg, sizeof(msg), MSG_DONTWAIT), -1);
	CHECK_EQ(vtring_needs_reset, 0);
	rig_fini(&r, 2);
}

int main(void)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	CHECK_EQ(guest_memory_add_region(&mem, 0, RAM_SIZE, ram), 0);
	test_single();
	test_no_mrg();
	test_mq();
	free(ram);
	return check_done();
}
