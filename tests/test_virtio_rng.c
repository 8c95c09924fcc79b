/* Unit test for virtio-rng (devices/virtio/rng.c) behind the virtio-pci
 * transport: buffers come back filled (not zero, different each time) with
 * the right used length; read-only chains get 0 bytes; MSI-X fires. */
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/check.h"

#define RAM_SIZE 0x100000ULL
#define DESC  0x1000ULL
#define AVAIL 0x2000ULL
#define USED  0x3000ULL
#define BUF   0x8000ULL

static struct bus pio, mmio;
static struct pci_host host;
static struct guest_memory mem;
static uint8_t *ram;
static uint64_t bar;
static unsigned nmsi;

static int rec_line(void *o, uint32_t gsi, int level) { return 0; }
static int rec_msi(void *o, uint64_t a, uint32_t d) { nmsi++; return 0; }
static const struct vmm_irq irq = { rec_line, rec_msi, NULL };

static void wr(uint64_t off, unsigned size, uint64_t v) { bus_write(&mmio, bar + off, &v, size); }
static uint64_t rd(uint64_t off, unsigned size) { uint64_t v = 0; bus_read(&mmio, bar + off, &v, size); return v; }
#define C(x) (VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_##x)

static void add(uint16_t head, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct virtq_desc d = { addr, len, flags, 0 };
	uint16_t idx;
	memcpy(ram + DESC + 16 * head, &d, sizeof(d));
	memcpy(&idx, ram + AVAIL + 2, 2);
	memcpy(ram + AVAIL + 4 + 2 * (idx % 16), &head, 2);
	idx++;
	memcpy(ram + AVAIL + 2, &idx, 2);
}

static uint32_t used_len(unsigned i) { uint32_t v; memcpy(&v, ram + USED + 4 + 8 * i + 4, 4); return v; }
static uint16_t used_idx(void) { uint16_t v; memcpy(&v, ram + USED + 2, 2); return v; }

int main(void)
{
	struct virtio_rng *rng;
	struct virtio_pci *vp;
	static const uint8_t zero[64];

	ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	CHECK_EQ(guest_memory_add_region(&mem, 0, RAM_SIZE, ram), 0);
	CHECK_EQ(bus_init(&pio, "pio"), 0);
	CHECK_EQ(bus_init(&mmio, "mmio"), 0);
	CHECK_EQ(pci_host_init(&host, &pio, &mmio, &irq, NULL), 0);
	CHECK_EQ(virtio_rng_create(&rng), 0);
	CHECK_EQ(virtio_rng_device(rng)->device_id, VIRTIO_ID_RNG);
	CHECK_EQ(virtio_pci_create(&vp, &host, -1, virtio_rng_device(rng), &mem, NULL), 0);
	struct pci_device *pd = virtio_pci_pci_device(vp);
	CHECK_EQ(pd->device_id, 0x1044);
	bar = pd->bar_addr[VIRTIO_PCI_BAR];

	wr(C(STATUS), 1, 0);
	wr(C(STATUS), 1, 3);
	wr(C(GFSELECT), 4, 1);
	wr(C(GF), 4, 1);
	wr(C(STATUS), 1, 3 | 8);
	CHECK(rd(C(STATUS), 1) & 8);
	wr(C(Q_SELECT), 2, 0);
	wr(C(Q_SIZE), 2, 16);
	wr(C(Q_MSIX), 2, 1);
	wr(C(Q_DESCLO), 8, DESC);
	wr(C(Q_AVAILLO), 8, AVAIL);
	wr(C(Q_USEDLO), 8, USED);
	wr(C(Q_ENABLE), 2, 1);
	/* MSI-X enable and vector 1 unmasked. */
	uint32_t ctrl = 0x8000;
	bus_write(&mmio, LAYOUT_PCI_ECAM_START + (pd->slot << 15) + pd->msix_cap + 2, &ctrl, 2);
	wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 0, 4, 0xfee00000);
	wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, 4, 0);
	wr(C(STATUS), 1, 3 | 8 | 4);
	CHECK(rd(C(STATUS), 1) & 4);

	add(0, BUF, 64, VIRTQ_DESC_F_WRITE);
	add(1, BUF + 64, 64, VIRTQ_DESC_F_WRITE);
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(used_idx(), 2);
	CHECK_EQ(used_len(0), 64);
	CHECK_EQ(used_len(1), 64);
	CHECK(memcmp(ram + BUF, zero, 64) != 0);
	CHECK(memcmp(ram + BUF, ram + BUF + 64, 64) != 0);
	CHECK(nmsi >= 1);
	CHECK_EQ(ram[BUF + 128], 0);   /* nothing past the buffer */

	/* A read-only buffer gets nothing written. */
	memset(ram + BUF + 256, 0, 16);
	add(2, BUF + 256, 16, 0);
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(used_idx(), 3);
	CHECK_EQ(used_len(2), 0);
	CHECK(memcmp(ram + BUF + 256, zero, 16) == 0);

	/* A bad buffer: NEEDS_RESET, no crash. */
	add(3, 0x40000000, 16, VIRTQ_DESC_F_WRITE);
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK(rd(C(STATUS), 1) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(used_idx(), 3);

	virtio_pci_destroy(vp);
	virtio_rng_destroy(rng);
	pci_host_destroy(&host);
	bus_destroy(&pio);
	bus_destroy(&mmio);
	free(ram);
	return check_done();
}
