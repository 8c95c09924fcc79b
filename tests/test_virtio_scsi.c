/* Unit test of virtio-scsi (devices/virtio/scsi.c, virtio 1.2 section 5.6):
 * the test plays the driver on split rings in guest memory over a raw temp
 * file holding a 64-block "CD", with a stand-in transport. Checks config,
 * response headers, sense, data-in (INQUIRY, READ(10) from the file, READ
 * beyond capacity), LUN addressing, control queue TMF/AN and NEEDS_RESET on
 * malformed chains. */
#include "devices/virtio/scsi.h"
#include "devices/scsi_cd.h"
#include "tests/check.h"
#include "tests/virtio_test_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RAM_SIZE 0x200000ULL
#define QSIZE 16
#define DESC  0x1000ULL
#define AVAIL 0x2000ULL
#define USED  0x3000ULL
#define REQ   0x20000ULL
#define RESP  0x21000ULL
#define DATA  0x40000ULL
#define CD_BLOCKS 64

static struct guest_memory mem;
static uint8_t *ram;
/* Ring i at + i * 0x4000; the driver's side is tests/virtio_test_ring.h. */
static struct vtring rings[3];

static void post(unsigned ring, const struct vtring_buf *b, int n) { vtring_post(&rings[ring], b, n); }
static uint16_t used_idx(unsigned ring) { return vtring_used_idx(&rings[ring]); }
static uint32_t used_len(unsigned ring, uint16_t i) { return vtring_used_len(&rings[ring], i); }

struct rig {
	struct block_engine *eng;
	struct block_dev *bs;
	struct virtio_scsi *s;
	struct virtio_device *vdev;
	uint16_t seen[3];
};

static void rig_init(struct rig *r, const char *path)
{
	struct block_open_opts bo = { .format = "raw", .read_only = 1 };
	memset(r, 0, sizeof(*r));
	CHECK_EQ(block_engine_create(&r->eng, 32, 0), 0);
	CHECK_EQ(block_open(&r->bs, path, &bo, r->eng, NULL), 0);
	CHECK_EQ(virtio_scsi_create(&r->s, r->bs, QSIZE), 0);
	r->vdev = virtio_scsi_device(r->s);
	r->vdev->transport = &vtring_fake_transport;
	r->vdev->driver_features = r->vdev->device_features | (1ull << VIRTIO_F_VERSION_1);
	for (unsigned i = 0; i < r->vdev->num_queues; i++) {
		uint64_t base = (uint64_t)i * 0x4000;
		memset(ram + base, 0, 0x4000);
		virtq_init(&r->vdev->vq[i], &mem);
		CHECK_EQ(virtq_setup(&r->vdev->vq[i], QSIZE, base + DESC, base + AVAIL, base + USED,
				     r->vdev->driver_features), 0);
		vtring_init(&rings[i], ram, QSIZE, base + DESC, base + AVAIL, base + USED);
	}
	CHECK_EQ(r->vdev->ops->activate(r->vdev), 0);
}

static void poll_engine(void *eng) { block_engine_poll(eng, 1); }

static uint32_t run(struct rig *r, unsigned ring)
{
	CHECK_EQ(vtring_kick_wait(&rings[ring], r->vdev, ring, r->seen[ring], poll_engine, r->eng),
		 (uint16_t)(r->seen[ring] + 1));
	return used_len(ring, r->seen[ring]++);
}

static struct virtio_scsi_cmd_resp resp;

/* One command to LUN {1, target, 0x40|lun>>8, lun}; data-in of in_len at DATA. */
static uint32_t cmd(struct rig *r, uint8_t target, uint16_t lun, const uint8_t *cdb, size_t cdb_len, uint32_t in_len)
{
	struct virtio_scsi_cmd_req req;
	memset(&req, 0, sizeof(req));
	req.lun[0] = 1;
	req.lun[1] = target;
	req.lun[2] = (uint8_t)(0x40 | lun >> 8);
	req.lun[3] = (uint8_t)lun;
	req.id = 42;
	memcpy(req.cdb, cdb, cdb_len);
	memcpy(ram + REQ, &req, sizeof(req));
	memset(ram + RESP, 0xcc, sizeof(resp));
	memset(ram + DATA, 0xcc, 0x10000);
	/* request header split over two descriptors, response then data */
	struct vtring_buf b[4] = { { REQ, 20, 0 }, { REQ + 20, sizeof(req) - 20, 0 }, { RESP, sizeof(resp), 1 },
			    { DATA, in_len, 1 } };
	post(2, b, in_len ? 4 : 3);
	uint32_t n = run(r, 2);
	memcpy(&resp, ram + RESP, sizeof(resp));
	return n;
}

int main(void)
{
	char path[] = "/var/tmp/test_virtio_scsi.XXXXXX";
	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	CHECK_EQ(guest_memory_add_region(&mem, 0, RAM_SIZE, ram), 0);
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	static uint8_t disc[CD_BLOCKS * 2048];
	for (size_t i = 0; i < sizeof(disc); i++)
		disc[i] = (uint8_t)(i * 7 + i / 2048);
	CHECK_EQ(write(fd, disc, sizeof(disc)), (ssize_t)sizeof(disc));

	struct rig r;
	rig_init(&r, path);
	const struct virtio_scsi_config *cfg = r.vdev->config;
	CHECK_EQ(r.vdev->device_id, VIRTIO_ID_SCSI);
	CHECK_EQ(r.vdev->num_queues, 3);
	CHECK_EQ(r.vdev->config_size, 36);
	CHECK_EQ(cfg->num_queues, 1);
	CHECK_EQ(cfg->sense_size, 96);
	CHECK_EQ(cfg->cdb_size, 32);
	CHECK_EQ(cfg->max_target, 0);
	CHECK_EQ(cfg->max_lun, 0);
	CHECK_EQ(cfg->seg_max, QSIZE - 2);

	/* INQUIRY: 108-byte response header + 36 bytes, residual 64 */
	uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	CHECK_EQ(cmd(&r, 0, 0, inq, 6, 100), 108 + 36);
	CHECK_EQ(resp.response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(resp.status, SCSI_STATUS_GOOD);
	CHECK_EQ(resp.sense_len, 0);
	CHECK_EQ(resp.resid, 64);
	CHECK_EQ(ram[DATA], 0x05);
	CHECK_EQ(ram[DATA + 1], 0x80);
	CHECK(vtring_notifies > 0);

	/* READ(10) of blocks 3..5 from the file */
	uint8_t r10[10] = { 0x28, 0, 0, 0, 0, 3, 0, 0, 3, 0 };
	CHECK_EQ(cmd(&r, 0, 0, r10, 10, 3 * 2048), 108 + 3 * 2048);
	CHECK_EQ(resp.response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(resp.status, SCSI_STATUS_GOOD);
	CHECK_EQ(resp.resid, 0);
	CHECK_MEM(ram + DATA, disc + 3 * 2048, 3 * 2048);
	/* READ(12) of the last block */
	uint8_t r12[12] = { 0xa8, 0, 0, 0, 0, CD_BLOCKS - 1, 0, 0, 0, 1, 0, 0 };
	CHECK_EQ(cmd(&r, 0, 0, r12, 12, 2048), 108 + 2048);
	CHECK_MEM(ram + DATA, disc + (CD_BLOCKS - 1) * 2048, 2048);

	/* READ beyond capacity: CHECK CONDITION, LBA OUT OF RANGE in the sense */
	r10[5] = CD_BLOCKS - 1;
	r10[8] = 2;
	CHECK_EQ(cmd(&r, 0, 0, r10, 10, 2 * 2048), 108);
	CHECK_EQ(resp.response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(resp.status, SCSI_STATUS_CHECK_CONDITION);
	CHECK_EQ(resp.sense_len, 18);
	CHECK_EQ(resp.sense[0], 0x70);
	CHECK_EQ(resp.sense[2], SCSI_SENSE_ILLEGAL_REQUEST);
	CHECK_EQ(resp.sense[12], SCSI_ASC_LBA_OUT_OF_RANGE);
	CHECK_EQ(ram[DATA], 0xcc);

	/* data-in buffer smaller than the READ: OVERRUN, nothing read */
	r10[5] = 0;
	r10[8] = 2;
	CHECK_EQ(cmd(&r, 0, 0, r10, 10, 2048), 108);
	CHECK_EQ(resp.response, VIRTIO_SCSI_S_OVERRUN);
	CHECK_EQ(ram[DATA], 0xcc);

	/* READ CAPACITY */
	uint8_t cap[10] = { 0x25 };
	CHECK_EQ(cmd(&r, 0, 0, cap, 10, 8), 108 + 8);
	CHECK_MEM(ram + DATA, ((uint8_t[]){ 0, 0, 0, CD_BLOCKS - 1, 0, 0, 8, 0 }), 8);

	/* other targets and LUNs do not exist */
	CHECK_EQ(cmd(&r, 1, 0, inq, 6, 100), 108);
	CHECK_EQ(resp.response, VIRTIO_SCSI_S_BAD_TARGET);
	CHECK_EQ(cmd(&r, 0, 1, inq, 6, 100), 108);
	CHECK_EQ(resp.response, VIRTIO_SCSI_S_BAD_TARGET);
	CHECK_EQ(ram[DATA], 0xcc);

	/* unsupported command */
	uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	CHECK_EQ(cmd(&r, 0, 0, wr, 10, 0), 108);
	CHECK_EQ(resp.status, SCSI_STATUS_CHECK_CONDITION);
	CHECK_EQ(resp.sense[12], SCSI_ASC_INVALID_OPCODE);

	/* control queue: TMF (abort task) and AN query */
	{
		uint32_t tmf[6] = { VIRTIO_SCSI_T_TMF, 0, 0x00000001, 0, 42, 0 };
		memcpy(ram + REQ, tmf, 24);
		ram[RESP] = 0xcc;
		struct vtring_buf b[2] = { { REQ, 24, 0 }, { RESP, 1, 1 } };
		post(0, b, 2);
		CHECK_EQ(run(&r, 0), 1);
		CHECK_EQ(ram[RESP], VIRTIO_SCSI_S_FUNCTION_COMPLETE);
		uint32_t an[4] = { VIRTIO_SCSI_T_AN_QUERY, 1, 0, 0x10 };
		memcpy(ram + REQ, an, 16);
		memset(ram + RESP, 0xcc, 8);
		struct vtring_buf c[2] = { { REQ, 16, 0 }, { RESP, 5, 1 } };
		post(0, c, 2);
		CHECK_EQ(run(&r, 0), 5);
		CHECK_MEM(ram + RESP, ((uint8_t[]){ 0, 0, 0, 0, 0 }), 5);
		uint32_t bad[1] = { 77 };
		memcpy(ram + REQ, bad, 4);
		struct vtring_buf d[2] = { { REQ, 4, 0 }, { RESP, 1, 1 } };
		post(0, d, 2);
		CHECK_EQ(run(&r, 0), 1);
		CHECK_EQ(ram[RESP], VIRTIO_SCSI_S_FAILURE);
	}
	CHECK_EQ(vtring_needs_reset, 0);

	/* malformed: response area too short -> NEEDS_RESET, nothing used */
	{
		struct virtio_scsi_cmd_req req;
		memset(&req, 0, sizeof(req));
		req.lun[0] = 1;
		memcpy(ram + REQ, &req, sizeof(req));
		struct vtring_buf b[2] = { { REQ, sizeof(req), 0 }, { RESP, 50, 1 } };
		post(2, b, 2);
		r.vdev->ops->queue_notify(r.vdev, 2);
		CHECK_EQ(vtring_needs_reset, 1);
		CHECK_EQ(used_idx(2), r.seen[2]);
		/* the broken queue is ignored until reset */
		struct vtring_buf c[3] = { { REQ, sizeof(req), 0 }, { RESP, sizeof(resp), 1 } };
		post(2, c, 2);
		r.vdev->ops->queue_notify(r.vdev, 2);
		CHECK_EQ(used_idx(2), r.seen[2]);
	}
	/* reset clears it */
	r.vdev->ops->reset(r.vdev);
	for (unsigned i = 0; i < 3; i++) {
		uint64_t base = (uint64_t)i * 0x4000;
		memset(ram + base, 0, 0x4000);
		virtq_reset(&r.vdev->vq[i]);
		CHECK_EQ(virtq_setup(&r.vdev->vq[i], QSIZE, base + DESC, base + AVAIL, base + USED,
				     r.vdev->driver_features), 0);
		vtring_init(&rings[i], ram, QSIZE, base + DESC, base + AVAIL, base + USED);
		r.seen[i] = 0;
	}
	CHECK_EQ(r.vdev->ops->activate(r.vdev), 0);
	CHECK_EQ(cmd(&r, 0, 0, cap, 10, 8), 108 + 8);
	CHECK_EQ(resp.status, SCSI_STATUS_GOOD);

	virtio_scsi_destroy(r.s);
	block_close(r.bs);
	block_engine_destroy(r.eng);
	close(fd);
	unlink(path);
	free(ram);
	return check_done();
}
