/* Fuzz target: virtio-blk request handling (devices/virtio/blk.c, virtio 1.2
 * section 5.2) on a raw 1 MiB scratch disk. Guest memory (64 KiB) is the
 * input after a 4-byte prefix (negotiated feature mask, read-only flag); the
 * split ring sits at 0x0 (descriptors), 0x1000 (avail), 0x2000 (used), queue
 * size 16, so the input chooses the chains, headers, sectors and lengths. */
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_virtio.h"
#include "devices/virtio/blk.h"

#define DISK     (1u << 20)

static struct block_engine *eng;
static const char *disk;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct block_open_opts bo = { .format = "raw" };
	struct virtio_blk_opts opts = { .serial = "fuzz", .queue_size = 16 };
	struct virtio_device *vdev;
	struct virtio_blk *blk;
	struct block_dev *bs;
	uint32_t cfg;

	if (!eng) {
		static uint8_t zero[DISK];

		if (block_engine_create(&eng, 32, 0) != 0)
			abort();
		guest_memory_add_region(&mem, 0, RAM_SIZE, ram);
		disk = strdup(fuzz_write_file("disk.raw", zero, sizeof(zero)));
	}
	cfg = (uint32_t)fuzz_take(&in, 4);
	memset(ram, 0, sizeof(ram));
	memcpy(ram, in.p, in.n < RAM_SIZE ? in.n : RAM_SIZE);
	bo.read_only = cfg >> 31;
	if (block_open(&bs, disk, &bo, eng, NULL) != 0)
		abort();
	if (virtio_blk_create(&blk, bs, &opts) != 0)
		abort();
	vdev = virtio_blk_device(blk);
	vdev->transport = &transport;
	vdev->driver_features = (vdev->device_features & cfg) | (1ull << VIRTIO_F_VERSION_1);
	virtq_init(&vdev->vq[0], &mem);
	if (virtq_setup(&vdev->vq[0], 16, 0x0, 0x1000, 0x2000, vdev->driver_features) == 0 &&
	    (!vdev->ops->activate || vdev->ops->activate(vdev) == 0)) {
		for (int kick = 0; kick < 3; kick++) {
			vdev->ops->queue_notify(vdev, 0);
			for (int i = 0; i < 8; i++)
				block_engine_poll(eng, 0);
		}
	}
	virtio_blk_destroy(blk);
	block_engine_poll(eng, 0);
	block_close(bs);
	return 0;
}
