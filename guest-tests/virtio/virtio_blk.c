/* Test guest: virtio-blk (virtio 1.2 section 5.2) through the ring-3 driver.
 * Writes a pattern to sectors 0..7 and to the last sector, flushes, reads it
 * back, and checks that requests past the end return IOERR. The host test
 * (check_blk.py) then checks the image file's bytes: byte j of sector s is
 * VBLK_PATTERN(s, j). Prints "virtio-blk: OK" and exits 0 on success. */
#include "vdrv.h"
#include "vguest.h"

#define VBLK_PATTERN(s, j) ((uint8_t)((s) * 31u + (j) * 7u + 0x5au))
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define F_FLUSH 9

struct req_hdr { uint32_t type, reserved; uint64_t sector; };

static uint8_t qmem[4 * 4096] __attribute__((aligned(4096)));
static uint8_t wbuf[4096] __attribute__((aligned(4096)));
static uint8_t rbuf[4096] __attribute__((aligned(4096)));
static struct req_hdr hdr;
static volatile uint8_t status;
static struct vdrv_queue q;

/* One request: header, optional data, status. Returns the status byte. */
static int request(uint32_t type, uint64_t sector, void *data, uint32_t len, int data_in)
{
	struct vdrv_buf b[3];
	unsigned n = 0;
	uint32_t used = 0;

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xee;
	b[n++] = (struct vdrv_buf){ &hdr, sizeof(hdr), 0 };
	if (len)
		b[n++] = (struct vdrv_buf){ data, len, data_in };
	b[n++] = (struct vdrv_buf){ (void *)&status, 1, 1 };
	int head = vdrv_submit(&q, b, n);
	VG_CHECK(head >= 0, 20);
	VG_CHECK(vdrv_poll(&q, &used, 1ul << 30) == head, 21);
	return status;
}

int main(void)
{
	struct vdrv_dev dev;
	int slot, rc;

	slot = vdrv_find(2);
	VG_CHECK(slot >= 0, 2);
	rc = vdrv_init(&dev, slot, 1ull << F_FLUSH);
	VG_CHECK(rc == 0, 3);
	VG_CHECK(dev.features >> F_FLUSH & 1, 4);
	VG_CHECK(dev.device != 0, 5);
	uint64_t capacity = *(volatile uint32_t *)dev.device |
			    (uint64_t)*(volatile uint32_t *)(dev.device + 4) << 32;
	vg_puts("virtio-blk: capacity ");
	vg_putx(capacity);
	vg_puts(" sectors\n");
	VG_CHECK(capacity >= 16, 6);
	VG_CHECK(vdrv_queue_mem(16) <= sizeof(qmem), 7);
	VG_CHECK(vdrv_queue_setup(&dev, &q, 0, 16, qmem) == 0, 8);
	vdrv_driver_ok(&dev);

	for (unsigned s = 0; s < 8; s++)
		for (unsigned j = 0; j < 512; j++)
			wbuf[512 * s + j] = VBLK_PATTERN(s, j);
	VG_CHECK(request(T_OUT, 0, wbuf, 4096, 0) == 0, 10);
	for (unsigned j = 0; j < 512; j++)
		wbuf[j] = VBLK_PATTERN(capacity - 1, j);
	VG_CHECK(request(T_OUT, capacity - 1, wbuf, 512, 0) == 0, 11);
	VG_CHECK(request(T_FLUSH, 0, 0, 0, 0) == 0, 12);
	vg_puts("virtio-blk: written and flushed\n");

	VG_CHECK(request(T_IN, 0, rbuf, 4096, 1) == 0, 13);
	for (unsigned s = 0; s < 8; s++)
		for (unsigned j = 0; j < 512; j++)
			VG_CHECK(rbuf[512 * s + j] == VBLK_PATTERN(s, j), 14);
	VG_CHECK(request(T_IN, capacity - 1, rbuf, 512, 1) == 0, 15);
	for (unsigned j = 0; j < 512; j++)
		VG_CHECK(rbuf[j] == VBLK_PATTERN(capacity - 1, j), 16);
	vg_puts("virtio-blk: read back OK\n");

	/* Past the end: IOERR (1), the device stays usable. */
	VG_CHECK(request(T_IN, capacity, rbuf, 512, 1) == 1, 17);
	VG_CHECK(request(T_IN, capacity - 1, rbuf, 1024, 1) == 1, 18);
	VG_CHECK(request(T_OUT, capacity + 100, wbuf, 512, 0) == 1, 19);
	VG_CHECK(!(vdrv_status(&dev) & 64), 22);
	VG_CHECK(request(T_IN, 0, rbuf, 512, 1) == 0, 23);
	vg_puts("virtio-blk: out-of-range IOERR OK\n");
	vg_puts("virtio-blk: OK\n");
	vg_exit(0);
	return 0;
}
