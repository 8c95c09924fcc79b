/* Test guest: hostile input to virtio-blk from ring 3 (virtio 1.2 sections
 * 2.7.5 descriptor chains, 2.7.5.3.1 indirect descriptors, 2.1.2 device
 * status NEEDS_RESET, 4.1.4.3 common configuration, 4.1.4.3.2 queue fields,
 * 5.2.4 device configuration, PCI 3.0 6.8.2 MSI-X table and PBA).
 * Chain cases: the guest publishes a bad chain, waits for the device to set
 * DEVICE_NEEDS_RESET (or to answer without touching memory it does not own),
 * resets and re-initializes the device and checks that a read works again.
 * Chains: a descriptor loop, a buffer outside RAM, a head past the queue
 * size, an indirect loop, a nested indirect table, buffers inside MMIO (the
 * virtio BAR, the LAPIC, the IOAPIC, the PCI hole), a length that wraps
 * 2^64, buffers whose total wraps 2^32. Queue set-up: a size that is no
 * power of two, bigger than the maximum, rings outside RAM and in MMIO.
 * Registers: writes to read-only common-config fields and to the capacity,
 * MSI-X abuse (vectors out of range, bogus and masked table entries, PBA
 * writes, table rewritten while requests complete), notify storms (nothing
 * new; the same chain again). The image holds a pattern (run_guest.py):
 * only sector 3 is written (0x5a), by the last, valid request.
 * Prints "hostile <case>: ..." per case and "virtio-hostile: OK". */
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

/* The image's initial bytes (run_guest.py writes the same pattern). */
static uint8_t pattern(uint64_t sector, unsigned i)
{
	return (uint8_t)(sector * 13 + i * 7 + 1);
}

/* The sector read_ok() reads: past the 16 sectors (0x2000 bytes at sector
 * 0) that the MMIO-sourced writes below aim at. vmm refuses them; QEMU
 * carries them out with whatever its DMA reads from MMIO or unassigned
 * space (run_guest.py allows sectors 0-15 to change under QEMU only), and a
 * read of one of those sectors would then fail the reference run. */
#define READ_SECTOR 32

/* Reads READ_SECTOR and checks it still holds the pattern. */
static void read_ok(const char *name)
{
	memset(data, 0xa5, 512);
	if (vblk_rw(&blk, VBLK_T_IN, READ_SECTOR, data, 512) != VBLK_S_OK)
		rt_fail("hostile %s: read failed (status 0x%x)", name, vdrv_status(&blk.dev));
	for (unsigned i = 0; i < 512; i++)
		if (data[i] != pattern(READ_SECTOR, i))
			rt_fail("hostile %s: read returned wrong data at %u", name, i);
}

static void works_again(const char *name)
{
	reopen();
	read_ok(name);
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
	case 5: case 6: case 7: case 8: case 9: {
		/* Writes to sector 0 from MMIO (or a range wrapping 2^64), and
		 * reads into MMIO: neither may happen. */
		static const uint64_t where[] = { 0, 0xfee00000ull, 0xfec00000ull, 0xe0000000ull,
						  0xfffffffffffff000ull };
		uint64_t a = which == 5 ? (uint64_t)(uintptr_t)blk.dev.common : where[which - 5];
		int out = which == 5 || which == 7 || which == 9;

		*hdr = (struct vblk_hdr){ out ? VBLK_T_OUT : VBLK_T_IN, 0, 0 };
		set_desc(0, h, sizeof(*hdr), VDRV_DESC_F_NEXT, 1);
		set_desc(1, a, which == 9 ? 0x2000 : 512,
			 (out ? 0 : VDRV_DESC_F_WRITE) | VDRV_DESC_F_NEXT, 2);
		set_desc(2, s, 1, VDRV_DESC_F_WRITE, 0);
		publish(0);
		break;
	}
	case 10:  /* 8 x 512 MiB + 512 B of guest RAM: the total wraps 2^32 to 512 */
		*hdr = (struct vblk_hdr){ VBLK_T_OUT, 0, 0 };
		set_desc(0, h, sizeof(*hdr), VDRV_DESC_F_NEXT, 1);
		for (unsigned i = 1; i <= 8; i++)
			set_desc(i, 0x1000000, 0x20000000, VDRV_DESC_F_NEXT, (uint16_t)(i + 1));
		set_desc(9, d, 512, VDRV_DESC_F_NEXT, 10);
		set_desc(10, s, 1, VDRV_DESC_F_WRITE, 0);
		publish(0);
		break;
	}
	expect_reset(name);
	works_again(name);
}

/* --- queue set-up ------------------------------------------------------ */

#define CC8(o)  (*(volatile uint8_t *)(blk.dev.common + (o)))
#define CC16(o) (*(volatile uint16_t *)(blk.dev.common + (o)))
#define CC32(o) (*(volatile uint32_t *)(blk.dev.common + (o)))

static void set_ring(unsigned off, uint64_t addr)
{
	CC32(off) = (uint32_t)addr;
	CC32(off + 4) = (uint32_t)(addr >> 32);
}

/* Reset and FEATURES_OK, then queue 0 by hand: size, rings, enable. */
static void bad_queue(const char *name, uint16_t size, uint64_t rings)
{
	int slot = vdrv_find(2, 0);
	uint16_t max, got;
	uint8_t *mem = rt_alloc_pages(4);   /* room for max-size rings */

	if (slot < 0 || vdrv_init(&blk.dev, (unsigned)slot, 0) != 0)
		rt_fail("hostile %s: re-init failed", name);
	CC16(0x16) = 0;
	max = CC16(0x18);
	CC16(0x18) = size;
	got = CC16(0x18);
	if (got > max)
		rt_fail("hostile %s: queue_size reads %u, above the maximum %u", name, got, max);
	set_ring(0x20, rings ? rings : (uint64_t)(uintptr_t)mem);
	set_ring(0x28, rings ? rings + 0x1000 : (uint64_t)(uintptr_t)(mem + 0x1000));
	set_ring(0x30, rings ? rings + 0x2000 : (uint64_t)(uintptr_t)(mem + 0x3000));
	CC16(0x1c) = 1;
	vdrv_driver_ok(&blk.dev);
	if (vdrv_status(&blk.dev) & VDRV_S_NEEDS_RESET)
		rt_printf("hostile %s: NEEDS_RESET\n", name);
	else
		rt_printf("hostile %s: accepted (queue_size %u of %u, enable %u)\n", name, got, max,
			  CC16(0x1c));
	works_again(name);
}

/* --- registers --------------------------------------------------------- */

/* Read-only fields (4.1.4.3, 5.2.4): a write changes nothing. */
static void ro_fields(void)
{
	volatile uint32_t *cap = (volatile uint32_t *)blk.dev.device;
	uint32_t df, cap0 = cap[0], cap1 = cap[1];
	uint16_t nq, noff;
	uint8_t gen;

	CC32(0x00) = 0;
	df = CC32(0x04);
	nq = CC16(0x12);
	gen = CC8(0x15);
	CC16(0x16) = 0;
	noff = CC16(0x1e);
	CC32(0x04) = ~df;
	CC16(0x12) = 0x7fff;
	CC8(0x15) = (uint8_t)(gen + 17);
	CC16(0x1e) = (uint16_t)(noff + 0x123);
	cap[0] = 0xffffffffu;
	cap[1] = 0x7fffffffu;
	if (CC32(0x04) != df || CC16(0x12) != nq || CC8(0x15) != gen || CC16(0x1e) != noff)
		rt_fail("hostile ro-common: a read-only field changed");
	if (cap[0] != cap0 || cap[1] != cap1)
		rt_fail("hostile ro-config: the capacity changed");
	rt_printf("hostile ro-common: ignored\nhostile ro-config: ignored\n");
	read_ok("ro-fields");
}

/* MSI-X (PCI 3.0 6.8.2): capability 0x11 of the virtio-blk function. */
static void msix_abuse(void)
{
	unsigned slot = blk.dev.slot, p, guard = 0, nvec;
	volatile uint32_t *tab, *pba;
	uint64_t pba0;

	for (p = pci_cfg_read8(0, slot, 0, 0x34) & 0xfc; p && guard++ < 48;
	     p = pci_cfg_read8(0, slot, 0, p + 1) & 0xfc)
		if (pci_cfg_read8(0, slot, 0, p) == 0x11)
			break;
	if (!p || guard >= 48) {
		rt_printf("hostile msix: no MSI-X capability\n");
		return;
	}
	{
		uint32_t t = pci_cfg_read32(0, slot, 0, p + 4), b = pci_cfg_read32(0, slot, 0, p + 8);

		nvec = (pci_cfg_read16(0, slot, 0, p + 2) & 0x7ff) + 1;
		tab = (volatile uint32_t *)(uintptr_t)(blk.dev.bar[t & 7] + (t & ~7u));
		pba = (volatile uint32_t *)(uintptr_t)(blk.dev.bar[b & 7] + (b & ~7u));
	}
	/* Vectors out of range read back as NO_VECTOR (4.1.4.3.2). */
	CC16(0x10) = 0x7ff;
	CC16(0x16) = 0;
	CC16(0x1a) = (uint16_t)(nvec + 5);
	if (CC16(0x10) != 0xffff || CC16(0x1a) != 0xffff)
		rt_fail("hostile msix: out-of-range vectors read back as 0x%x/0x%x", CC16(0x10),
			CC16(0x1a));
	/* Enable MSI-X; queue 0 -> entry 0 with a bogus address (ExtINT data:
	 * nothing a guest with IF=0 would take), config -> entry 1 masked. */
	pci_cfg_write16(0, slot, 0, p + 2, 0x8000);
	tab[0] = 0xdead0000u; tab[1] = 0xffffffffu; tab[2] = 0x7ff; tab[3] = 0;
	tab[4] = 0xfee00000u; tab[5] = 0; tab[6] = 0x7ff; tab[7] = 1;
	CC16(0x10) = 1;
	CC16(0x1a) = 0;
	/* Entries past the table and writes to the PBA are ignored. */
	tab[4 * nvec + 8] = 0x12345678u;
	pba0 = pba[0] | (uint64_t)pba[1] << 32;
	pba[0] = 0xffffffffu;
	pba[1] = 0xffffffffu;
	if ((pba[0] | (uint64_t)pba[1] << 32) != pba0)
		rt_fail("hostile msix: a PBA write changed pending bits");
	/* Requests completing while the table is rewritten (masked, unmasked,
	 * other bogus addresses). */
	for (unsigned i = 0; i < 16; i++) {
		if (vblk_submit(&blk, 0, VBLK_T_IN, 1, data, 512) < 0)
			rt_fail("hostile msix: submit failed");
		vdrv_kick(&blk.q);
		for (unsigned long spin = 0;; spin++) {
			int st;

			tab[0] = 0xdead0000u + 0x1000u * (spin & 0xff);
			tab[3] = (uint32_t)(spin + i) & 1;
			if (vblk_complete(&blk, &st) >= 0) {
				if (st != VBLK_S_OK)
					rt_fail("hostile msix: read status %d", st);
				break;
			}
			if (spin > (1ul << 30))
				rt_fail("hostile msix: no completion (status 0x%x)", vdrv_status(&blk.dev));
			if (vdrv_status(&blk.dev) & VDRV_S_NEEDS_RESET)
				rt_fail("hostile msix: NEEDS_RESET");
		}
	}
	tab[3] = 1;
	read_ok("msix");
	rt_printf("hostile msix: survived (%u vectors, PBA 0x%lx)\n", nvec,
		  (unsigned long)(pba[0] | (uint64_t)pba[1] << 32));
	CC16(0x1a) = 0xffff;
	CC16(0x10) = 0xffff;
	pci_cfg_write16(0, slot, 0, p + 2, 0);
}

/* Notify storms: n notifies with nothing new, then with the same chain
 * published 8 times (in flight 8 times at once). */
static void notify_storm(unsigned long n)
{
	struct vdrv_queue *q = &blk.q;
	volatile uint16_t *used_idx = (volatile uint16_t *)(q->used + 2);
	uint16_t want;

	for (unsigned long i = 0; i < n; i++)
		*q->notify_addr = q->index;
	read_ok("storm-empty");
	rt_printf("hostile storm-empty: %lu notifies survived\n", n);

	*hdr = (struct vblk_hdr){ VBLK_T_IN, 0, 2 };
	set_desc(0, (uint64_t)(uintptr_t)hdr, sizeof(*hdr), VDRV_DESC_F_NEXT, 1);
	set_desc(1, (uint64_t)(uintptr_t)data, 512, VDRV_DESC_F_WRITE | VDRV_DESC_F_NEXT, 2);
	set_desc(2, (uint64_t)(uintptr_t)status, 1, VDRV_DESC_F_WRITE, 0);
	want = (uint16_t)(q->last_used + 8);
	for (unsigned i = 0; i < 8; i++)
		q->avail[2 + (q->avail_idx + i) % q->size] = 0;
	__asm__ __volatile__("" ::: "memory");
	q->avail_idx = (uint16_t)(q->avail_idx + 8);
	q->avail[1] = q->avail_idx;
	for (unsigned long i = 0; i < n; i++)
		*q->notify_addr = q->index;
	for (unsigned long spin = 0; *used_idx != want; spin++) {
		if (vdrv_status(&blk.dev) & VDRV_S_NEEDS_RESET)
			break;
		if (spin > (1ul << 32))
			rt_fail("hostile storm-same-chain: used idx %u, want %u", *used_idx, want);
		rt_pause();
	}
	rt_printf("hostile storm-same-chain: %s\n",
		  vdrv_status(&blk.dev) & VDRV_S_NEEDS_RESET ? "NEEDS_RESET" : "all 8 completed");
	works_again("storm-same-chain");
}

void rt_main(void)
{
	static const char *const names[] = { "loop", "outside-ram", "head-out-of-range",
					     "indirect-loop", "nested-indirect", "in-virtio-bar",
					     "in-lapic", "in-ioapic", "in-pci-hole", "len-wraps-2^64",
					     "total-wraps-2^32" };
	const char *arg = rt_cmdline_arg("storm");
	unsigned long storm = arg ? (unsigned long)rt_strtoull(arg, NULL) : 20000;

	hdr = rt_alloc_pages(1);
	data = rt_alloc_pages(1);
	status = rt_alloc_pages(1);
	itab = rt_alloc_pages(1);
	reopen();
	rt_printf("virtio-hostile: capacity %lu, indirect %s, RAM %lu MiB\n",
		  (unsigned long)blk.capacity,
		  vdrv_has(&blk.dev, VDRV_F_INDIRECT_DESC) ? "yes" : "no",
		  (unsigned long)(rt_ram_bytes() >> 20));
	read_ok("first");
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
		if ((i == 3 || i == 4) && !vdrv_has(&blk.dev, VDRV_F_INDIRECT_DESC))
			continue;
		if (i == 10 && rt_ram_bytes() < 0x21000000ull) {
			rt_printf("hostile %s: skipped (needs 528 MiB of RAM)\n", names[i]);
			continue;
		}
		bad_case(names[i], i);
		if (i == 10 && *status == VBLK_S_OK)
			rt_fail("hostile %s: the device accepted a 4 GiB write", names[i]);
	}
	bad_queue("qsize-not-pow2", 12, 0);
	bad_queue("qsize-too-big", 0x8000, 0);
	bad_queue("rings-outside-ram", 16, rt_ram_bytes() + (64ull << 30));
	bad_queue("rings-in-mmio", 16, (uint64_t)(uintptr_t)blk.dev.common);
	ro_fields();
	msix_abuse();
	works_again("msix");
	notify_storm(storm);
	/* The one write: sector 3 (run_guest.py checks the rest is untouched). */
	memset(data, 0x5a, 512);
	if (vblk_rw(&blk, VBLK_T_OUT, 3, data, 512) != VBLK_S_OK)
		rt_fail("hostile: the final write failed");
	rt_printf("virtio-hostile: OK\n");
	rt_pass();
}
