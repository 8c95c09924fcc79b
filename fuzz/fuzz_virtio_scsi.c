/* Fuzz target: virtio-scsi request handling (devices/virtio/scsi.c, virtio
 * 1.2 section 5.6; the CD-ROM command set of devices/scsi_cd.c, MMC-6/SPC-4)
 * on a 1 MiB raw scratch CD. Guest memory (64 KiB) is the input after a
 * 4-byte prefix (negotiated feature mask; bit 31: empty drive, tray open);
 * queue i (0 control, 1 event, 2 request) has its split ring at i * 0x4000:
 * descriptors +0, avail +0x1000, used +0x2000, queue size 16, so the input
 * chooses the chains, LUNs, CDBs, TMFs and buffer lengths. */
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_virtio.h"
#include "devices/virtio/scsi.h"

#define DISK     (1u << 20)

static struct block_engine *eng;
static const char *disk;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct block_open_opts bo = { .format = "raw", .read_only = 1 };
	struct virtio_device *vdev;
	struct virtio_scsi *s;
	struct block_dev *bs = NULL;
	uint32_t cfg;
	int ok = 1;

	if (!eng) {
		static uint8_t cd[DISK];

		for (size_t i = 0; i < sizeof(cd); i++)
			cd[i] = (uint8_t)(i * 7 + (i >> 11));
		if (block_engine_create(&eng, 32, 0) != 0)
			abort();
		guest_memory_add_region(&mem, 0, RAM_SIZE, ram);
		disk = strdup(fuzz_write_file("cd.raw", cd, sizeof(cd)));
	}
	cfg = (uint32_t)fuzz_take(&in, 4);
	memset(ram, 0, sizeof(ram));
	memcpy(ram, in.p, in.n < RAM_SIZE ? in.n : RAM_SIZE);
	if (!(cfg >> 31) && block_open(&bs, disk, &bo, eng, NULL) != 0)
		abort();
	if (virtio_scsi_create(&s, bs, 16) != 0)
		abort();
	vdev = virtio_scsi_device(s);
	vdev->transport = &transport;
	vdev->driver_features = (vdev->device_features & cfg) | (1ull << VIRTIO_F_VERSION_1);
	for (unsigned q = 0; q < vdev->num_queues && q < 3; q++) {
		uint64_t base = (uint64_t)q * 0x4000;

		virtq_init(&vdev->vq[q], &mem);
		if (virtq_setup(&vdev->vq[q], 16, base, base + 0x1000, base + 0x2000,
				vdev->driver_features) != 0)
			ok = 0;
	}
	if (ok && (!vdev->ops->activate || vdev->ops->activate(vdev) == 0)) {
		for (int kick = 0; kick < 3; kick++) {
			for (unsigned q = 0; q < vdev->num_queues && q < 3; q++)
				vdev->ops->queue_notify(vdev, q);
			for (int i = 0; i < 8; i++)
				block_engine_poll(eng, 0);
		}
	}
	virtio_scsi_destroy(s);
	block_engine_poll(eng, 0);
	if (bs)
		block_close(bs);
	return 0;
}
