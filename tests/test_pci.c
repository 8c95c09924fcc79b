/* Unit tests for the PCI host (devices/pci.c), driven through the real I/O
 * buses like a guest: IDs, unclaimed functions, conf1 vs ECAM, BAR sizing,
 * BAR moves re-registering the MMIO range, capability walk, INTx, MSI-X. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "tests/check.h"

static struct bus pio, mmio;
static struct pci_host host;

struct irq_log {
	int lines[32];
	unsigned nline_calls;
	unsigned nmsi;
	uint64_t msi_addr;
	uint32_t msi_data;
};
static struct irq_log log_;

static int rec_set_line(void *o, uint32_t gsi, int level)
{
	struct irq_log *l = o;
	if (gsi < 32)
		l->lines[gsi] = level;
	l->nline_calls++;
	return 0;
}

static int rec_send_msi(void *o, uint64_t addr, uint32_t data)
{
	struct irq_log *l = o;
	l->nmsi++;
	l->msi_addr = addr;
	l->msi_data = data;
	return 0;
}

static const struct vmm_irq irq = { rec_set_line, rec_send_msi, &log_ };

/* Device BAR handlers record the last access. */
struct fake {
	struct pci_device pci;
	uint64_t last_off;
	unsigned nreads;
};

static uint64_t bar_read(void *o, uint64_t off, unsigned size)
{
	struct fake *f = o;
	f->last_off = off;
	f->nreads++;
	return 0x12345678;
}

static uint64_t msix_bar_read(void *o, uint64_t off, unsigned size)
{
	struct fake *f = o;
	if (off >= 0x800)
		return pci_msix_pba_read(&f->pci, off - 0x800, size);
	return pci_msix_table_read(&f->pci, off, size);
}

static void msix_bar_write(void *o, uint64_t off, unsigned size, uint64_t v)
{
	struct fake *f = o;
	if (off < 0x800)
		pci_msix_table_write(&f->pci, off, size, v);
}

static const struct bus_ops bar_ops = { bar_read, NULL };
static const struct bus_ops msix_ops = { msix_bar_read, msix_bar_write };

static uint32_t conf1_read(unsigned slot, unsigned reg, unsigned size)
{
	uint32_t a = 0x80000000u | slot << 11 | (reg & 0xfc), v = 0;
	bus_write(&pio, 0xcf8, &a, 4);
	bus_read(&pio, 0xcfc + (reg & 3), &v, size);
	return v;
}

static void conf1_write(unsigned slot, unsigned reg, unsigned size, uint32_t v)
{
	uint32_t a = 0x80000000u | slot << 11 | (reg & 0xfc);
	bus_write(&pio, 0xcf8, &a, 4);
	bus_write(&pio, 0xcfc + (reg & 3), &v, size);
}

static uint32_t ecam_read(unsigned bus_nr, unsigned slot, unsigned fn, unsigned reg, unsigned size)
{
	uint32_t v = 0;
	bus_read(&mmio, LAYOUT_PCI_ECAM_START + (bus_nr << 20 | slot << 15 | fn << 12 | reg), &v, size);
	return v;
}

static void ecam_write(unsigned slot, unsigned reg, unsigned size, uint32_t v)
{
	bus_write(&mmio, LAYOUT_PCI_ECAM_START + (slot << 15 | reg), &v, size);
}

static uint32_t mmio_read32(uint64_t addr)
{
	uint32_t v = 0;
	bus_read(&mmio, addr, &v, 4);
	return v;
}

int main(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct fake *g = calloc(1, sizeof(*g));

	CHECK_EQ(bus_init(&pio, "pio"), 0);
	CHECK_EQ(bus_init(&mmio, "mmio"), 0);
	CHECK_EQ(pci_host_init(&host, &pio, &mmio, &irq, NULL), 0);
	/* Byte accesses to 0xcf9 go to the reset register's handler, dword
	 * accesses at 0xcf8 stay the config address. */
	struct fake *rst = calloc(1, sizeof(*rst));
	uint8_t b9 = 0x06;
	bus_write(&pio, 0xcf9, &b9, 1);                  /* no handler: dropped */
	pci_host_set_cf9_handler(&host, &bar_ops, rst);
	bus_read(&pio, 0xcf9, &b9, 1);
	CHECK_EQ(b9, 0x78);
	CHECK_EQ(rst->nreads, 1);
	CHECK_EQ(rst->last_off, 0);

	/* Host bridge. */
	CHECK_EQ(conf1_read(0, 0, 4), PCI_HOST_DEVICE_ID << 16 | PCI_HOST_VENDOR_ID);
	CHECK_EQ(conf1_read(0, 0x0a, 2), 0x0600);
	CHECK_EQ(ecam_read(0, 0, 0, 0, 2), PCI_HOST_VENDOR_ID);

	/* Unclaimed: empty slot, other function, other bus, conf1 disabled. */
	CHECK_EQ(conf1_read(5, 0, 4), 0xffffffffu);
	CHECK_EQ(conf1_read(5, 0, 2), 0xffff);
	CHECK_EQ(ecam_read(0, 0, 1, 0, 4), 0xffffffffu);
	CHECK_EQ(ecam_read(1, 0, 0, 0, 4), 0xffffffffu);
	uint32_t a = 0x00000000, v = 0;
	bus_write(&pio, 0xcf8, &a, 4);
	bus_read(&pio, 0xcfc, &v, 4);
	CHECK_EQ(v, 0xffffffffu);
	/* The address latch reads back. */
	a = 0x80000810;
	bus_write(&pio, 0xcf8, &a, 4);
	bus_read(&pio, 0xcf8, &v, 4);
	CHECK_EQ(v, 0x80000810);

	/* A device with mem32, io, mem64 and an MSI-X BAR. */
	f->pci.name = "fake";
	f->pci.vendor_id = 0x1af4;
	f->pci.device_id = 0x1044;
	f->pci.revision = 1;
	f->pci.class_code = 0xff0000;
	f->pci.intx = true;
	f->pci.bar[0] = (struct pci_bar){ PCI_BAR_MEM32, 0x1000, false, &bar_ops, f };
	f->pci.bar[1] = (struct pci_bar){ PCI_BAR_IO, 0x20, false, &bar_ops, f };
	f->pci.bar[2] = (struct pci_bar){ PCI_BAR_MEM64, 0x4000, true, &msix_ops, f };
	uint8_t vcap[8] = { PCI_CAP_ID_VNDR, 0, 8, 0xab };
	int c1 = pci_add_capability(&f->pci, vcap, NULL, sizeof(vcap));
	CHECK_EQ(c1, 0x40);
	CHECK_EQ(pci_msix_init(&f->pci, 4, 2, 0, 0x800), 0);
	CHECK_EQ(pci_register_device(&host, &f->pci, -1), 0);
	CHECK_EQ(f->pci.slot, 1);
	CHECK_EQ(pci_register_device(&host, &g->pci, 1), -EBUSY);

	CHECK_EQ(conf1_read(1, 0, 4), 0x10441af4);
	CHECK_EQ(conf1_read(1, 8, 1), 1);
	CHECK_EQ(conf1_read(1, 0x0b, 1), 0xff);
	CHECK_EQ(conf1_read(1, PCI_INTERRUPT_PIN, 1), 1);
	CHECK_EQ(conf1_read(1, PCI_INTERRUPT_LINE, 1), 17);   /* 16 + (1 + 0) % 4 */
	CHECK_EQ(pci_intx_gsi(2, 0), 18);
	CHECK_EQ(pci_intx_gsi(3, 1), 16);
	CHECK_EQ(pci_intx_gsi(4, 3), 19);

	/* ECAM and conf1 agree on every dword of the header. */
	unsigned agree = 0;
	for (unsigned r = 0; r < 256; r += 4)
		agree += conf1_read(1, r, 4) == ecam_read(0, 1, 0, r, 4);
	CHECK_EQ(agree, 64);
	CHECK_EQ(ecam_read(0, 1, 0, 0x100, 4), 0);   /* no extended caps */

	/* Default placement: decoding, in the window, naturally aligned. */
	uint16_t cmd = conf1_read(1, PCI_COMMAND, 2);
	CHECK_EQ(cmd & 7, 7);
	uint32_t bar0 = conf1_read(1, 0x10, 4);
	CHECK(bar0 >= LAYOUT_PCI_MMIO_START && bar0 < LAYOUT_PCI_MMIO_END);
	CHECK_EQ(bar0 & 0xfff, 0);
	uint32_t bar1 = conf1_read(1, 0x14, 4);
	CHECK_EQ(bar1 & 3, 1);
	CHECK(bar1 >= 0xc000);
	uint32_t bar2 = conf1_read(1, 0x18, 4);
	CHECK_EQ(bar2 & 0xf, 0xc);                     /* 64-bit, prefetchable */
	CHECK_EQ(bar2 & 0x3fff, 0xc);
	CHECK_EQ(conf1_read(1, 0x1c, 4), 0);
	CHECK_EQ(mmio_read32(bar0 + 0x10), 0x12345678);
	CHECK_EQ(f->last_off, 0x10);
	uint16_t io = 0;
	bus_read(&pio, (bar1 & ~3u) + 4, &io, 2);
	CHECK_EQ(io, 0x5678);
	CHECK_EQ(f->last_off, 4);

	/* Sizing: all-ones reads back the size mask with the type bits. */
	conf1_write(1, PCI_COMMAND, 2, cmd & ~3);
	CHECK_EQ(mmio_read32(bar0), 0xffffffffu);       /* decode off: unclaimed */
	conf1_write(1, 0x10, 4, 0xffffffff);
	CHECK_EQ(conf1_read(1, 0x10, 4), 0xfffff000);
	conf1_write(1, 0x14, 4, 0xffffffff);
	CHECK_EQ(conf1_read(1, 0x14, 4), 0xffffffe1);
	conf1_write(1, 0x18, 4, 0xffffffff);
	conf1_write(1, 0x1c, 4, 0xffffffff);
	CHECK_EQ(conf1_read(1, 0x18, 4), 0xffffc00c);
	CHECK_EQ(conf1_read(1, 0x1c, 4), 0xffffffff);
	CHECK_EQ(conf1_read(1, 0x20, 4), 0);            /* unused BAR */
	conf1_write(1, 0x20, 4, 0xffffffff);
	CHECK_EQ(conf1_read(1, 0x20, 4), 0);
	/* Sizing pattern with decode enabled maps nothing. */
	conf1_write(1, PCI_COMMAND, 2, cmd);
	CHECK_EQ(f->pci.bar_addr[0], PCI_BAR_UNMAPPED);
	CHECK_EQ(f->pci.bar_addr[2], PCI_BAR_UNMAPPED);

	/* Move: program new addresses via ECAM; old range is gone, new one works. */
	ecam_write(1, 0x10, 4, 0xd0000000);
	ecam_write(1, 0x14, 4, 0xd000);
	ecam_write(1, 0x18, 4, 0xd0100000);
	ecam_write(1, 0x1c, 4, 0);
	CHECK_EQ(f->pci.bar_addr[0], 0xd0000000);
	CHECK_EQ(f->pci.bar_addr[2], 0xd0100000);
	f->nreads = 0;
	CHECK_EQ(mmio_read32(bar0), 0xffffffffu);
	CHECK_EQ(f->nreads, 0);
	CHECK_EQ(mmio_read32(0xd0000008), 0x12345678);
	CHECK_EQ(f->last_off, 8);
	CHECK_STR(bus_lookup_name(&mmio, 0xd0000fff), "fake");
	CHECK(bus_lookup_name(&mmio, 0xd0001000) == NULL);
	CHECK_STR(bus_lookup_name(&pio, 0xd01f), "fake");
	/* Byte write to a BAR (upper byte) moves it too. */
	conf1_write(1, 0x13, 1, 0xd1);
	CHECK_EQ(f->pci.bar_addr[0], 0xd1000000);
	/* 64-bit BAR above 4 GiB. */
	ecam_write(1, 0x1c, 4, 0x1);
	CHECK_EQ(f->pci.bar_addr[2], 0x1d0100000ULL);
	ecam_write(1, 0x1c, 4, 0);
	/* Memory decode off unmaps memory BARs but not I/O. */
	conf1_write(1, PCI_COMMAND, 2, PCI_COMMAND_IO);
	CHECK_EQ(f->pci.bar_addr[0], PCI_BAR_UNMAPPED);
	CHECK_EQ(f->pci.bar_addr[1], 0xd000);
	conf1_write(1, PCI_COMMAND, 2, 7);

	/* Capability walk: vendor cap then MSI-X, then end. */
	CHECK(conf1_read(1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	unsigned p = conf1_read(1, PCI_CAP_PTR, 1), ids[4], n = 0;
	while (p && n < 4) {
		ids[n++] = conf1_read(1, p, 1);
		p = conf1_read(1, p + 1, 1);
	}
	CHECK_EQ(n, 2);
	CHECK_EQ(ids[0], PCI_CAP_ID_VNDR);
	CHECK_EQ(ids[1], PCI_CAP_ID_MSIX);
	CHECK_EQ(conf1_read(1, 0x43, 1), 0xab);
	conf1_write(1, 0x43, 1, 0x00);                  /* read-only cap byte */
	CHECK_EQ(conf1_read(1, 0x43, 1), 0xab);
	unsigned mx = f->pci.msix_cap;
	CHECK_EQ(conf1_read(1, mx + 2, 2), 3);            /* table size - 1 */
	CHECK_EQ(conf1_read(1, mx + 4, 4), 2);            /* BIR 2, offset 0 */
	CHECK_EQ(conf1_read(1, mx + 8, 4), 0x802);

	/* Read-only header fields stay. */
	conf1_write(1, 0, 4, 0);
	CHECK_EQ(conf1_read(1, 0, 4), 0x10441af4);

	/* INTx: level and INTX_DISABLE. */
	pci_set_irq(&f->pci, 1);
	CHECK_EQ(log_.lines[17], 1);
	CHECK(conf1_read(1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	conf1_write(1, PCI_COMMAND, 2, 7 | PCI_COMMAND_INTX_DISABLE);
	CHECK_EQ(log_.lines[17], 0);
	conf1_write(1, PCI_COMMAND, 2, 7);
	CHECK_EQ(log_.lines[17], 1);
	pci_set_irq(&f->pci, 0);
	CHECK_EQ(log_.lines[17], 0);
	/* A level already driven is not sent again (one ioctl per change,
	 * not per completion). */
	unsigned calls = log_.nline_calls;
	pci_set_irq(&f->pci, 1);
	pci_set_irq(&f->pci, 1);
	pci_set_irq(&f->pci, 1);
	CHECK_EQ(log_.nline_calls, calls + 1);
	CHECK_EQ(log_.lines[17], 1);
	pci_set_irq(&f->pci, 0);
	pci_set_irq(&f->pci, 0);
	CHECK_EQ(log_.nline_calls, calls + 2);
	CHECK_EQ(log_.lines[17], 0);

	/* MSI-X: disabled -> -EAGAIN; masked vector pends; unmask delivers. */
	uint64_t tb = 0xd0100000;
	CHECK_EQ(pci_msix_notify(&f->pci, 1), -EAGAIN);
	CHECK_EQ(pci_msix_notify(&f->pci, 9), -EINVAL);
	conf1_write(1, mx + 2, 2, 0x8000);
	CHECK(pci_msix_enabled(&f->pci));
	uint32_t w = 0xfee01000;
	bus_write(&mmio, tb + 16 + 0, &w, 4);
	w = 0;
	bus_write(&mmio, tb + 16 + 4, &w, 4);
	w = 0x4041;
	bus_write(&mmio, tb + 16 + 8, &w, 4);
	CHECK_EQ(mmio_read32(tb + 16 + 12), 1);          /* masked at reset */
	CHECK_EQ(pci_msix_notify(&f->pci, 1), 0);
	CHECK_EQ(log_.nmsi, 0);
	CHECK_EQ(mmio_read32(tb + 0x800), 2);            /* pending bit 1 */
	w = 0;
	bus_write(&mmio, tb + 16 + 12, &w, 4);           /* unmask: pending delivered */
	CHECK_EQ(log_.nmsi, 1);
	CHECK_EQ(log_.msi_addr, 0xfee01000);
	CHECK_EQ(log_.msi_data, 0x4041);
	CHECK_EQ(mmio_read32(tb + 0x800), 0);
	CHECK_EQ(pci_msix_notify(&f->pci, 1), 0);
	CHECK_EQ(log_.nmsi, 2);
	/* Function mask. */
	conf1_write(1, mx + 2, 2, 0xc000);
	CHECK_EQ(pci_msix_notify(&f->pci, 1), 0);
	CHECK_EQ(log_.nmsi, 2);
	conf1_write(1, mx + 2, 2, 0x8000);
	CHECK_EQ(log_.nmsi, 3);
	/* Out-of-table accesses are harmless. */
	w = 0xdeadbeef;
	bus_write(&mmio, tb + 0x7f0, &w, 4);
	CHECK_EQ(mmio_read32(tb + 0x7f0), 0);

	pci_unregister_device(&f->pci);
	CHECK_EQ(conf1_read(1, 0, 4), 0xffffffffu);
	CHECK(bus_lookup_name(&mmio, 0xd1000000) == NULL);
	pci_host_destroy(&host);
	CHECK(bus_lookup_name(&pio, 0xcf8) == NULL);
	bus_destroy(&pio);
	bus_destroy(&mmio);
	free(f);
	free(g);
	free(rst);
	return check_done();
}
