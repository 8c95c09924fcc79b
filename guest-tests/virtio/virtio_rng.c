/* Test guest: reads entropy from virtio-rng (virtio 1.2 section 5.4) through
 * the ring-3 driver; checks the buffers are filled, not zero, and differ
 * between reads. Prints "virtio-rng: OK" and exits 0 on success. */
#include "vdrv.h"
#include "vguest.h"

static uint8_t qmem[3 * 4096] __attribute__((aligned(4096)));
static uint8_t buf[2][64] __attribute__((aligned(64)));

int main(void)
{
	struct vdrv_dev dev;
	struct vdrv_queue q;
	uint32_t len = 0;
	int slot, rc;

	slot = vdrv_find(4);
	VG_CHECK(slot >= 0, 2);
	rc = vdrv_init(&dev, slot, 0);
	VG_CHECK(rc == 0, 3);
	VG_CHECK(vdrv_queue_mem(16) <= sizeof(qmem), 4);
	VG_CHECK(vdrv_queue_setup(&dev, &q, 0, 16, qmem) == 0, 5);
	vdrv_driver_ok(&dev);
	VG_CHECK(vdrv_status(&dev) & 4, 6);

	for (int i = 0; i < 2; i++) {
		struct vdrv_buf b = { buf[i], sizeof(buf[i]), 1 };
		int head = vdrv_submit(&q, &b, 1);

		VG_CHECK(head >= 0, 7);
		VG_CHECK(vdrv_poll(&q, &len, 1ul << 30) == head, 8);
		VG_CHECK(len == sizeof(buf[i]), 9);
	}
	int nonzero = 0, differ = 0;
	for (unsigned i = 0; i < sizeof(buf[0]); i++) {
		nonzero |= buf[0][i] | buf[1][i];
		differ |= buf[0][i] != buf[1][i];
	}
	VG_CHECK(nonzero, 10);
	VG_CHECK(differ, 11);
	VG_CHECK(!(vdrv_status(&dev) & 64), 12);
	vg_puts("virtio-rng: OK\n");
	vg_exit(0);
	return 0;
}
