/* Unit tests for the virtio-pci modern transport (devices/virtio/virtio_pci.c),
 * driven through bus accesses the way a driver does (virtio 1.2 3.1.1, 4.1):
 * capabilities, reset, feature negotiation, queue setup, notify, MSI-X and
 * INTx/ISR interrupts, NEEDS_RESET after a malformed chain. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio/virtio_pci.h"
#include "tests/check.h"
#include "tests/virtio_pci_test_board.h"

static struct vtboard board;   /* RAM, buses, PCI host */

static struct { int line[32]; unsigned nmsi; uint32_t last_data; } irqlog;
static int rec_line(void *o, uint32_t gsi, int level) { if (gsi < 32) irqlog.line[gsi] = level; return 0; }
static int rec_msi(void *o, uint64_t a, uint32_t d) { irqlog.nmsi++; irqlog.last_data = d; return 0; }
static const struct vmm_irq irq = { rec_line, rec_msi, NULL };

/* A fake device: two queues, 8 bytes of config; echoes 'X' into in buffers. */
struct fakedev {
	struct virtio_device vdev;
	uint8_t config[8];
	unsigned notifies[2], activates, resets, completed;
	int last_pop;
};

static void fake_notify(struct virtio_device *vdev, unsigned qidx)
{
	struct fakedev *f = vdev->opaque;
	static struct virtq_elem elem;
	int rc;

	f->notifies[qidx]++;
	while ((rc = virtq_pop(&vdev->vq[qidx], &elem)) == 1) {
		size_t n = virtq_elem_write(&elem, 0, "X", 1);
		virtq_push(&vdev->vq[qidx], elem.head, n);
		f->completed++;
	}
	f->last_pop = rc;
	virtio_notify_used(vdev, qidx);
}

static int fake_activate(struct virtio_device *vdev) { ((struct fakedev *)vdev->opaque)->activates++; return 0; }
static void fake_reset(struct virtio_device *vdev) { ((struct fakedev *)vdev->opaque)->resets++; }

static const struct virtio_device_ops fake_ops = {
	.activate = fake_activate, .queue_notify = fake_notify, .reset = fake_reset,
};

static unsigned slot;
static uint64_t bar;

static uint32_t cfg_read(unsigned reg, unsigned size)
{
	uint32_t v = 0;
	bus_read(&board.mmio, LAYOUT_PCI_ECAM_START + (slot << 15) + reg, &v, size);
	return v;
}

static void cfg_write(unsigned reg, unsigned size, uint32_t v)
{
	bus_write(&board.mmio, LAYOUT_PCI_ECAM_START + (slot << 15) + reg, &v, size);
}

static uint64_t rd(uint64_t off, unsigned size)
{
	uint64_t v = 0;
	bus_read(&board.mmio, bar + off, &v, size);
	return v;
}

static void wr(uint64_t off, unsigned size, uint64_t v)
{
	bus_write(&board.mmio, bar + off, &v, size);
}

#define C(x) (VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_##x)

static void set_status(uint8_t s) { wr(C(STATUS), 1, s); }
static uint8_t status(void) { return rd(C(STATUS), 1); }

static void negotiate(uint64_t f)
{
	set_status(0);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(C(GFSELECT), 4, 0);
	wr(C(GF), 4, (uint32_t)f);
	wr(C(GFSELECT), 4, 1);
	wr(C(GF), 4, f >> 32);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void setup_queue0(uint16_t vector)
{
	wr(C(Q_SELECT), 2, 0);
	wr(C(Q_SIZE), 2, 16);
	wr(C(Q_MSIX), 2, vector);
	wr(C(Q_DESCLO), 4, VTB_DESC);
	wr(C(Q_DESCHI), 4, 0);
	wr(C(Q_AVAILLO), 8, VTB_AVAIL);   /* 64-bit access works too */
	wr(C(Q_USEDLO), 4, VTB_USED);
	wr(C(Q_USEDHI), 4, 0);
	wr(C(Q_ENABLE), 2, 1);
}

static void add_chain(uint16_t head, uint16_t flags, uint16_t next)
{
	vtboard_add_desc(&board, head, VTB_BUF, 4, flags, next);
}

static uint16_t used_idx(void) { uint16_t v; memcpy(&v, board.ram + VTB_USED + 2, 2); return v; }

/* Host hook recorder: the KVM ioeventfd registrations the transport asks for. */
struct ioev { int fd; uint64_t addr; unsigned len; bool assigned; };
static struct ioev ioevs[8];
static unsigned nioev, nioev_calls;

static int rec_ioeventfd(void *opaque, int fd, uint64_t addr, unsigned len, bool is_mmio, bool deassign)
{
	nioev_calls++;
	if (!is_mmio)
		return -EINVAL;
	for (unsigned i = 0; i < nioev; i++)
		if (ioevs[i].fd == fd && ioevs[i].addr == addr && ioevs[i].len == len) {
			if (ioevs[i].assigned == !deassign)
				return deassign ? -ENOENT : -EEXIST;
			ioevs[i].assigned = !deassign;
			return 0;
		}
	if (deassign || nioev == 8)
		return -ENOENT;
	ioevs[nioev++] = (struct ioev){ fd, addr, len, true };
	return 0;
}

static const struct ioev *ioev_at(uint64_t addr)
{
	for (unsigned i = 0; i < nioev; i++)
		if (ioevs[i].addr == addr && ioevs[i].assigned)
			return &ioevs[i];
	return NULL;
}

/* With the ioeventfd hook and an event loop, notifications arrive on the
 * loop's thread through the eventfd, and BAR moves re-register them. */
static void test_ioeventfd(void)
{
	struct pci_host h2;
	struct bus p2, m2;
	struct event_loop *loop;
	struct virtio_pci *vp;
	struct fakedev *f = calloc(1, sizeof(*f));
	const struct pci_host_hooks hooks = { rec_ioeventfd, NULL };

	CHECK_EQ(bus_init(&p2, "pio"), 0);
	CHECK_EQ(bus_init(&m2, "mmio"), 0);
	CHECK_EQ(event_loop_create(&loop), 0);
	CHECK_EQ(pci_host_init(&h2, &p2, &m2, &irq, &hooks), 0);
	f->vdev = (struct virtio_device){ .name = "fake-ioev", .device_id = VIRTIO_ID_NET, .num_queues = 2,
					  .queue_size_max = 16, .ops = &fake_ops, .opaque = f };
	CHECK_EQ(virtio_pci_create(&vp, &h2, 3, &f->vdev, &board.mem, loop), 0);
	struct pci_device *pd = virtio_pci_pci_device(vp);
	uint64_t b = pd->bar_addr[VIRTIO_PCI_BAR];
	CHECK(b != PCI_BAR_UNMAPPED);
	const struct ioev *e0 = ioev_at(b + VIRTIO_PCI_NOTIFY_OFF);
	const struct ioev *e1 = ioev_at(b + VIRTIO_PCI_NOTIFY_OFF + 4);
	CHECK(e0 && e1);
	if (!e0 || !e1)
		return;
	CHECK_EQ(e0->len, 2);
	CHECK(e0->fd != e1->fd);

	/* Move the BAR: old registrations gone, new ones in place. */
	uint32_t v = 0xd0000000;
	bus_write(&m2, LAYOUT_PCI_ECAM_START + (3 << 15) + 0x10 + 4 * VIRTIO_PCI_BAR, &v, 4);
	CHECK_EQ(pd->bar_addr[VIRTIO_PCI_BAR], 0xd0000000);
	CHECK(ioev_at(b + VIRTIO_PCI_NOTIFY_OFF) == NULL);
	e1 = ioev_at(0xd0000000 + VIRTIO_PCI_NOTIFY_OFF + 4);
	CHECK(e1 != NULL);
	/* Decode off: deassigned. */
	uint16_t cmd = 0;
	bus_write(&m2, LAYOUT_PCI_ECAM_START + (3 << 15) + PCI_COMMAND, &cmd, 2);
	CHECK(ioev_at(0xd0000000 + VIRTIO_PCI_NOTIFY_OFF) == NULL);
	cmd = PCI_COMMAND_MEMORY;
	bus_write(&m2, LAYOUT_PCI_ECAM_START + (3 << 15) + PCI_COMMAND, &cmd, 2);
	e1 = ioev_at(0xd0000000 + VIRTIO_PCI_NOTIFY_OFF + 4);
	CHECK(e1 != NULL);

	/* Bring queue 1 up through the bus, then kick through the eventfd. */
	bar = 0xd0000000;
	vtboard_driver_start(&m2, bar, 1, -1);
	uint64_t w = 15;
	bus_write(&m2, bar + C(STATUS), &w, 1);
	uint64_t one = 1;
	CHECK_EQ(write(e1->fd, &one, sizeof(one)), (long)sizeof(one));
	CHECK_EQ(event_loop_run_once(loop, 1000), 1);
	CHECK_EQ(f->notifies[1], 1);
	CHECK_EQ(f->notifies[0], 0);

	unsigned calls = nioev_calls;
	virtio_pci_destroy(vp);
	CHECK(nioev_calls > calls);          /* unmapping deassigned them */
	CHECK(ioev_at(0xd0000000 + VIRTIO_PCI_NOTIFY_OFF + 4) == NULL);
	pci_host_destroy(&h2);
	event_loop_destroy(loop);
	bus_destroy(&p2);
	bus_destroy(&m2);
	free(f);
}

/* Reset waits for a notify in progress on another thread, and the device's
 * reset callback runs only after it returned. */
static volatile int slow_in, slow_order_ok = -1, slow_resets;
static void slow_notify(struct virtio_device *vdev, unsigned qidx)
{
	slow_in = 1;
	usleep(50000);
	slow_in = 0;
}
static void slow_reset(struct virtio_device *vdev)
{
	if (slow_order_ok == -1 || slow_order_ok == 1)
		slow_order_ok = !slow_in;
	slow_resets++;
}
static const struct virtio_device_ops slow_ops = { .queue_notify = slow_notify, .reset = slow_reset };

static void *kicker(void *arg)
{
	uint16_t q0 = 0;
	bus_write(&board.mmio, bar + VIRTIO_PCI_NOTIFY_OFF, &q0, 2);
	return arg;
}

static void test_reset_waits_for_kick(void)
{
	struct fakedev *f = calloc(1, sizeof(*f));
	struct virtio_pci *vp;
	pthread_t t;

	f->vdev = (struct virtio_device){ .name = "slow", .device_id = VIRTIO_ID_RNG, .num_queues = 1,
					  .queue_size_max = 16, .ops = &slow_ops, .opaque = f };
	CHECK_EQ(virtio_pci_create(&vp, &board.host, -1, &f->vdev, &board.mem, NULL), 0);
	slot = virtio_pci_pci_device(vp)->slot;
	bar = virtio_pci_pci_device(vp)->bar_addr[VIRTIO_PCI_BAR];
	negotiate(1ULL << VIRTIO_F_VERSION_1);
	setup_queue0(VIRTIO_PCI_NO_VECTOR);
	set_status(status() | VIRTIO_STATUS_DRIVER_OK);
	slow_order_ok = -1;
	slow_resets = 0;
	CHECK_EQ(pthread_create(&t, NULL, kicker, NULL), 0);
	for (int i = 0; i < 1000 && !slow_in; i++)
		usleep(1000);
	CHECK(slow_in);
	set_status(0);                 /* must wait for the kick */
	CHECK(!slow_in);
	CHECK_EQ(slow_resets, 1);
	CHECK_EQ(slow_order_ok, 1);
	pthread_join(t, NULL);
	virtio_pci_destroy(vp);
	free(f);
}

/* Common config at every field's natural size, and odd-size, odd-offset and
 * cross-field accesses (drivers must not make them, 4.1.3.1, but guests may):
 * the bytes at those offsets of the little-endian 4.1.4.3 layout, reads past
 * its 56 bytes return 0; a write is read-modify-write of each field it touches
 * (read-only ones ignored, queue fields those of the queue selected before
 * it), and one that touches device_status other than a 1-byte write is
 * ignored whole. Expected values were taken from the transport that built
 * the whole image per access, before it read single fields. */
static void test_common_access(void)
{
	struct fakedev *f = calloc(1, sizeof(*f));
	struct virtio_pci *vp;

	f->vdev = (struct virtio_device){ .name = "fake-common", .device_id = VIRTIO_ID_RNG, .num_queues = 2,
					  .queue_size_max = 256, .device_features = 1ULL << 5,
					  .ops = &fake_ops, .opaque = f };
	CHECK_EQ(virtio_pci_create(&vp, &board.host, -1, &f->vdev, &board.mem, NULL), 0);
	slot = virtio_pci_pci_device(vp)->slot;
	bar = virtio_pci_pci_device(vp)->bar_addr[VIRTIO_PCI_BAR];
	negotiate(1ULL << VIRTIO_F_VERSION_1 | 1ULL << 5);     /* leaves gfselect 1 */
	f->vdev.transport->notify_config(&f->vdev);
	f->vdev.transport->notify_config(&f->vdev);            /* config_generation 2 */
	wr(C(DFSELECT), 4, 1);
	wr(C(MSIX), 2, 2);
	wr(C(Q_SELECT), 2, 1);
	wr(C(Q_SIZE), 2, 64);
	wr(C(Q_MSIX), 2, 1);
	wr(C(Q_DESCLO), 8, 0x0000000412345678ULL);
	wr(C(Q_AVAILLO), 4, 0xabcdef00);
	wr(C(Q_AVAILHI), 4, 0);
	wr(C(Q_USEDLO), 8, 0x1111222233334444ULL);

	wr(C(DFSELECT), 4, 0);
	CHECK_EQ(rd(C(DF), 4), 1u << 5 | 1u << VIRTIO_F_INDIRECT_DESC | 1u << VIRTIO_F_EVENT_IDX);
	wr(C(DFSELECT), 4, 2);
	CHECK_EQ(rd(C(DF), 4), 0);
	wr(C(DFSELECT), 4, 1);
	static const struct { uint64_t off; unsigned size; uint64_t val; } reads[] = {
		/* Natural sizes. */
		{ C(DFSELECT), 4, 1 },
		{ C(DF), 4, 1 },                             /* VERSION_1 */
		{ C(GFSELECT), 4, 1 },
		{ C(GF), 4, 1 },
		{ C(MSIX), 2, 2 },
		{ C(NUMQ), 2, 2 },
		{ C(STATUS), 1, 0x0b },
		{ C(CFGGEN), 1, 2 },
		{ C(Q_SELECT), 2, 1 },
		{ C(Q_SIZE), 2, 64 },
		{ C(Q_MSIX), 2, 1 },
		{ C(Q_ENABLE), 2, 0 },
		{ C(Q_NOFF), 2, 1 },
		{ C(Q_DESCLO), 4, 0x12345678 },
		{ C(Q_DESCHI), 4, 4 },
		{ C(Q_DESCLO), 8, 0x0000000412345678ULL },
		{ C(Q_AVAILLO), 4, 0xabcdef00 },
		{ C(Q_AVAILHI), 4, 0 },
		{ C(Q_AVAILLO), 8, 0xabcdef00ULL },
		{ C(Q_USEDLO), 4, 0x33334444 },
		{ C(Q_USEDHI), 4, 0x11112222 },
		{ C(Q_USEDLO), 8, 0x1111222233334444ULL },
		/* Odd sizes and offsets, across fields. */
		{ 0x02, 4, 0x00010000 },
		{ 0x0e, 4, 0x00020000 },
		{ 0x11, 2, 0x0200 },
		{ 0x13, 4, 0x01020b00 },
		{ 0x14, 4, 0x0001020b },
		{ 0x10, 8, 0x0001020b00020002ULL },
		{ 0x15, 1, 2 },
		{ 0x1e, 4, 0x56780001 },
		{ 0x21, 2, 0x3456 },
		{ 0x23, 2, 0x0412 },
		{ 0x24, 8, 0xabcdef0000000004ULL },
		{ 0x31, 1, 0x44 },
		{ 0x34, 4, 0x11112222 },
		{ 0x36, 2, 0x1111 },
		{ 0x37, 1, 0x11 },
		{ 0x35, 4, 0 },                      /* crosses the end */
		{ 0x38, 1, 0 },                      /* past the end */
		{ 0x30, 8, 0x1111222233334444ULL },
		{ 0x31, 8, 0 },
	};
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		uint64_t v = rd(reads[i].off, reads[i].size);

		CHECK_EQ(v, reads[i].val);
		if (v != reads[i].val)
			fprintf(stderr, "  common read at 0x%llx, %u bytes\n",
				(unsigned long long)reads[i].off, reads[i].size);
	}

	/* A queue that does not exist: its fields read 0, queue_select does not. */
	wr(C(Q_SELECT), 2, 5);
	CHECK_EQ(rd(C(Q_SELECT), 2), 5);
	CHECK_EQ(rd(0x14, 4), 0x0005020b);
	CHECK_EQ(rd(0x16, 4), 5);
	CHECK_EQ(rd(0x18, 8), 0);
	CHECK_EQ(rd(C(Q_NOFF), 2), 0);
	CHECK_EQ(rd(0x20, 8), 0);
	CHECK_EQ(rd(0x2c, 8), 0);
	wr(C(Q_SELECT), 2, 1);

	/* Odd writes: read-modify-write of each field touched. */
	wr(0x01, 1, 0x01);                                     /* driver_feature_select byte 1 */
	CHECK_EQ(rd(C(DFSELECT), 4), 0x101);
	CHECK_EQ(rd(C(DF), 4), 0);
	wr(C(DFSELECT), 4, 1);
	wr(0x10, 4, 0x00050001);                               /* msix_config + read-only num_queues */
	CHECK_EQ(rd(C(MSIX), 2), 1);
	CHECK_EQ(rd(C(NUMQ), 2), 2);
	wr(0x14, 4, 0x00000000);                               /* touches status, not 1 byte: ignored */
	CHECK_EQ(rd(C(STATUS), 1), 0x0b);
	CHECK_EQ(rd(C(Q_SELECT), 2), 1);
	wr(0x12, 4, 0x0000ffff);
	CHECK_EQ(rd(C(STATUS), 1), 0x0b);
	wr(0x16, 4, 0x00200000);                               /* queue_select 0, size of queue 1 */
	CHECK_EQ(rd(C(Q_SELECT), 2), 0);
	CHECK_EQ(rd(C(Q_SIZE), 2), 256);
	wr(C(Q_SELECT), 2, 1);
	CHECK_EQ(rd(C(Q_SIZE), 2), 0x20);
	wr(0x19, 2, 0x0200);                                   /* size byte 1, msix byte 0 */
	CHECK_EQ(rd(C(Q_SIZE), 2), 0x20);
	CHECK_EQ(rd(C(Q_MSIX), 2), 2);
	wr(0x19, 2, 0x0301);                                   /* size 0x120 > max: clamped */
	CHECK_EQ(rd(C(Q_SIZE), 2), 256);
	CHECK_EQ(rd(C(Q_MSIX), 2), VIRTIO_PCI_NO_VECTOR);      /* vector 3 unsupported */
	wr(0x22, 4, 0xdead);                                   /* queue_desc bytes 2-5 */
	CHECK_EQ(rd(C(Q_DESCLO), 8), 0x00000000dead5678ULL);
	wr(0x2e, 4, 0x12345678);                               /* driver bytes 6-7, device bytes 0-1 */
	CHECK_EQ(rd(C(Q_AVAILLO), 8), 0x56780000abcdef00ULL);
	CHECK_EQ(rd(C(Q_USEDLO), 8), 0x1111222233331234ULL);
	wr(0x1e, 2, 7);                                        /* queue_notify_off is read-only */
	CHECK_EQ(rd(C(Q_NOFF), 2), 1);
	wr(0x36, 4, 0);                                        /* crosses the end: ignored */
	CHECK_EQ(rd(C(Q_USEDHI), 4), 0x11112222);
	CHECK_EQ(rd(C(Q_SIZE), 2), 256);

	/* One 8-byte write selecting a queue that does not exist and enabling:
	 * the queue enabled is the one selected before (the image-based code
	 * set up vq[new selection], past the array). */
	wr(C(Q_SELECT), 2, 0);
	wr(C(Q_DESCLO), 8, VTB_DESC);
	wr(C(Q_AVAILLO), 8, VTB_AVAIL);
	wr(C(Q_USEDLO), 8, VTB_USED);
	wr(C(Q_SELECT), 8, 0x1234 | 16ULL << 16 | 0xffffULL << 32 | 1ULL << 48);
	CHECK_EQ(rd(C(Q_SELECT), 2), 0x1234);
	CHECK_EQ(rd(C(Q_ENABLE), 2), 0);
	wr(C(Q_SELECT), 2, 0);
	CHECK_EQ(rd(C(Q_ENABLE), 2), 1);
	CHECK_EQ(rd(C(Q_SIZE), 2), 16);
	CHECK(f->vdev.vq[0].ready);
	CHECK_EQ(status() & VIRTIO_STATUS_NEEDS_RESET, 0);

	virtio_pci_destroy(vp);
	free(f);
}

int main(void)
{
	struct fakedev *f = calloc(1, sizeof(*f));
	struct virtio_pci *vp;

	vtboard_init(&board, &irq);

	memcpy(f->config, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	f->vdev = (struct virtio_device){ .name = "fake", .device_id = VIRTIO_ID_RNG, .num_queues = 2,
					  .queue_size_max = 256, .device_features = 1ULL << 5,
					  .config = f->config, .config_size = 8, .ops = &fake_ops, .opaque = f };
	f->vdev.num_queues = 0;
	CHECK_EQ(virtio_pci_create(&vp, &board.host, -1, &f->vdev, &board.mem, NULL), -EINVAL);
	f->vdev.num_queues = 2;
	CHECK_EQ(virtio_pci_create(&vp, &board.host, -1, &f->vdev, &board.mem, NULL), 0);
	slot = virtio_pci_pci_device(vp)->slot;

	/* Identity and BAR. */
	CHECK_EQ(cfg_read(0, 4), (0x1040 + VIRTIO_ID_RNG) << 16 | 0x1af4);
	CHECK_EQ(cfg_read(PCI_REVISION_ID, 1), 1);
	CHECK_EQ(cfg_read(PCI_SUBSYS_VENDOR, 2), 0x1af4);
	CHECK(cfg_read(PCI_SUBSYS_ID, 2) >= 0x40);
	CHECK_EQ(cfg_read(PCI_INTERRUPT_PIN, 1), 1);
	uint32_t lo = cfg_read(0x10 + 4 * VIRTIO_PCI_BAR, 4), hi = cfg_read(0x14 + 4 * VIRTIO_PCI_BAR, 4);
	CHECK_EQ(lo & 0xf, 4);                               /* 64-bit memory */
	bar = ((uint64_t)hi << 32) | (lo & ~0xfu);
	CHECK(bar >= LAYOUT_PCI_MMIO_START && bar < LAYOUT_PCI_MMIO_END);

	/* Vendor capabilities: each config type once, pointing into BAR 4. */
	unsigned seen[6] = { 0 }, mult = 0, p = cfg_read(PCI_CAP_PTR, 1), guard = 0, msix = 0;
	uint32_t off_of[6] = { 0 };
	while (p && guard++ < 16) {
		unsigned id = cfg_read(p, 1);
		if (id == PCI_CAP_ID_VNDR) {
			unsigned type = cfg_read(p + 3, 1);
			if (type < 6) {
				seen[type]++;
				off_of[type] = type == VIRTIO_PCI_CAP_PCI_CFG ? p : cfg_read(p + 8, 4);
			}
			if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
				CHECK_EQ(cfg_read(p + 2, 1), 20);
				mult = cfg_read(p + 16, 4);
			}
			else if (type != VIRTIO_PCI_CAP_PCI_CFG)
				CHECK_EQ(cfg_read(p + 4, 1), VIRTIO_PCI_BAR);
		} else if (id == PCI_CAP_ID_MSIX) {
			msix = p;
		}
		p = cfg_read(p + 1, 1);
	}
	CHECK_EQ(seen[VIRTIO_PCI_CAP_COMMON_CFG], 1);
	CHECK_EQ(seen[VIRTIO_PCI_CAP_NOTIFY_CFG], 1);
	CHECK_EQ(seen[VIRTIO_PCI_CAP_ISR_CFG], 1);
	CHECK_EQ(seen[VIRTIO_PCI_CAP_DEVICE_CFG], 1);
	CHECK_EQ(mult, 4);
	CHECK_EQ(off_of[VIRTIO_PCI_CAP_COMMON_CFG], VIRTIO_PCI_COMMON_OFF);
	CHECK_EQ(off_of[VIRTIO_PCI_CAP_ISR_CFG], VIRTIO_PCI_ISR_OFF);
	CHECK_EQ(seen[VIRTIO_PCI_CAP_PCI_CFG], 1);
	CHECK(msix != 0);

	/* PCI_CFG window: BAR accesses through config space (4.1.4.9). */
	unsigned pc = off_of[VIRTIO_PCI_CAP_PCI_CFG];
	cfg_write(pc + 4, 1, VIRTIO_PCI_BAR);
	cfg_write(pc + 8, 4, C(NUMQ));
	cfg_write(pc + 12, 4, 2);
	CHECK_EQ(cfg_read(pc + 8, 4), C(NUMQ));
	CHECK_EQ(cfg_read(pc + 16, 2), 2);                     /* num_queues */
	cfg_write(pc + 8, 4, C(STATUS));
	cfg_write(pc + 12, 4, 1);
	cfg_write(pc + 16, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(rd(C(STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(cfg_read(pc + 16, 1), VIRTIO_STATUS_ACKNOWLEDGE);
	cfg_write(pc + 12, 4, 2);                               /* length != access size */
	cfg_write(pc + 16, 1, 0);                               /* plain bytes, no effect */
	CHECK_EQ(rd(C(STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE);
	cfg_write(pc + 8, 4, VIRTIO_PCI_BAR_SIZE);              /* out of the BAR */
	cfg_write(pc + 12, 4, 4);
	cfg_write(pc + 16, 4, 0);
	CHECK_EQ(rd(C(STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(cfg_read(msix + 2, 2) & 0x7ff, 2);           /* 3 vectors */

	/* Reset and status. */
	set_status(0);
	CHECK_EQ(status(), 0);
	CHECK_EQ(f->resets, 1);
	CHECK_EQ(rd(C(NUMQ), 2), 2);
	set_status(VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(status(), VIRTIO_STATUS_ACKNOWLEDGE);

	/* Device features: bit 5, VERSION_1, INDIRECT, EVENT_IDX. */
	wr(C(DFSELECT), 4, 0);
	uint32_t f0 = rd(C(DF), 4);
	wr(C(DFSELECT), 4, 1);
	uint32_t f1 = rd(C(DF), 4);
	CHECK(f0 & (1u << 5));
	CHECK(f0 & (1u << VIRTIO_F_INDIRECT_DESC));
	CHECK(f0 & (1u << VIRTIO_F_EVENT_IDX));
	CHECK_EQ(f1 & 1, 1);                                 /* VERSION_1 */
	wr(C(DFSELECT), 4, 7);
	CHECK_EQ(rd(C(DF), 4), 0);

	/* FEATURES_OK refused without VERSION_1, and for unoffered bits. */
	negotiate(1ULL << 5);
	CHECK(!(status() & VIRTIO_STATUS_FEATURES_OK));
	negotiate(1ULL << VIRTIO_F_VERSION_1 | 1ULL << 7);
	CHECK(!(status() & VIRTIO_STATUS_FEATURES_OK));
	negotiate(1ULL << VIRTIO_F_VERSION_1 | 1ULL << 5);
	CHECK(status() & VIRTIO_STATUS_FEATURES_OK);
	CHECK(virtio_has_feature(&f->vdev, 5));
	CHECK(!virtio_has_feature(&f->vdev, VIRTIO_F_EVENT_IDX));
	wr(C(GFSELECT), 4, 1);
	CHECK_EQ(rd(C(GF), 4), 1);
	/* Features are frozen after FEATURES_OK. */
	wr(C(GFSELECT), 4, 0);
	wr(C(GF), 4, 0);
	CHECK_EQ(rd(C(GF), 4), 1u << 5);

	/* Device config. */
	CHECK_EQ(rd(VIRTIO_PCI_DEVICE_OFF, 4), 0x44332211);
	CHECK_EQ(rd(VIRTIO_PCI_DEVICE_OFF + 6, 2), 0x8877);
	CHECK_EQ(rd(VIRTIO_PCI_DEVICE_OFF + 6, 4), 0);        /* past the end */

	/* Queues: max size, nonexistent queue reads size 0, setup. */
	wr(C(Q_SELECT), 2, 0);
	CHECK_EQ(rd(C(Q_SIZE), 2), 256);
	CHECK_EQ(rd(C(Q_MSIX), 2), VIRTIO_PCI_NO_VECTOR);
	CHECK_EQ(rd(C(Q_NOFF), 2), 0);
	wr(C(Q_SELECT), 2, 1);
	CHECK_EQ(rd(C(Q_NOFF), 2), 1);
	wr(C(Q_SELECT), 2, 5);
	CHECK_EQ(rd(C(Q_SIZE), 2), 0);
	setup_queue0(1);
	CHECK_EQ(rd(C(Q_ENABLE), 2), 1);
	CHECK_EQ(rd(C(Q_DESCLO), 4), VTB_DESC);
	CHECK_EQ(rd(C(Q_AVAILLO), 4), VTB_AVAIL);
	CHECK_EQ(rd(C(Q_MSIX), 2), 1);
	wr(C(Q_MSIX), 2, 40);                                 /* unsupported vector */
	CHECK_EQ(rd(C(Q_MSIX), 2), VIRTIO_PCI_NO_VECTOR);
	wr(C(Q_MSIX), 2, 1);
	wr(C(MSIX), 2, 0);
	CHECK_EQ(rd(C(MSIX), 2), 0);
	wr(C(Q_DESCLO), 4, 0x4000);                           /* frozen once enabled */
	CHECK_EQ(rd(C(Q_DESCLO), 4), VTB_DESC);

	/* MSI-X on: vector 1 -> data 0x41, vector 0 (config) -> data 0x40. */
	cfg_write(msix + 2, 2, 0x8000);
	for (unsigned v = 0; v < 2; v++) {
		wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 * v, 4, 0xfee00000);
		wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 * v + 8, 4, 0x40 + v);
		wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 * v + 12, 4, 0);
	}

	/* Notify before DRIVER_OK is ignored. */
	add_chain(0, VIRTQ_DESC_F_WRITE, 0);
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(f->notifies[0], 0);
	set_status(status() | VIRTIO_STATUS_DRIVER_OK);
	CHECK(status() & VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(f->activates, 1);

	/* Notify -> device callback -> used ring -> MSI-X vector 1. */
	wr(VIRTIO_PCI_NOTIFY_OFF + 4 * 0, 2, 0);
	CHECK_EQ(f->notifies[0], 1);
	CHECK_EQ(f->completed, 1);
	CHECK_EQ(used_idx(), 1);
	CHECK_EQ(board.ram[VTB_BUF], 'X');
	CHECK_EQ(irqlog.nmsi, 1);
	CHECK_EQ(irqlog.last_data, 0x41);
	wr(VIRTIO_PCI_NOTIFY_OFF + 4 * 1, 2, 1);              /* queue 1 not enabled */
	CHECK_EQ(f->notifies[1], 0);
	wr(VIRTIO_PCI_NOTIFY_OFF + 4 * 9, 2, 9);              /* no such queue */

	/* Masked vector pends, unmask delivers. */
	wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, 4, 1);
	add_chain(1, VIRTQ_DESC_F_WRITE, 0);
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(irqlog.nmsi, 1);
	CHECK_EQ(rd(VIRTIO_PCI_MSIX_PBA_OFF, 8), 2);
	wr(VIRTIO_PCI_MSIX_TABLE_OFF + 16 + 12, 4, 0);
	CHECK_EQ(irqlog.nmsi, 2);

	/* MSI-X off: INTx + ISR bit 0, read-to-clear deasserts. */
	unsigned gsi = virtio_pci_pci_device(vp)->gsi;
	cfg_write(msix + 2, 2, 0);
	add_chain(2, VIRTQ_DESC_F_WRITE, 0);
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(irqlog.nmsi, 2);
	CHECK_EQ(irqlog.line[gsi], 1);
	CHECK_EQ(rd(VIRTIO_PCI_ISR_OFF, 1), 1);
	CHECK_EQ(irqlog.line[gsi], 0);
	CHECK_EQ(rd(VIRTIO_PCI_ISR_OFF, 1), 0);

	/* Malformed chain (self loop): NEEDS_RESET + config interrupt (ISR bit 1). */
	add_chain(3, VIRTQ_DESC_F_NEXT, 3);
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(f->last_pop, VIRTQ_E_LOOP);
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(irqlog.line[gsi], 1);
	CHECK_EQ(rd(VIRTIO_PCI_ISR_OFF, 1), 2);
	CHECK_EQ(rd(C(CFGGEN), 1), 1);
	unsigned before = f->notifies[0];
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);                      /* broken device ignores kicks */
	CHECK_EQ(f->notifies[0], before);
	/* The driver cannot clear NEEDS_RESET except by resetting. */
	set_status(status() & ~VIRTIO_STATUS_NEEDS_RESET);
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET);

	/* Reset: status, queues and vectors back to defaults, device told. */
	set_status(0);
	CHECK_EQ(status(), 0);
	CHECK_EQ(f->resets, 5);   /* 1 + 3 negotiate() resets + this one */
	wr(C(Q_SELECT), 2, 0);
	CHECK_EQ(rd(C(Q_ENABLE), 2), 0);
	CHECK_EQ(rd(C(Q_SIZE), 2), 256);
	CHECK_EQ(rd(C(Q_MSIX), 2), VIRTIO_PCI_NO_VECTOR);
	CHECK_EQ(rd(C(MSIX), 2), VIRTIO_PCI_NO_VECTOR);
	CHECK(!f->vdev.vq[0].ready);
	CHECK_EQ(f->vdev.vq[0].error, 0);

	/* A queue enabled with rings outside RAM sets NEEDS_RESET, no crash. */
	negotiate(1ULL << VIRTIO_F_VERSION_1);
	wr(C(Q_SELECT), 2, 0);
	wr(C(Q_DESCLO), 4, 0x40000000);
	wr(C(Q_ENABLE), 2, 1);
	CHECK_EQ(rd(C(Q_ENABLE), 2), 0);
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET);

	/* Working again after reset, with EVENT_IDX negotiated. */
	memset(board.ram, 0, VTB_RAM_SIZE);
	negotiate(1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX);
	setup_queue0(VIRTIO_PCI_NO_VECTOR);
	set_status(status() | VIRTIO_STATUS_DRIVER_OK);
	CHECK(virtio_has_feature(&f->vdev, VIRTIO_F_EVENT_IDX));
	add_chain(4, VIRTQ_DESC_F_WRITE, 0);
	unsigned done = f->completed;
	wr(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	CHECK_EQ(f->completed, done + 1);
	CHECK_EQ(used_idx(), 1);
	CHECK_EQ(status() & VIRTIO_STATUS_NEEDS_RESET, 0);

	virtio_pci_destroy(vp);
	CHECK_EQ(cfg_read(0, 4), 0xffffffffu);
	memset(board.ram, 0, VTB_RAM_SIZE);
	test_reset_waits_for_kick();
	memset(board.ram, 0, VTB_RAM_SIZE);
	test_ioeventfd();
	memset(board.ram, 0, VTB_RAM_SIZE);
	test_common_access();
	vtboard_destroy(&board);
	free(f);
	return check_done();
}
