/* The board the virtio-pci transport tests run on: fake guest RAM, port and
 * MMIO buses and the PCI host (ECAM, BAR allocation), with the test's own
 * interrupt recorder. Header-only so the CHECKs count in the test itself
 * (tests/check.h). Used by test_virtio_pci and test_virtio_rng. */
#ifndef VMM_TESTS_VIRTIO_PCI_TEST_BOARD_H
#define VMM_TESTS_VIRTIO_PCI_TEST_BOARD_H

#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/check.h"
#include "vmm/bus.h"
#include "vmm/memory.h"

/* Guest-physical layout of queue 0 and the buffers in the tests. */
#define VTB_RAM_SIZE 0x100000ULL
#define VTB_DESC  0x1000ULL
#define VTB_AVAIL 0x2000ULL
#define VTB_USED  0x3000ULL
#define VTB_BUF   0x8000ULL

struct vtboard {
	struct bus pio, mmio;
	struct pci_host host;
	struct guest_memory mem;
	uint8_t *ram;              /* VTB_RAM_SIZE bytes at guest physical 0 */
};

static inline void vtboard_init(struct vtboard *b, const struct vmm_irq *irq)
{
	memset(b, 0, sizeof(*b));
	b->ram = aligned_alloc(4096, VTB_RAM_SIZE);
	memset(b->ram, 0, VTB_RAM_SIZE);
	CHECK_EQ(guest_memory_add_region(&b->mem, 0, VTB_RAM_SIZE, b->ram), 0);
	CHECK_EQ(bus_init(&b->pio, "pio"), 0);
	CHECK_EQ(bus_init(&b->mmio, "mmio"), 0);
	CHECK_EQ(pci_host_init(&b->host, &b->pio, &b->mmio, irq, NULL), 0);
}

static inline void vtboard_destroy(struct vtboard *b)
{
	pci_host_destroy(&b->host);
	bus_destroy(&b->pio);
	bus_destroy(&b->mmio);
	free(b->ram);
}

/* Writes descriptor head {addr, len, flags, next} of queue 0 and makes it
 * available (a 16-entry ring at VTB_DESC/VTB_AVAIL). */
static inline void vtboard_add_desc(struct vtboard *b, uint16_t head, uint64_t addr, uint32_t len,
				    uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };
	uint16_t idx;
	memcpy(b->ram + VTB_DESC + 16 * head, &d, sizeof(d));
	memcpy(&idx, b->ram + VTB_AVAIL + 2, 2);
	memcpy(b->ram + VTB_AVAIL + 4 + 2 * (idx % 16), &head, 2);
	idx++;
	memcpy(b->ram + VTB_AVAIL + 2, &idx, 2);
}

/* A driver's first steps on the device whose BAR is at bar on mmio:
 * reset, ACKNOWLEDGE|DRIVER, VERSION_1 accepted (FEATURES_OK checked),
 * queue q of 16 entries at VTB_DESC/AVAIL/USED (MSI-X vector unless
 * vector < 0) enabled. DRIVER_OK is the caller's. */
static inline void vtboard_driver_start(struct bus *mmio, uint64_t bar, uint16_t q, int vector)
{
#define VTB_WR(x, size, val) do { uint64_t v_ = (val); \
	bus_write(mmio, bar + VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_##x, &v_, size); } while (0)
	uint64_t st = 0;

	VTB_WR(STATUS, 1, 0);
	VTB_WR(STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	VTB_WR(GFSELECT, 4, 1);
	VTB_WR(GF, 4, 1);                        /* VIRTIO_F_VERSION_1 */
	VTB_WR(STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	bus_read(mmio, bar + VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_STATUS, &st, 1);
	CHECK(st & VIRTIO_STATUS_FEATURES_OK);
	VTB_WR(Q_SELECT, 2, q);
	VTB_WR(Q_SIZE, 2, 16);
	if (vector >= 0)
		VTB_WR(Q_MSIX, 2, (uint16_t)vector);
	VTB_WR(Q_DESCLO, 8, VTB_DESC);
	VTB_WR(Q_AVAILLO, 8, VTB_AVAIL);
	VTB_WR(Q_USEDLO, 8, VTB_USED);
	VTB_WR(Q_ENABLE, 2, 1);
#undef VTB_WR
}

#endif
