/* Unit test of the completion batching shared by virtio-blk and virtio-scsi
 * (devices/virtio/reqdev.c over block_engine_defer() in block/engine.c):
 * the requests one block_engine_poll() batch completes raise one interrupt
 * per queue (virtio 1.2 section 2.7.10 leaves when to notify to the device
 * as long as used_event is honoured), and recycled requests (the engine's
 * and the device's pools) keep their data apart. */
#include "devices/virtio/blk.h"
#include "tests/check.h"
#include "tests/virtio_test_ring.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RAM_SIZE 0x100000ULL
#define QSIZE 64
#define DESC  0x1000ULL
#define AVAIL 0x2000ULL
#define USED  0x3000ULL
#define HDR   0x10000ULL   /* 16 bytes per request */
#define STAT  0x11000ULL   /* 1 byte per request */
#define DATA  0x20000ULL   /* 4 KiB per request */
#define NREQ  16
#define DISK  (1u << 20)

static struct guest_memory mem;
static uint8_t *ram;
static struct vtring ring;

/* --- block_engine_defer() on its own. */
static unsigned calls_a, calls_b, done_cbs;
static unsigned a_seen_done;   /* done_cbs when a ran: after the whole batch */

static void fn_a(void *opaque) { (void)opaque; calls_a++; a_seen_done = done_cbs; }
static void fn_b(void *opaque) { (void)opaque; calls_b++; }

static void cb_defer(void *opaque, int ret)
{
	(void)ret;
	done_cbs++;
	block_engine_defer(fn_a, opaque);   /* same pair each time: runs once */
	block_engine_defer(fn_b, &calls_b); /* another pair: runs once too */
	CHECK_EQ(calls_a, 0);               /* not before the batch ends */
}

static void test_defer(void)
{
	struct block_engine *eng;
	int n = 0;

	calls_a = 0;
	block_engine_defer(fn_a, NULL);     /* outside a poll: at once */
	CHECK_EQ(calls_a, 1);
	calls_a = calls_b = done_cbs = 0;
	CHECK_EQ(block_engine_create(&eng, 8, 0), 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(block_engine_complete(eng, cb_defer, NULL, 0), 0);
	/* NOPs finish at submission: one poll runs all five. */
	while (n < 5) {
		int r = block_engine_poll(eng, 1);

		CHECK(r > 0);
		if (r <= 0)
			break;
		n += r;
		CHECK_EQ(calls_a, 1);       /* once per batch, after it */
		CHECK_EQ(a_seen_done, (unsigned)n);
		calls_a = 0;
	}
	CHECK_EQ(calls_b >= 1, 1);
	block_engine_destroy(eng);
}

/* --- virtio-blk: one interrupt per completion batch. */
static void put_read(unsigned i)
{
	uint32_t type = VIRTIO_BLK_T_IN, zero = 0;
	uint64_t sector = (uint64_t)i * 8 * 3 % (DISK / 512);   /* 4 KiB apart, scattered */
	struct vtring_buf b[3] = {
		{ HDR + i * 16, 16, 0 },
		{ DATA + (uint64_t)i * 4096, 4096, 1 },
		{ STAT + i, 1, 1 },
	};

	memcpy(ram + HDR + i * 16, &type, 4);
	memcpy(ram + HDR + i * 16 + 4, &zero, 4);
	memcpy(ram + HDR + i * 16 + 8, &sector, 8);
	ram[STAT + i] = 0xaa;
	memset(ram + DATA + (uint64_t)i * 4096, 0xee, 4096);
	vtring_post(&ring, b, 3);
}

/* One round: NREQ reads in one notification. Returns whether some poll
 * batch completed more than one of them (what the check is about). */
static int round_batch(struct virtio_device *vdev, struct block_engine *eng, const uint8_t *disk,
		       uint16_t *seen)
{
	unsigned batches = 0, done = 0, before = vtring_notifies;
	int multi = 0;

	for (unsigned i = 0; i < NREQ; i++)
		put_read(i);
	vdev->ops->queue_notify(vdev, 0);
	for (int spins = 0; done < NREQ && spins < 10000; spins++) {
		struct pollfd p = { .fd = block_engine_fd(eng), .events = POLLIN };
		int r;

		poll(&p, 1, 1000);
		usleep(20000);               /* let more of them land in the batch */
		r = block_engine_poll(eng, 0);
		CHECK(r >= 0);
		if (r > 0) {
			batches++;
			done += (unsigned)r;
			multi |= r > 1;
		}
	}
	CHECK_EQ(done, NREQ);
	CHECK_EQ((uint16_t)(vtring_used_idx(&ring) - *seen), NREQ);
	/* Without EVENT_IDX the driver wants every used entry signalled: a
	 * notification per batch, not per request. */
	CHECK_EQ(vtring_notifies - before, batches);
	for (unsigned i = 0; i < NREQ; i++) {
		uint64_t sector = (uint64_t)i * 8 * 3 % (DISK / 512);

		CHECK_EQ(ram[STAT + i], VIRTIO_BLK_S_OK);
		CHECK_MEM(ram + DATA + (uint64_t)i * 4096, disk + sector * 512, 4096);
	}
	*seen = vtring_used_idx(&ring);
	return multi;
}

static void test_blk_batch(const char *path, const uint8_t *disk)
{
	struct block_open_opts bo = { .format = "raw" };
	struct block_engine *eng;
	struct block_dev *bs;
	struct virtio_blk *blk;
	struct virtio_device *vdev;
	uint16_t seen = 0;
	int multi = 0;

	CHECK_EQ(block_engine_create(&eng, 32, 0), 0);
	CHECK_EQ(block_open(&bs, path, &bo, eng, NULL), 0);
	CHECK_EQ(virtio_blk_create(&blk, bs, NULL), 0);
	vdev = virtio_blk_device(blk);
	vdev->transport = &vtring_fake_transport;
	vdev->driver_features = (vdev->device_features | (1ull << VIRTIO_F_VERSION_1)) &
				~(1ull << VIRTIO_F_EVENT_IDX);
	virtq_init(&vdev->vq[0], &mem);
	CHECK_EQ(virtq_setup(&vdev->vq[0], QSIZE, DESC, AVAIL, USED, vdev->driver_features), 0);
	vtring_init(&ring, ram, QSIZE, DESC, AVAIL, USED);
	if (vdev->ops->activate)
		CHECK_EQ(vdev->ops->activate(vdev), 0);
	/* Several rounds: the requests (and the engine's) are recycled from
	 * the second one on; the data must still land in the right buffers.
	 * A loaded machine may complete one request per poll: go on until a
	 * batch had several (bounded). */
	for (int i = 0; i < 4 || (!multi && i < 40); i++)
		multi |= round_batch(vdev, eng, disk, &seen);
	CHECK(multi);
	virtio_blk_destroy(blk);
	block_close(bs);
	block_engine_destroy(eng);
}

int main(void)
{
	char path[] = "/var/tmp/test_virtio_blk_batch.XXXXXX";
	uint8_t *disk = malloc(DISK);
	int fd;

	test_defer();
	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	CHECK_EQ(guest_memory_add_region(&mem, 0, RAM_SIZE, ram), 0);
	for (unsigned i = 0; i < DISK; i++)
		disk[i] = (uint8_t)(i * 131 + i / 4096);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, disk, DISK), (ssize_t)DISK);
	test_blk_batch(path, disk);
	close(fd);
	unlink(path);
	free(ram);
	free(disk);
	return check_done();
}
