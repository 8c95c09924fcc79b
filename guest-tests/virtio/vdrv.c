/* Guest-side virtio-pci modern driver (virtio 1.2 sections 3.1.1, 4.1.4,
 * 2.7.13): capability walk, feature negotiation, split queue setup, submit
 * and poll. Runs in ring 3 with IOPL=3; BARs below 4 GiB are identity mapped. */
#include "vdrv.h"

#define barrier() __asm__ __volatile__("" ::: "memory")
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

static inline void outl(uint16_t port, uint32_t v) { __asm__ __volatile__("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outw(uint16_t port, uint16_t v) { __asm__ __volatile__("outw %0, %1" :: "a"(v), "Nd"(port)); }

uint32_t vdrv_cfg_read32(unsigned slot, unsigned reg)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (reg & 0xfc));
	return inl(0xcfc);
}

void vdrv_cfg_write16(unsigned slot, unsigned reg, uint16_t v)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (reg & 0xfc));
	outw(0xcfc + (reg & 2), v);
}

static uint8_t cfg8(unsigned slot, unsigned reg)
{
	return vdrv_cfg_read32(slot, reg) >> (8 * (reg & 3));
}

int vdrv_find(unsigned virtio_id)
{
	for (unsigned s = 0; s < 32; s++)
		if (vdrv_cfg_read32(s, 0) == ((0x1040u + virtio_id) << 16 | 0x1af4u))
			return (int)s;
	return -1;
}

/* Common config accessors (4.1.4.3). */
#define CC8(d, o)  (*(volatile uint8_t *)((d)->common + (o)))
#define CC16(d, o) (*(volatile uint16_t *)((d)->common + (o)))
#define CC32(d, o) (*(volatile uint32_t *)((d)->common + (o)))

uint8_t vdrv_status(struct vdrv_dev *d)
{
	return CC8(d, 0x14);
}

static void set_status(struct vdrv_dev *d, uint8_t s)
{
	CC8(d, 0x14) = s;
}

static void read_bars(struct vdrv_dev *d)
{
	for (unsigned i = 0; i < 6; i++) {
		uint32_t lo = vdrv_cfg_read32(d->slot, 0x10 + 4 * i);

		d->bar[i] = 0;
		if (lo & 1)
			continue;
		d->bar[i] = lo & ~0xfu;
		if ((lo & 6) == 4 && i < 5) {
			d->bar[i] |= (uint64_t)vdrv_cfg_read32(d->slot, 0x14 + 4 * i) << 32;
			i++;
		}
	}
}

int vdrv_init(struct vdrv_dev *d, unsigned slot, uint64_t want)
{
	unsigned p, guard = 0;

	d->slot = slot;
	d->common = d->isr = d->device = d->notify = 0;
	read_bars(d);
	/* Memory decode and bus mastering (firmware may have left them off). */
	vdrv_cfg_write16(slot, 4, (uint16_t)vdrv_cfg_read32(slot, 4) | 0x6);
	if (!(vdrv_cfg_read32(slot, 4) >> 16 & 0x10))
		return -1;
	for (p = cfg8(slot, 0x34); p && guard++ < 48; p = cfg8(slot, p + 1)) {
		unsigned type, bar;
		uint32_t off;
		volatile uint8_t *base;

		if (cfg8(slot, p) != 0x09)
			continue;
		type = cfg8(slot, p + 3);
		bar = cfg8(slot, p + 4);
		off = vdrv_cfg_read32(slot, p + 8);
		if (bar > 5 || !d->bar[bar] || d->bar[bar] >= 0x100000000ULL)
			continue;
		base = (volatile uint8_t *)(unsigned long)(d->bar[bar] + off);
		if (type == 1 && !d->common)
			d->common = base;
		else if (type == 2 && !d->notify) {
			d->notify = base;
			d->notify_mult = vdrv_cfg_read32(slot, p + 16);
		} else if (type == 3 && !d->isr)
			d->isr = base;
		else if (type == 4 && !d->device)
			d->device = base;
	}
	if (!d->common || !d->notify || !d->isr)
		return -2;

	set_status(d, 0);
	while (vdrv_status(d) != 0)
		;
	set_status(d, 1);
	set_status(d, 1 | 2);
	CC32(d, 0x00) = 0;
	d->features = CC32(d, 0x04);
	CC32(d, 0x00) = 1;
	d->features |= (uint64_t)CC32(d, 0x04) << 32;
	if (!(d->features >> VDRV_F_VERSION_1 & 1))
		return -3;
	want &= d->features;
	want |= 1ULL << VDRV_F_VERSION_1;
	CC32(d, 0x08) = 0;
	CC32(d, 0x0c) = (uint32_t)want;
	CC32(d, 0x08) = 1;
	CC32(d, 0x0c) = (uint32_t)(want >> 32);
	set_status(d, 1 | 2 | 8);
	if (!(vdrv_status(d) & 8))
		return -4;
	return 0;
}

unsigned long vdrv_queue_mem(uint16_t size)
{
	/* desc at 0, avail at 16*size, used at the next 4 KiB boundary. */
	unsigned long avail_end = 16ul * size + 6 + 2ul * size;
	return ((avail_end + 4095) & ~4095ul) + 6 + 8ul * size;
}

int vdrv_queue_setup(struct vdrv_dev *d, struct vdrv_queue *q, unsigned index,
		     uint16_t size, void *mem)
{
	unsigned long base = (unsigned long)mem;
	unsigned long used = (16ul * size + 6 + 2ul * size + 4095) & ~4095ul;
	uint16_t max, noff;

	CC16(d, 0x16) = index;
	max = CC16(d, 0x18);
	if (max == 0)
		return -1;
	if (size > max)
		size = max;
	CC16(d, 0x18) = size;
	CC16(d, 0x1a) = 0xffff;   /* no MSI-X vector: we poll */
	noff = CC16(d, 0x1e);
	CC32(d, 0x20) = (uint32_t)base;
	CC32(d, 0x24) = (uint32_t)((uint64_t)base >> 32);
	CC32(d, 0x28) = (uint32_t)(base + 16ul * size);
	CC32(d, 0x2c) = (uint32_t)((uint64_t)(base + 16ul * size) >> 32);
	CC32(d, 0x30) = (uint32_t)(base + used);
	CC32(d, 0x34) = (uint32_t)((uint64_t)(base + used) >> 32);
	CC16(d, 0x1c) = 1;
	if (CC16(d, 0x1c) != 1)
		return -2;
	q->dev = d;
	q->index = index;
	q->size = size;
	q->desc = (struct vdrv_desc *)base;
	q->avail = (volatile uint16_t *)(base + 16ul * size);
	q->used = (volatile uint8_t *)(base + used);
	q->notify_addr = (volatile uint16_t *)(d->notify + (unsigned long)noff * d->notify_mult);
	q->avail_idx = q->last_used = q->next_free = 0;
	return 0;
}

void vdrv_driver_ok(struct vdrv_dev *d)
{
	set_status(d, vdrv_status(d) | 4);
}

int vdrv_submit(struct vdrv_queue *q, const struct vdrv_buf *b, unsigned n)
{
	uint16_t head = q->next_free;

	if (n == 0 || n > q->size)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (head + i) % q->size;
		struct vdrv_desc *dsc = &q->desc[idx];

		dsc->addr = (uint64_t)(unsigned long)b[i].addr;
		dsc->len = b[i].len;
		dsc->flags = (b[i].writable ? 2 : 0) | (i + 1 < n ? 1 : 0);
		dsc->next = (head + i + 1) % q->size;
	}
	q->next_free = (head + n) % q->size;
	q->avail[2 + q->avail_idx % q->size] = head;
	barrier();   /* x86: stores are ordered; keep the compiler in line */
	q->avail_idx++;
	q->avail[1] = q->avail_idx;
	mb();        /* publish idx before checking whether the device wants a kick */
	if (!(*(volatile uint16_t *)q->used & 1))
		*q->notify_addr = q->index;
	return head;
}

int vdrv_poll(struct vdrv_queue *q, uint32_t *len, unsigned long spins)
{
	for (unsigned long i = 0; i < spins; i++) {
		uint16_t idx = *(volatile uint16_t *)(q->used + 2);

		if (idx != q->last_used) {
			volatile uint8_t *e = q->used + 4 + 8ul * (q->last_used % q->size);
			int id;

			barrier();
			id = (int)*(volatile uint32_t *)e;
			if (len)
				*len = *(volatile uint32_t *)(e + 4);
			q->last_used++;
			return id;
		}
		__asm__ __volatile__("pause");
	}
	return -1;
}
