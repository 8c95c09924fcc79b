/* virtio-blk requests for the ring-3 test guests (virtio 1.2 sections 5.2.4
 * configuration layout, 5.2.6 request format): set-up, synchronous and
 * tagged asynchronous requests. */
#include "vblk.h"

#include "rt.h"

#define SPINS (1ul << 34)

void vblk_open(struct vblk *b, uint64_t want, uint16_t qsize, int indirect)
{
	int slot, rc;
	volatile uint8_t *c;

	memset(b, 0, sizeof(*b));
	slot = vdrv_find(2, 0);
	if (slot < 0)
		rt_fail("no virtio-blk device (1af4:1042) on bus 0");
	rc = vdrv_init(&b->dev, (unsigned)slot, want);
	if (rc)
		rt_fail("virtio-blk: init failed at step %d (status 0x%x)", rc,
			b->dev.common ? vdrv_status(&b->dev) : 0);
	if (!b->dev.device)
		rt_fail("virtio-blk: no device config capability");
	c = b->dev.device;
	b->capacity = *(volatile uint32_t *)c | (uint64_t)*(volatile uint32_t *)(c + 4) << 32;
	b->seg_max = vdrv_has(&b->dev, VBLK_F_SEG_MAX) ? *(volatile uint32_t *)(c + 12) : 0;
	b->blk_size = vdrv_has(&b->dev, VBLK_F_BLK_SIZE) ? *(volatile uint32_t *)(c + 20) : 512;
	if (vdrv_has(&b->dev, VBLK_F_DISCARD))
		b->max_discard_sectors = *(volatile uint32_t *)(c + 36);
	if (vdrv_has(&b->dev, VBLK_F_WRITE_ZEROES))
		b->max_write_zeroes_sectors = *(volatile uint32_t *)(c + 48);
	rc = vdrv_queue_setup(&b->dev, &b->q, 0, qsize, indirect);
	if (rc)
		rt_fail("virtio-blk: queue setup failed (%d)", rc);
	if (b->q.size > 1024)
		rt_fail("virtio-blk: queue size %u", b->q.size);
	b->hdr = rt_alloc_pages(1);
	b->status = rt_alloc_pages(1);
	for (unsigned i = 0; i < 1024; i++)
		b->tag_of_head[i] = -1;
	vdrv_driver_ok(&b->dev);
	if (!(vdrv_status(&b->dev) & VDRV_S_DRIVER_OK))
		rt_fail("virtio-blk: DRIVER_OK did not stick");
}

int vblk_request(struct vblk *b, uint32_t type, uint64_t sector,
		 const struct vdrv_buf *data, unsigned n)
{
	struct vdrv_buf bufs[VDRV_MAX_BUFS];
	uint32_t len = 0;
	int head, got;

	if (n + 2 > VDRV_MAX_BUFS)
		rt_fail("vblk_request: %u buffers", n);
	b->hdr[0] = (struct vblk_hdr){ type, 0, sector };
	b->status[0] = 0xee;
	bufs[0] = (struct vdrv_buf){ &b->hdr[0], sizeof(b->hdr[0]), 0 };
	for (unsigned i = 0; i < n; i++)
		bufs[1 + i] = data[i];
	bufs[n + 1] = (struct vdrv_buf){ (const void *)&b->status[0], 1, 1 };
	head = vdrv_submit(&b->q, bufs, n + 2);
	if (head < 0)
		rt_fail("vblk_request: ring full");
	got = vdrv_poll(&b->q, &len, SPINS);
	if (got == -1)
		return -1;
	if (got != head)
		rt_fail("vblk_request: used id %d, submitted head %d", got, head);
	return b->status[0];
}

int vblk_rw(struct vblk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
	struct vdrv_buf d = { buf, len, type == VBLK_T_IN || type == VBLK_T_GET_ID };

	return vblk_request(b, type, sector, &d, len ? 1 : 0);
}

int vblk_submit(struct vblk *b, unsigned tag, uint32_t type, uint64_t sector,
		void *buf, uint32_t len)
{
	struct vdrv_buf bufs[3];
	int head;

	if (tag >= VBLK_MAX_TAGS)
		return -1;
	b->hdr[tag] = (struct vblk_hdr){ type, 0, sector };
	b->status[tag] = 0xee;
	bufs[0] = (struct vdrv_buf){ &b->hdr[tag], sizeof(b->hdr[tag]), 0 };
	bufs[1] = (struct vdrv_buf){ buf, len, type == VBLK_T_IN };
	bufs[2] = (struct vdrv_buf){ (const void *)&b->status[tag], 1, 1 };
	head = vdrv_add(&b->q, bufs, 3);
	if (head < 0)
		return -1;
	b->tag_of_head[head] = (int16_t)tag;
	return 0;
}

int vblk_complete(struct vblk *b, int *status)
{
	int head = vdrv_get_used(&b->q, NULL), tag;

	if (head == -1)
		return -1;
	if (head < 0 || b->tag_of_head[head] < 0)
		rt_fail("virtio-blk: used id %d was not submitted", head);
	tag = b->tag_of_head[head];
	b->tag_of_head[head] = -1;
	*status = b->status[tag];
	return tag;
}
