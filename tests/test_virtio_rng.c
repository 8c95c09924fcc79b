/* Unit test for virtio-rng (devices/virtio/rng.c) behind the virtio-pci
 * transport: buffers come back filled (not zero, different each time) with
 * the right used length; read-only chains get 0 bytes; MSI-X fires. */
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/check.h"
#include "tests/virtio_pci_test_board.h"

static struct vtboard board;   /* RAM, buses, PCI host */
static uint64_t bar;
static unsigned nmsi;

static int rec_line(void *o, uint32_t gsi, int level) { return 0; }
static int rec_msi(void *o, uint64_t a, uint32_t d) { nmsi++; return 0; }
static const struct vmm_irq irq = { rec_line, rec_msi, NULL };

static void wr(uint64_t off, unsigned size, uint64_t v) { bus_write(&board.mmio, bar + off, &v, size); }
static uint64_t rd(uint64_t off, unsigned size) { uint64_t v = 0; bus_read(&board.mmio, bar + off, &v, size); return v; }
#define C(x) (VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_##x)

static void add(uint16_t head, uint64_t addr, uint32_t len, uint16_t flags)
{
	vtboard_add_desc(&board, head, addr, len, flags, 0);
}

static uint32_t used_len(unsigned i) { uint32_t v; memcpy(&v, board.ram + VTB_USED + 4 + 8 * i + 4, 4); return v; }
static uint16_t used_idx(void) { uint16_t v; memcpy(&v, board.ram + VTB_USED + 2, 2); return v; }

int main(void)
{
	struct virtio_rng *rng;
	struct virtio_pci *vp;
	static const uint8_t zero[64];

	vtboard_init(&board, &irq);
	CHECK_EQ(virtio_rng_create(&rng), 0);
	CHECK_EQ(virtio_rng_device(rng)->device_id, VIRTIO_ID_RNG);
	CHECK_EQ(virtio_pci_create(&vp, &board.host, -1, virtio_rng_device(rng), &board.mem, NULL), 0);
	struct pci_device *pd = virtio_pci_pci_device(vp);
	CHECK_EQ(pd->device_id, 0x1044);
	bar = pd->bar_addr[VIRTIO_PCI_BAR];

	vtboard_driver_start(&board.mmio, bar, 0, 1);
	/* MSI-X enable and vector 1 unmasked. */
	uint32_t ctrl = 0x8000;
	bus_write(&board.mmio, LAYOUT_PCI_ECAM_START + (pd->slot << 15) + pd->msix_cap + 2, &ctrl, 2);
	wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 0, 4, 0xfee00000);
	wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, 4, 0);
	wr(C(STATUS), 1, 3 | 8 | 4);
	CHECK(rd(C(STATUS), 1) & 4);

	add(0, VTB_BUF, 64, VIRTQ_DESC_F_WRITE);
	add(1, VTB_BUF + 64, 64, VIRTQ_DESC_F_WRITE);
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(used_idx(), 2);
	CHECK_EQ(used_len(0), 64);
	CHECK_EQ(used_len(1), 64);
	CHECK(memcmp(board.ram + VTB_BUF, zero, 64) != 0);
	CHECK(memcmp(board.ram + VTB_BUF, board.ram + VTB_BUF + 64, 64) != 0);
	CHECK(nmsi >= 1);
	CHECK_EQ(board.ram[VTB_BUF + 128], 0);   /* nothing past the buffer */

	/* A read-only buffer gets nothing written. */
	memset(board.ram + VTB_BUF + 256, 0, 16);
	add(2, VTB_BUF + 256, 16, 0);
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(used_idx(), 3);
	CHECK_EQ(used_len(2), 0);
	CHECK(memcmp(board.ram + VTB_BUF + 256, zero, 16) == 0);

	/* A bad buffer: NEEDS_RESET, no crash. */
	add(3, 0x40000000, 16, VIRTQ_DESC_F_WRITE);
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK(rd(C(STATUS), 1) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(used_idx(), 3);

	virtio_pci_destroy(vp);
	virtio_rng_destroy(rng);
	vtboard_destroy(&board);
	return check_done();
}
