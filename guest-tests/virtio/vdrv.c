/* Guest-side virtio-pci modern driver (virtio 1.2 sections 3.1.1, 4.1.4,
 * 2.7.13, 2.7.5.3): capability walk, feature negotiation, split queue setup
 * with a descriptor free list, indirect tables, submit and poll. Runs in ring 3
 * with IOPL=3 on the guest runtime (rt.h). */
#include "vdrv.h"

#include "rt.h"

#define barrier() __asm__ __volatile__("" ::: "memory")
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

int vdrv_find(unsigned virtio_id, unsigned nth)
{
	for (unsigned s = 0; s < 32; s++)
		if (pci_cfg_read32(0, s, 0, 0) == ((0x1040u + virtio_id) << 16 | 0x1af4u) &&
		    nth-- == 0)
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

/* Memory BARs that no firmware assigned (a -kernel boot without a BIOS that
 * enumerates PCI, e.g. QEMU with qboot) get an address from a window that
 * sits in the PCI hole of vmm's layout and of QEMU's pc and q35 machines. */
#define VDRV_BAR_WINDOW_START 0xd0000000ull
#define VDRV_BAR_WINDOW_END   0xdf000000ull
static uint64_t next_bar = VDRV_BAR_WINDOW_START;

static void assign_bar(unsigned slot, unsigned i, uint32_t lo)
{
	unsigned off = 0x10 + 4 * i;
	uint32_t mask;
	uint64_t size, addr;

	pci_cfg_write32(0, slot, 0, off, 0xffffffffu);
	mask = pci_cfg_read32(0, slot, 0, off) & ~0xfu;
	pci_cfg_write32(0, slot, 0, off, lo);
	if (!mask)
		return;   /* not implemented */
	size = (uint64_t)(~mask) + 1;
	if (size < 4096)
		size = 4096;
	addr = (next_bar + size - 1) & ~(size - 1);
	if (addr + size > VDRV_BAR_WINDOW_END)
		return;
	next_bar = addr + size;
	pci_cfg_write32(0, slot, 0, off, (uint32_t)addr | (lo & 0xf));
	if ((lo & 6) == 4 && i < 5)
		pci_cfg_write32(0, slot, 0, off + 4, 0);
}

static void read_bars(struct vdrv_dev *d)
{
	uint16_t cmd = pci_cfg_read16(0, d->slot, 0, 4);

	/* Decode off while BARs are sized (PCI 3.0 section 6.2.5.1). */
	pci_cfg_write16(0, d->slot, 0, 4, cmd & ~3u);
	for (unsigned i = 0; i < 6; i++) {
		uint32_t lo = pci_cfg_read32(0, d->slot, 0, 0x10 + 4 * i);
		int is64 = (lo & 7) == 4 && i < 5;
		uint32_t hi = is64 ? pci_cfg_read32(0, d->slot, 0, 0x14 + 4 * i) : 0;

		d->bar[i] = 0;
		if (lo & 1)
			continue;
		if ((lo & ~0xfu) == 0 && hi == 0) {
			assign_bar(d->slot, i, lo);
			lo = pci_cfg_read32(0, d->slot, 0, 0x10 + 4 * i);
		}
		d->bar[i] = (lo & ~0xfu) | (uint64_t)hi << 32;
		if (is64) {
			d->bar[i + 1] = 0;
			i++;
		}
	}
	pci_cfg_write16(0, d->slot, 0, 4, cmd);
}

int vdrv_init(struct vdrv_dev *d, unsigned slot, uint64_t want)
{
	unsigned p, guard = 0;

	memset(d, 0, sizeof(*d));
	d->slot = slot;
	read_bars(d);
	/* Memory decode and bus mastering (firmware may have left them off). */
	pci_cfg_write16(0, slot, 0, 4, pci_cfg_read16(0, slot, 0, 4) | 0x6);
	if (!(pci_cfg_read16(0, slot, 0, 6) & 0x10))
		return -1;
	for (p = pci_cfg_read8(0, slot, 0, 0x34) & 0xfc; p && guard++ < 48;
	     p = pci_cfg_read8(0, slot, 0, p + 1) & 0xfc) {
		unsigned type, bar;
		uint32_t off;
		volatile uint8_t *base;

		if (pci_cfg_read8(0, slot, 0, p) != 0x09)
			continue;
		type = pci_cfg_read8(0, slot, 0, p + 3);
		bar = pci_cfg_read8(0, slot, 0, p + 4);
		off = pci_cfg_read32(0, slot, 0, p + 8);
		if (bar > 5 || !d->bar[bar] || d->bar[bar] >= 0x100000000ULL)
			continue;
		base = (volatile uint8_t *)(uintptr_t)(d->bar[bar] + off);
		if (type == 1 && !d->common)
			d->common = base;
		else if (type == 2 && !d->notify) {
			d->notify = base;
			d->notify_mult = pci_cfg_read32(0, slot, 0, p + 16);
		} else if (type == 3 && !d->isr)
			d->isr = base;
		else if (type == 4 && !d->device)
			d->device = base;
	}
	if (!d->common || !d->notify || !d->isr)
		return -2;

	set_status(d, 0);
	for (unsigned long i = 0; vdrv_status(d) != 0; i++)
		if (i > 100000000ul)
			return -5;
	set_status(d, VDRV_S_ACKNOWLEDGE);
	set_status(d, VDRV_S_ACKNOWLEDGE | VDRV_S_DRIVER);
	CC32(d, 0x00) = 0;
	d->features = CC32(d, 0x04);
	CC32(d, 0x00) = 1;
	d->features |= (uint64_t)CC32(d, 0x04) << 32;
	if (!(d->features >> VDRV_F_VERSION_1 & 1))
		return -3;
	want |= 1ULL << VDRV_F_VERSION_1;
	want &= d->features;
	CC32(d, 0x08) = 0;
	CC32(d, 0x0c) = (uint32_t)want;
	CC32(d, 0x08) = 1;
	CC32(d, 0x0c) = (uint32_t)(want >> 32);
	set_status(d, VDRV_S_ACKNOWLEDGE | VDRV_S_DRIVER | VDRV_S_FEATURES_OK);
	if (!(vdrv_status(d) & VDRV_S_FEATURES_OK))
		return -4;
	d->negotiated = want;
	return 0;
}

int vdrv_queue_setup(struct vdrv_dev *d, struct vdrv_queue *q, unsigned index,
		     uint16_t size, int indirect)
{
	uint16_t max, noff;
	unsigned long used_off, bytes;
	uint8_t *mem;

	CC16(d, 0x16) = index;
	max = CC16(d, 0x18);
	if (max == 0 || size == 0)
		return -1;
	while (size > max)
		size >>= 1;
	/* desc at 0, avail after it, used at the next 4 KiB boundary (2.7). */
	used_off = (16ul * size + 6 + 2ul * size + 4095) & ~4095ul;
	bytes = used_off + 6 + 8ul * size;
	mem = rt_alloc_pages((bytes + 4095) / 4096);
	memset(q, 0, sizeof(*q));
	q->chain_len = rt_alloc_pages((2ul * size + 4095) / 4096);
	q->use_indirect = indirect && vdrv_has(d, VDRV_F_INDIRECT_DESC);
	if (q->use_indirect)
		q->indirect = rt_alloc_pages((16ul * VDRV_MAX_BUFS * size + 4095) / 4096);

	CC16(d, 0x18) = size;
	CC16(d, 0x1a) = 0xffff;   /* no MSI-X vector: we poll */
	noff = CC16(d, 0x1e);
	CC32(d, 0x20) = (uint32_t)(uintptr_t)mem;
	CC32(d, 0x24) = (uint32_t)((uint64_t)(uintptr_t)mem >> 32);
	CC32(d, 0x28) = (uint32_t)(uintptr_t)(mem + 16ul * size);
	CC32(d, 0x2c) = (uint32_t)((uint64_t)(uintptr_t)(mem + 16ul * size) >> 32);
	CC32(d, 0x30) = (uint32_t)(uintptr_t)(mem + used_off);
	CC32(d, 0x34) = (uint32_t)((uint64_t)(uintptr_t)(mem + used_off) >> 32);
	CC16(d, 0x1c) = 1;
	if (CC16(d, 0x1c) != 1)
		return -2;
	q->dev = d;
	q->index = index;
	q->size = size;
	q->desc = (volatile struct vdrv_desc *)mem;
	q->avail = (volatile uint16_t *)(mem + 16ul * size);
	q->used = mem + used_off;
	q->notify_addr = (volatile uint16_t *)(d->notify + (unsigned long)noff * d->notify_mult);
	for (uint16_t i = 0; i < size; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->free_head = 0;
	q->num_free = size;
	return 0;
}

void vdrv_driver_ok(struct vdrv_dev *d)
{
	set_status(d, vdrv_status(d) | VDRV_S_DRIVER_OK);
}

int vdrv_add(struct vdrv_queue *q, const struct vdrv_buf *b, unsigned n)
{
	unsigned need = (q->use_indirect && n > 1) ? 1 : n;
	uint16_t head = q->free_head, idx = head, last = head;

	if (n == 0 || n > VDRV_MAX_BUFS || need > q->num_free)
		return -1;
	if (need == 1 && n > 1) {
		struct vdrv_desc *t = q->indirect + (unsigned long)head * VDRV_MAX_BUFS;

		for (unsigned i = 0; i < n; i++) {
			t[i].addr = (uint64_t)(uintptr_t)b[i].addr;
			t[i].len = b[i].len;
			t[i].flags = (b[i].writable ? VDRV_DESC_F_WRITE : 0) |
				     (i + 1 < n ? VDRV_DESC_F_NEXT : 0);
			t[i].next = (uint16_t)(i + 1);
		}
		q->free_head = q->desc[head].next;
		q->desc[head].addr = (uint64_t)(uintptr_t)t;
		q->desc[head].len = 16u * n;
		q->desc[head].flags = VDRV_DESC_F_INDIRECT;
	} else {
		for (unsigned i = 0; i < n; i++) {
			last = idx;
			q->desc[idx].addr = (uint64_t)(uintptr_t)b[i].addr;
			q->desc[idx].len = b[i].len;
			q->desc[idx].flags = (b[i].writable ? VDRV_DESC_F_WRITE : 0) |
					     (i + 1 < n ? VDRV_DESC_F_NEXT : 0);
			idx = q->desc[idx].next;
		}
		q->free_head = idx;
		(void)last;
	}
	q->num_free = (uint16_t)(q->num_free - need);
	q->chain_len[head] = (uint16_t)need;
	q->avail[2 + q->avail_idx % q->size] = head;
	barrier();   /* x86: stores are ordered; keep the compiler in line */
	q->avail_idx++;
	q->avail[1] = q->avail_idx;
	return head;
}

void vdrv_kick(struct vdrv_queue *q)
{
	mb();        /* publish idx before checking whether the device wants a kick */
	if (!(*(volatile uint16_t *)q->used & 1))
		*q->notify_addr = q->index;
}

int vdrv_submit(struct vdrv_queue *q, const struct vdrv_buf *b, unsigned n)
{
	int head = vdrv_add(q, b, n);

	if (head >= 0)
		vdrv_kick(q);
	return head;
}

int vdrv_get_used(struct vdrv_queue *q, uint32_t *len)
{
	uint16_t idx = *(volatile uint16_t *)(q->used + 2);
	volatile uint8_t *e;
	uint32_t id;
	uint16_t n, tail;

	if (idx == q->last_used)
		return -1;
	barrier();
	e = q->used + 4 + 8ul * (q->last_used % q->size);
	id = *(volatile uint32_t *)e;
	if (len)
		*len = *(volatile uint32_t *)(e + 4);
	q->last_used++;
	if (id >= q->size)
		return -2;   /* a device bug: the caller fails the test */
	/* Put the chain back on the free list. */
	n = q->chain_len[id];
	tail = (uint16_t)id;
	for (uint16_t i = 1; i < n; i++)
		tail = q->desc[tail].next;
	q->desc[tail].next = q->free_head;
	q->free_head = (uint16_t)id;
	q->num_free = (uint16_t)(q->num_free + n);
	q->chain_len[id] = 0;
	return (int)id;
}

int vdrv_poll(struct vdrv_queue *q, uint32_t *len, unsigned long spins)
{
	for (unsigned long i = 0; i < spins; i++) {
		int id = vdrv_get_used(q, len);

		if (id != -1)
			return id;
		__asm__ __volatile__("pause");
	}
	return -1;
}
