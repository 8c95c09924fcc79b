/* pci: enumerates bus 0 through configuration mechanism #1 (PCI Local Bus
 * 3.0 3.2.2.3.2, header layout 6.1, BAR sizing 6.2.5.1) from ring 3.
 * Checks: a host bridge (class 06.00) at 00:00.0, absent functions read as
 * all-ones, every memory/I/O BAR sizes to a power of two and reads back its
 * address after sizing; -append want=VVVV:DDDD[,...] devices must be there. */
#include "rt.h"

static unsigned bars_checked;

static void check_bars(unsigned dev, unsigned fn)
{
	for (unsigned b = 0; b < 6; b++) {
		unsigned off = 0x10 + 4 * b;
		uint32_t orig = pci_cfg_read32(0, dev, fn, off);
		pci_cfg_write32(0, dev, fn, off, 0xffffffffu);
		uint32_t mask = pci_cfg_read32(0, dev, fn, off);
		pci_cfg_write32(0, dev, fn, off, orig);
		RT_CHECK_EQ(pci_cfg_read32(0, dev, fn, off), orig);
		if (mask == 0)
			continue;
		int io = orig & 1;
		uint32_t m = mask & (io ? ~3u : ~15u);
		uint64_t size = (uint64_t)(~m) + 1;
		unsigned idx = b;
		if (!io && ((orig >> 1) & 3) == 2) {        /* 64-bit BAR: upper half */
			uint32_t hi = pci_cfg_read32(0, dev, fn, off + 4);
			pci_cfg_write32(0, dev, fn, off + 4, 0xffffffffu);
			uint32_t mhi = pci_cfg_read32(0, dev, fn, off + 4);
			pci_cfg_write32(0, dev, fn, off + 4, hi);
			size = ~(((uint64_t)mhi << 32) | m) + 1;
			b++;
		}
		if (io)
			size &= 0xffffffffu;
		rt_printf("  bar%u %s size 0x%llx at 0x%x\n", idx, io ? "io" : "mem",
			  (unsigned long long)size, orig & (io ? ~3u : ~15u));
		if (size == 0 || (size & (size - 1)))
			rt_fail("00:%02x.%u BAR at 0x%x: mask 0x%x is not a power-of-two size",
				dev, fn, off, mask);
		bars_checked++;
	}
}

void rt_main(void)
{
	char found[1024] = "";
	size_t flen = 0;
	unsigned n = 0;
	for (unsigned dev = 0; dev < 32; dev++) {
		for (unsigned fn = 0; fn < 8; fn++) {
			uint32_t id = pci_cfg_read32(0, dev, fn, 0);
			if ((id & 0xffff) == 0xffff) {
				/* nothing there: the whole space reads all-ones */
				RT_CHECK_EQ(pci_cfg_read32(0, dev, fn, 8), 0xffffffffu);
				if (fn == 0)
					break;
				continue;
			}
			uint32_t cls = pci_cfg_read32(0, dev, fn, 8);
			uint8_t hdr = pci_cfg_read8(0, dev, fn, 0x0e);
			rt_printf("pci 00:%02x.%u %04x:%04x class %02x.%02x.%02x header %02x\n", dev, fn,
				  id & 0xffff, id >> 16, cls >> 24, (cls >> 16) & 0xff, (cls >> 8) & 0xff, hdr);
			RT_CHECK_EQ(pci_cfg_read16(0, dev, fn, 0), id & 0xffff);
			RT_CHECK_EQ(pci_cfg_read16(0, dev, fn, 2), id >> 16);
			flen += rt_snprintf(found + flen, flen < sizeof(found) ? sizeof(found) - flen : 0,
					    " %04x:%04x", id & 0xffff, id >> 16);
			if ((hdr & 0x7f) == 0)
				check_bars(dev, fn);
			n++;
			if (fn == 0 && !(hdr & 0x80))
				break;
		}
	}
	RT_CHECK(n > 0);
	uint32_t hb = pci_cfg_read32(0, 0, 0, 8);
	if ((hb >> 16) != 0x0600)
		rt_fail("00:00.0 is class %04x, not a host bridge (0600)", hb >> 16);
	const char *want = rt_cmdline_arg("want");
	while (want && *want) {
		char id[10];
		if (strlen(want) < 9 || want[4] != ':' || (want[9] && want[9] != ','))
			rt_fail("want= takes VVVV:DDDD[,VVVV:DDDD...]");
		memcpy(id, want, 9);
		id[9] = 0;
		char pat[12];
		rt_snprintf(pat, sizeof(pat), " %s", id);
		int ok = 0;
		for (const char *p = found; *p; p++)
			if (strncmp(p, pat, 10) == 0)
				ok = 1;
		if (!ok)
			rt_fail("no PCI device %s on bus 0", id);
		want = want[9] ? want + 10 : want + 9;
	}
	rt_printf("%u functions, %u BARs sized\n", n, bars_checked);
	rt_pass();
}
