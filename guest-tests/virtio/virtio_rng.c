/* Test guest: entropy from virtio-rng (virtio 1.2 section 5.4) in ring 3.
 * Negotiates VERSION_1, reads several buffers of different sizes, checks
 * that every answer filled its buffer, is not all zero and not constant, and
 * that no two buffers are equal. Prints "virtio-rng: OK" and passes. */
#include "rt.h"
#include "vdrv.h"

#define NREADS 8

void rt_main(void)
{
	static const uint32_t sizes[NREADS] = { 64, 64, 16, 256, 512, 64, 4096, 128 };
	struct vdrv_dev dev;
	struct vdrv_queue q;
	uint8_t *buf[NREADS];
	int slot, rc;

	slot = vdrv_find(4, 0);
	if (slot < 0)
		rt_fail("no virtio-rng device (1af4:1044) on bus 0");
	rc = vdrv_init(&dev, (unsigned)slot, 0);
	if (rc)
		rt_fail("virtio-rng: init failed at step %d", rc);
	RT_CHECK(vdrv_has(&dev, VDRV_F_VERSION_1));
	RT_CHECK_EQ(vdrv_queue_setup(&dev, &q, 0, 16, 0), 0);
	vdrv_driver_ok(&dev);
	RT_CHECK(vdrv_status(&dev) & VDRV_S_DRIVER_OK);

	for (int i = 0; i < NREADS; i++) {
		struct vdrv_buf b;
		uint32_t len = 0;
		int head;

		buf[i] = rt_alloc_pages(1);
		b = (struct vdrv_buf){ buf[i], sizes[i], 1 };
		head = vdrv_submit(&q, &b, 1);
		RT_CHECK(head >= 0);
		RT_CHECK_EQ(vdrv_poll(&q, &len, 1ul << 34), head);
		/* The device may return fewer bytes; ours and QEMU's fill it. */
		if (len == 0 || len > sizes[i])
			rt_fail("read %d: used length %u for a %u-byte buffer", i, len, sizes[i]);
		unsigned nonzero = 0, same = 0;
		for (uint32_t j = 0; j < len; j++) {
			nonzero += buf[i][j] != 0;
			same += j && buf[i][j] == buf[i][0];
		}
		/* Random bytes: about 1/256 of them are zero or equal the first one. */
		if (len >= 64 && (nonzero < len / 2 || same > len / 2))
			rt_fail("read %d: %u of %u bytes non-zero, %u repeat the first byte",
				i, nonzero, len, same);
		for (int k = 0; k < i; k++)
			if (sizes[k] >= 16 && len >= 16 && !memcmp(buf[k], buf[i], 16))
				rt_fail("reads %d and %d returned the same bytes", k, i);
		rt_printf("virtio-rng: read %d: %u bytes %02x %02x %02x %02x ...\n",
			  i, len, buf[i][0], buf[i][1], buf[i][2], buf[i][3]);
	}
	RT_CHECK(!(vdrv_status(&dev) & VDRV_S_NEEDS_RESET));
	rt_printf("virtio-rng: OK\n");
	rt_pass();
}
