/* Test guest: malformed virtqueue input to virtio-blk (virtio 1.2 sections
 * 2.7.5 descriptor chains, 2.7.5.3.1 indirect descriptors, 2.1.2 device
 * status NEEDS_RESET). For each case the guest publishes a bad chain, waits
 * for the device to set DEVICE_NEEDS_RESET (or to answer without touching
 * memory it does not own), resets and re-initializes the device and checks
 * that a normal read works again: the VMM must survive all of it. Cases:
 * a two-descriptor loop, a buffer outside guest RAM, a head index past the
 * queue size, an indirect table whose entries loop, and a nested indirect
 * table. Prints "hostile <case>: NEEDS_RESET" per case and "virtio-hostile: OK". */
#include "rt.h"
#include "vblk.h"

static struct vblk blk;
static struct vblk_hdr *hdr;
static uint8_t *data, *status;
static struct vdrv_desc *itab;

static void reopen(void)
{
	vblk_open(&blk, 1ull << VDRV_F_INDIRECT_DESC, 16, 0);
}

static void publish(uint16_t head)
{
	struct vdrv_queue *q = &blk.q;

	q->avail[2 + q->avail_idx % q->size] = head;
	__asm__ __volatile__("" ::: "memory");
	q->avail_idx++;
	q->avail[1] = q->avail_idx;
	vdrv_kick(q);
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	blk.q.desc[i].addr = addr;
	blk.q.desc[i].len = len;
	blk.q.desc[i].flags = flags;
	blk.q.desc[i].next = next;
}

/* Waits for NEEDS_RESET; a device may also complete the request with an
 * error status instead, which is fine as long as it did not crash. */
static void expect_reset(const char *name)
{
	uint64_t spins;

	for (spins = 0; spins < (1ull << 32); spins++) {
		if (vdrv_status(&blk.dev) & VDRV_S_NEEDS_RESET) {
			rt_printf("hostile %s: NEEDS_RESET\n", name);
			return;
		}
		if (*(volatile uint16_t *)(blk.q.used + 2) != blk.q.last_used) {
			rt_printf("hostile %s: completed with status %u, no reset\n", name, *status);
			return;
		}
		rt_pause();
	}
	rt_fail("hostile %s: the device neither set NEEDS_RESET nor answered", name);
}

static void works_again(const char *name)
{
	reopen();
	memset(data, 0xa5, 512);
	if (vblk_rw(&blk, VBLK_T_IN, 0, data, 512) != VBLK_S_OK)
		rt_fail("hostile %s: read after reset failed", name);
	for (unsigned i = 0; i < 512; i++)
		if (data[i] != 0)
			rt_fail("hostile %s: read after reset returned non-zero data", name);
}

static void bad_case(const char *name, int which)
{
	uint64_t h = (uint64_t)(uintptr_t)hdr, d = (uint64_t)(uintptr_t)data;
	uint64_t s = (uint64_t)(uintptr_t)status;
	uint64_t outside = rt_ram_bytes() + (64ull << 30);   /* 64 GiB past the end of RAM */

	*hdr = (struct vblk_hdr){ VBLK_T_IN, 0, 0 };
	*status = 0xee;
	switch (which) {
	case 0:   /* 0 -> 1 -> 2 -> 1 -> 2 ..., all device-readable (a pure loop) */
		*hdr = (struct vblk_hdr){ VBLK_T_OUT, 0, 0 };
		set_desc(0, h, sizeof(*hdr), VDRV_DESC_F_NEXT, 1);
		set_desc(1, d, 512, VDRV_DESC_F_NEXT, 2);
		set_desc(2, d, 512, VDRV_DESC_F_NEXT, 1);
		publish(0);
		break;
	case 1:   /* data buffer far outside RAM */
		set_desc(0, h, sizeof(*hdr), VDRV_DESC_F_NEXT, 1);
		set_desc(1, outside, 512, VDRV_DESC_F_WRITE | VDRV_DESC_F_NEXT, 2);
		set_desc(2, s, 1, VDRV_DESC_F_WRITE, 0);
		publish(0);
		break;
	case 2:   /* head index past the queue size */
		publish((uint16_t)(blk.q.size + 3));
		break;
	case 3:   /* indirect table looping on itself */
		itab[0] = (struct vdrv_desc){ h, sizeof(*hdr), VDRV_DESC_F_NEXT, 1 };
		itab[1] = (struct vdrv_desc){ d, 512, VDRV_DESC_F_WRITE | VDRV_DESC_F_NEXT, 0 };
		set_desc(0, (uint64_t)(uintptr_t)itab, 2 * sizeof(*itab), VDRV_DESC_F_INDIRECT, 0);
		publish(0);
		break;
	case 4:   /* an indirect descriptor inside an indirect table */
		itab[0] = (struct vdrv_desc){ h, sizeof(*hdr), VDRV_DESC_F_NEXT, 1 };
		itab[1] = (struct vdrv_desc){ (uint64_t)(uintptr_t)(itab + 8), 32, VDRV_DESC_F_INDIRECT, 0 };
		itab[8] = (struct vdrv_desc){ d, 512, VDRV_DESC_F_WRITE | VDRV_DESC_F_NEXT, 9 };
		itab[9] = (struct vdrv_desc){ s, 1, VDRV_DESC_F_WRITE, 0 };
		set_desc(0, (uint64_t)(uintptr_t)itab, 2 * sizeof(*itab), VDRV_DESC_F_INDIRECT, 0);
		publish(0);
		break;
	}
	expect_reset(name);
	works_again(name);
}

void rt_main(void)
{
	static const char *const names[] = { "loop", "outside-ram", "head-out-of-range",
					     "indirect-loop", "nested-indirect" };

	hdr = rt_alloc_pages(1);
	data = rt_alloc_pages(1);
	status = rt_alloc_pages(1);
	itab = rt_alloc_pages(1);
	reopen();
	rt_printf("virtio-hostile: capacity %lu, indirect %s\n", (unsigned long)blk.capacity,
		  vdrv_has(&blk.dev, VDRV_F_INDIRECT_DESC) ? "yes" : "no");
	for (int i = 0; i < 5; i++) {
		if (i >= 3 && !vdrv_has(&blk.dev, VDRV_F_INDIRECT_DESC))
			continue;
		bad_case(names[i], i);
	}
	rt_printf("virtio-hostile: OK\n");
	rt_pass();
}
