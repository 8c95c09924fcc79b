/* Unit test of virtio-blk (devices/virtio/blk.c, virtio 1.2 section 5.2):
 * the test plays the driver on a split ring in real guest memory (vmm/memory.h,
 * devices/virtio/queue.h) over a raw temp file, and a stand-in transport that
 * records interrupts and NEEDS_RESET. Checks statuses, used lengths, data and
 * the file's bytes. */
#include "devices/virtio/blk.h"
#include "tests/check.h"
#include "tests/virtio_test_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RAM_SIZE 0x100000ULL
#define QSIZE 16
#define DESC  0x1000ULL
#define AVAIL 0x2000ULL
#define USED  0x3000ULL
#define HDR   0x10000ULL   /* request headers */
#define STAT  0x11000ULL   /* status bytes */
#define DATA  0x20000ULL   /* data buffers */
#define DISK  (1u << 20)

static struct guest_memory mem;
static uint8_t *ram;
/* Ring i at + i * 0x4000; the driver's side is tests/virtio_test_ring.h. */
static struct vtring rings[VIRTIO_MAX_QUEUES];

static void post(unsigned ring, const struct vtring_buf *b, int n) { vtring_post(&rings[ring], b, n); }
static uint16_t used_idx(unsigned ring) { return vtring_used_idx(&rings[ring]); }
static uint32_t used_len(unsigned ring, uint16_t i) { return vtring_used_len(&rings[ring], i); }

static void put_hdr(uint64_t gpa, uint32_t type, uint64_t sector)
{
	uint32_t zero = 0;

	memcpy(ram + gpa, &type, 4);
	memcpy(ram + gpa + 4, &zero, 4);
	memcpy(ram + gpa + 8, &sector, 8);
}

struct rig {
	struct block_engine *eng;
	struct block_dev *bs;
	struct virtio_blk *blk;
	struct virtio_device *vdev;
	uint16_t seen[2];
};

static void setup_queues(struct rig *r)
{
	for (unsigned i = 0; i < r->vdev->num_queues; i++) {
		uint64_t base = (uint64_t)i * 0x4000;

		virtq_init(&r->vdev->vq[i], &mem);
		CHECK_EQ(virtq_setup(&r->vdev->vq[i], QSIZE, base + DESC, base + AVAIL, base + USED,
				     r->vdev->driver_features), 0);
		memset(ram + base, 0, 0x4000);
		vtring_init(&rings[i], ram, QSIZE, base + DESC, base + AVAIL, base + USED);
		r->seen[i] = 0;
	}
}

static void rig_init(struct rig *r, const char *path, const struct virtio_blk_opts *opts, int read_only)
{
	struct block_open_opts bo = { .format = "raw", .read_only = read_only };

	memset(r, 0, sizeof(*r));
	CHECK_EQ(block_engine_create(&r->eng, 32, 0), 0);
	CHECK_EQ(block_open(&r->bs, path, &bo, r->eng, NULL), 0);
	CHECK_EQ(virtio_blk_create(&r->blk, r->bs, opts), 0);
	r->vdev = virtio_blk_device(r->blk);
	r->vdev->transport = &vtring_fake_transport;
	r->vdev->driver_features = r->vdev->device_features | (1ull << VIRTIO_F_VERSION_1);
	setup_queues(r);
	if (r->vdev->ops->activate)
		CHECK_EQ(r->vdev->ops->activate(r->vdev), 0);
}

static void rig_fini(struct rig *r)
{
	virtio_blk_destroy(r->blk);
	block_close(r->bs);
	block_engine_destroy(r->eng);
}

/* Kicks ring, then polls the engine until one more used entry appears.
 * Returns the used length; *status gets the status byte at STAT + slot. */
static void poll_engine(void *eng) { block_engine_poll(eng, 1); }

static uint32_t run(struct rig *r, unsigned ring)
{
	CHECK_EQ(vtring_kick_wait(&rings[ring], r->vdev, ring, r->seen[ring], poll_engine, r->eng),
		 (uint16_t)(r->seen[ring] + 1));
	return used_len(ring, r->seen[ring]++);
}

/* One request: header, out data (len out_len at DATA), in data
 * (in_len at DATA + 0x10000), status byte. */
static uint32_t request(struct rig *r, unsigned ring, uint32_t type, uint64_t sector,
			uint32_t out_len, uint32_t in_len)
{
	struct vtring_buf b[4];
	int n = 0;

	put_hdr(HDR, type, sector);
	ram[STAT] = 0xaa;
	b[n++] = (struct vtring_buf){ HDR, 16, 0 };
	if (out_len)
		b[n++] = (struct vtring_buf){ DATA, out_len, 0 };
	if (in_len)
		b[n++] = (struct vtring_buf){ DATA + 0x10000, in_len, 1 };
	b[n++] = (struct vtring_buf){ STAT, 1, 1 };
	post(ring, b, n);
	return run(r, ring);
}

static void test_basic(const char *path, int fd)
{
	struct virtio_blk_opts opts = { .serial = "vmm-serial-0123456789abc" };
	const struct virtio_blk_config *cfg;
	uint8_t file[4096];
	struct rig r;

	rig_init(&r, path, &opts, 0);
	cfg = r.vdev->config;
	CHECK_EQ(r.vdev->device_id, VIRTIO_ID_BLOCK);
	CHECK_EQ(r.vdev->config_size, 60 + 12);
	CHECK_EQ(cfg->capacity, DISK / 512);
	CHECK_EQ(cfg->seg_max, 254);
	CHECK_EQ(cfg->blk_size, 512);
	CHECK_EQ(cfg->num_queues, 1);
	CHECK_EQ(cfg->max_discard_seg, 1);
	CHECK(r.vdev->device_features & (1ull << VIRTIO_BLK_F_FLUSH));
	CHECK(r.vdev->device_features & (1ull << VIRTIO_BLK_F_DISCARD));
	CHECK(r.vdev->device_features & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
	CHECK(!(r.vdev->device_features & (1ull << VIRTIO_BLK_F_RO)));

	/* Write 2 sectors at sector 3, data split over two descriptors and
	 * the header over two more. */
	for (int i = 0; i < 1024; i++)
		ram[DATA + i] = (uint8_t)(i * 3 + 1);
	put_hdr(HDR, VIRTIO_BLK_T_OUT, 3);
	ram[STAT] = 0xaa;
	{
		struct vtring_buf b[] = { { HDR, 8, 0 }, { HDR + 8, 8, 0 }, { DATA, 700, 0 },
				   { DATA + 700, 324, 0 }, { STAT, 1, 1 } };

		post(0, b, 5);
	}
	CHECK_EQ(run(&r, 0), 1);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_OK);
	CHECK(vtring_notifies > 0);
	CHECK_EQ(pread(fd, file, 1024, 3 * 512), 1024);
	CHECK_MEM(file, ram + DATA, 1024);

	/* Read it back, with the status byte sharing the last in-buffer. */
	memset(ram + DATA + 0x10000, 0, 2048);
	put_hdr(HDR, VIRTIO_BLK_T_IN, 3);
	{
		struct vtring_buf b[] = { { HDR, 16, 0 }, { DATA + 0x10000, 512, 1 }, { DATA + 0x10200, 513, 1 } };

		post(0, b, 3);
	}
	CHECK_EQ(run(&r, 0), 1025);
	CHECK_MEM(ram + DATA + 0x10000, ram + DATA, 1024);
	CHECK_EQ(ram[DATA + 0x10000 + 1024], VIRTIO_BLK_S_OK);

	CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0), 1);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_OK);

	/* GET_ID: 20 bytes, no terminator when the serial fills them. */
	memset(ram + DATA + 0x10000, 0xff, 32);
	CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_GET_ID, 0, 0, 20), 21);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_OK);
	CHECK_MEM(ram + DATA + 0x10000, "vmm-serial-012345678", 20);
	CHECK_EQ(ram[DATA + 0x10000 + 20], 0xff);

	/* Discard sector 3, write-zeroes (unmap) sector 4. */
	{
		struct blk_dwz { uint64_t sector; uint32_t num, flags; } seg = { 3, 1, 0 };

		memcpy(ram + DATA, &seg, sizeof(seg));
		CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_DISCARD, 0, 16, 0), 1);
		CHECK_EQ(ram[STAT], VIRTIO_BLK_S_OK);
		seg = (struct blk_dwz){ 4, 1, VIRTIO_BLK_WZ_F_UNMAP };
		memcpy(ram + DATA, &seg, sizeof(seg));
		CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, 0), 1);
		CHECK_EQ(ram[STAT], VIRTIO_BLK_S_OK);
		CHECK_EQ(pread(fd, file, 1024, 3 * 512), 1024);
		{
			static const uint8_t zero[1024];

			CHECK_MEM(file, zero, 1024);
		}
		/* Discard with the unmap flag is not allowed (5.2.6.2). */
		seg = (struct blk_dwz){ 3, 1, VIRTIO_BLK_WZ_F_UNMAP };
		memcpy(ram + DATA, &seg, sizeof(seg));
		CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_DISCARD, 0, 16, 0), 1);
		CHECK_EQ(ram[STAT], VIRTIO_BLK_S_UNSUPP);
		/* Past the end. */
		seg = (struct blk_dwz){ DISK / 512 - 1, 2, 0 };
		memcpy(ram + DATA, &seg, sizeof(seg));
		CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, 0), 1);
		CHECK_EQ(ram[STAT], VIRTIO_BLK_S_IOERR);
	}

	/* Past the end, overflowing sector numbers, partial sectors. */
	CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_IN, DISK / 512 - 1, 0, 1024), 1025);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_OUT, DISK / 512, 0 + 512, 0), 1);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_IN, 1ull << 56, 0, 512), 513);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_OUT, UINT64_MAX, 512, 0), 1);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_IN, 0, 0, 100), 101);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_IOERR);
	/* The last sector is fine. */
	CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_IN, DISK / 512 - 1, 0, 512), 513);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_OK);

	/* Unknown and unsupported types. */
	CHECK_EQ(request(&r, 0, 99, 0, 0, 0), 1);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_GET_LIFETIME, 0, 0, 16), 1);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_SECURE_ERASE, 0, 16, 0), 1);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(vtring_needs_reset, 0);

	/* Several requests in flight at once, completed exactly once each. */
	{
		int spins = 0, ok = 1;

		CHECK_EQ(pread(fd, file, 2560, 0), 2560);
		for (int i = 0; i < 5; i++) {
			struct vtring_buf b[] = { { HDR + 16 * i, 16, 0 }, { DATA + 0x10000 + 512 * i, 512, 1 },
					   { STAT + i, 1, 1 } };

			put_hdr(HDR + 16 * i, VIRTIO_BLK_T_IN, (uint64_t)(4 - i));
			ram[STAT + i] = 0xaa;
			post(0, b, 3);
		}
		r.vdev->ops->queue_notify(r.vdev, 0);
		while (used_idx(0) != (uint16_t)(r.seen[0] + 5) && spins++ < 1000)
			block_engine_poll(r.eng, 1);
		CHECK_EQ(used_idx(0), (uint16_t)(r.seen[0] + 5));
		CHECK_EQ(block_engine_poll(r.eng, 0), 0);
		CHECK_EQ(used_idx(0), (uint16_t)(r.seen[0] + 5));
		for (int i = 0; i < 5; i++) {
			if (ram[STAT + i] != VIRTIO_BLK_S_OK || used_len(0, (uint16_t)(r.seen[0] + i)) != 513)
				ok = 0;
			if (memcmp(ram + DATA + 0x10000 + 512 * i, file + 512 * (4 - i), 512))
				ok = 0;
		}
		CHECK(ok);
		r.seen[0] = (uint16_t)(r.seen[0] + 5);
	}

	/* Malformed: no writable status byte. The queue breaks (NEEDS_RESET),
	 * nothing is pushed, later requests are ignored until a reset. */
	{
		struct vtring_buf b[] = { { HDR, 16, 0 } };

		put_hdr(HDR, VIRTIO_BLK_T_FLUSH, 0);
		post(0, b, 1);
		r.vdev->ops->queue_notify(r.vdev, 0);
		block_engine_poll(r.eng, 0);
		CHECK_EQ(vtring_needs_reset, 1);
		CHECK_EQ(used_idx(0), r.seen[0]);
		put_hdr(HDR, VIRTIO_BLK_T_FLUSH, 0);
		{
			struct vtring_buf c[] = { { HDR, 16, 0 }, { STAT, 1, 1 } };

			post(0, c, 2);
		}
		r.vdev->ops->queue_notify(r.vdev, 0);
		block_engine_poll(r.eng, 0);
		CHECK_EQ(used_idx(0), r.seen[0]);
		/* Header shorter than 16 bytes. */
		r.vdev->ops->reset(r.vdev);
		setup_queues(&r);
		CHECK_EQ(r.vdev->ops->activate(r.vdev), 0);
		{
			struct vtring_buf c[] = { { HDR, 8, 0 }, { STAT, 1, 1 } };

			post(0, c, 2);
		}
		r.vdev->ops->queue_notify(r.vdev, 0);
		CHECK_EQ(vtring_needs_reset, 2);
		CHECK_EQ(used_idx(0), 0);
		r.vdev->ops->reset(r.vdev);
		setup_queues(&r);
		CHECK_EQ(r.vdev->ops->activate(r.vdev), 0);
		CHECK_EQ(request(&r, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0), 1);
		CHECK_EQ(ram[STAT], VIRTIO_BLK_S_OK);
	}

	/* A reset while a request is in flight: its completion is dropped. */
	{
		put_hdr(HDR, VIRTIO_BLK_T_IN, 0);
		ram[STAT] = 0xaa;
		{
			struct vtring_buf b[] = { { HDR, 16, 0 }, { DATA + 0x10000, 512, 1 }, { STAT, 1, 1 } };

			post(0, b, 3);
		}
		r.vdev->ops->queue_notify(r.vdev, 0);
		r.vdev->ops->reset(r.vdev);
		CHECK_EQ(block_engine_poll(r.eng, 0), 0);
		CHECK_EQ(used_idx(0), r.seen[0]);
		CHECK_EQ(ram[STAT], 0xaa);
	}
	rig_fini(&r);
}

static void test_read_only_mq(const char *path)
{
	struct virtio_blk_opts opts = { .num_queues = 2 };
	const struct virtio_blk_config *cfg;
	struct rig r;

	rig_init(&r, path, &opts, 1);
	cfg = r.vdev->config;
	CHECK_EQ(r.vdev->num_queues, 2);
	CHECK_EQ(cfg->num_queues, 2);
	CHECK(r.vdev->device_features & (1ull << VIRTIO_BLK_F_RO));
	CHECK(r.vdev->device_features & (1ull << VIRTIO_BLK_F_MQ));
	CHECK(!(r.vdev->device_features & (1ull << VIRTIO_BLK_F_DISCARD)));
	/* Writes fail without touching the disk; reads work, on queue 1 too. */
	memset(ram + DATA, 0x5a, 512);
	CHECK_EQ(request(&r, 1, VIRTIO_BLK_T_OUT, 0, 512, 0), 1);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_IOERR);
	CHECK_EQ(used_idx(0), 0);
	memset(ram + DATA + 0x10000, 0x5a, 512);
	CHECK_EQ(request(&r, 1, VIRTIO_BLK_T_IN, 0, 0, 512), 513);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_OK);
	CHECK(ram[DATA + 0x10000] != 0x5a || ram[DATA + 0x10001] != 0x5a);
	{
		struct blk_dwz { uint64_t sector; uint32_t num, flags; } seg = { 0, 1, 0 };

		memcpy(ram + DATA, &seg, sizeof(seg));
		CHECK_EQ(request(&r, 1, VIRTIO_BLK_T_DISCARD, 0, 16, 0), 1);
		CHECK(ram[STAT] == VIRTIO_BLK_S_UNSUPP);
	}
	/* A flush on a read-only disk succeeds (nothing to make durable). */
	CHECK_EQ(request(&r, 1, VIRTIO_BLK_T_FLUSH, 0, 0, 0), 1);
	CHECK_EQ(ram[STAT], VIRTIO_BLK_S_OK);
	/* GET_ID without serial=: an empty string. */
	memset(ram + DATA + 0x10000, 0xff, 20);
	CHECK_EQ(request(&r, 1, VIRTIO_BLK_T_GET_ID, 0, 0, 20), 21);
	{
		static const uint8_t zero[20];

		CHECK_MEM(ram + DATA + 0x10000, zero, 20);
	}
	CHECK_EQ(vtring_needs_reset, 2);
	rig_fini(&r);
}

int main(void)
{
	char path[] = "/var/tmp/test_virtio_blk.XXXXXX";
	int fd;

	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	CHECK_EQ(guest_memory_add_region(&mem, 0, RAM_SIZE, ram), 0);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, DISK), 0);

	test_basic(path, fd);
	test_read_only_mq(path);

	close(fd);
	unlink(path);
	free(ram);
	return check_done();
}
