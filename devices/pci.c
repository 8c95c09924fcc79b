/* PCI host bridge and bus 0: configuration mechanism #1 and ECAM, type-0
 * headers with BAR sizing by write mask, BAR (un)registration on the I/O
 * buses as the guest programs them, capabilities, INTx and MSI-X
 * (PCI Local Bus 3.0 sections 3.2.2.3.2, 6.1-6.2, 6.7, 6.8.2; PCIe 4.0 7.2.2). */
#include "devices/pci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ECAM_BUS_SHIFT 20
#define IO_WINDOW_START 0xc000ULL
#define IO_WINDOW_END   0x10000ULL

static uint64_t cfg_get(const struct pci_device *dev, uint32_t off, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		if (off + i < PCI_CONFIG_SIZE)
			v |= (uint64_t)dev->config[off + i] << (8 * i);
	return v;
}

static void cfg_set(struct pci_device *dev, uint32_t off, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size && off + i < PCI_CONFIG_SIZE; i++)
		dev->config[off + i] = (uint8_t)(v >> (8 * i));
}

static void wmask_set(struct pci_device *dev, uint32_t off, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size && off + i < PCI_CONFIG_SIZE; i++)
		dev->wmask[off + i] = (uint8_t)(v >> (8 * i));
}

/* --- BARs --------------------------------------------------------------- */

static uint64_t bar_config_addr(const struct pci_device *dev, unsigned i)
{
	const struct pci_bar *b = &dev->bar[i];
	uint64_t lo = cfg_get(dev, PCI_BAR0 + 4 * i, 4);

	if (b->type == PCI_BAR_IO)
		return lo & ~3ULL;
	if (b->type == PCI_BAR_MEM64)
		return (lo & ~15ULL) | (cfg_get(dev, PCI_BAR0 + 4 * (i + 1), 4) << 32);
	return lo & ~15ULL;
}

/* Where BAR i should decode now, or PCI_BAR_UNMAPPED: decode disabled,
 * address 0, or mid-sizing (all-ones addresses that do not fit). */
static uint64_t bar_target(const struct pci_device *dev, unsigned i)
{
	const struct pci_bar *b = &dev->bar[i];
	uint16_t cmd = cfg_get(dev, PCI_COMMAND, 2);
	uint64_t addr = bar_config_addr(dev, i);

	if (b->type == PCI_BAR_IO) {
		if (!(cmd & PCI_COMMAND_IO) || addr == 0 || addr + b->size > IO_WINDOW_END)
			return PCI_BAR_UNMAPPED;
		return addr;
	}
	if (!(cmd & PCI_COMMAND_MEMORY) || addr == 0 || addr + b->size < addr)
		return PCI_BAR_UNMAPPED;
	/* The all-ones sizing pattern would land on the firmware at 4 GiB - size. */
	if (b->type == PCI_BAR_MEM32 &&
	    (addr + b->size > 0x100000000ULL || addr == (0xffffffffULL & ~(b->size - 1))))
		return PCI_BAR_UNMAPPED;
	if (b->type == PCI_BAR_MEM64 && (addr >> 32) == 0xffffffffULL)
		return PCI_BAR_UNMAPPED;
	return addr;
}

static void bar_update(struct pci_device *dev, unsigned i)
{
	const struct pci_bar *b = &dev->bar[i];
	struct bus *bus = b->type == PCI_BAR_IO ? dev->host->pio : dev->host->mmio;
	uint64_t want = bar_target(dev, i);

	if (want == dev->bar_addr[i])
		return;
	if (dev->bar_addr[i] != PCI_BAR_UNMAPPED)
		bus_unregister(bus, dev->bar_addr[i], b->opaque);
	dev->bar_addr[i] = PCI_BAR_UNMAPPED;
	if (want != PCI_BAR_UNMAPPED) {
		/* A guest may program overlapping BARs; the later one stays dark. */
		if (bus_register(bus, want, b->size, b->ops, b->opaque, dev->name) == 0)
			dev->bar_addr[i] = want;
	}
	if (dev->bar_moved)
		dev->bar_moved(dev, i, dev->bar_addr[i]);
}

static void bars_update(struct pci_device *dev)
{
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		if (dev->bar[i].type != PCI_BAR_NONE && dev->bar[i].size)
			bar_update(dev, i);
}

/* --- INTx and MSI-X ----------------------------------------------------- */

static void intx_update(struct pci_device *dev)
{
	uint16_t cmd = cfg_get(dev, PCI_COMMAND, 2);
	int assert = dev->intx_level && !(cmd & PCI_COMMAND_INTX_DISABLE);

	if (dev->intx_level)
		dev->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		dev->config[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	/* A device that completes requests while its line is already up (a
	 * guest that polls and never reads ISR) would otherwise cost one
	 * KVM_IRQ_LINE ioctl per completion: a repeated level changes
	 * nothing in the IOAPIC or PIC. */
	if (dev->intx && dev->host->irq && assert != dev->intx_sent) {
		dev->intx_sent = assert;
		irq_set_line(dev->host->irq, dev->gsi, assert);
	}
}

void pci_set_irq(struct pci_device *dev, int level)
{
	if (!dev->host)
		return;
	pthread_mutex_lock(&dev->host->lock);
	dev->intx_level = level != 0;
	intx_update(dev);
	pthread_mutex_unlock(&dev->host->lock);
}

static uint16_t msix_ctrl(const struct pci_device *dev)
{
	return dev->msix_cap ? cfg_get(dev, dev->msix_cap + 2, 2) : 0;
}

static bool msix_on(const struct pci_device *dev)
{
	return msix_ctrl(dev) & 0x8000;
}

static bool msix_vector_masked(const struct pci_device *dev, unsigned v)
{
	return (msix_ctrl(dev) & 0x4000) || (dev->msix_table[16 * v + 12] & 1);
}

static void msix_deliver(struct pci_device *dev, unsigned v)
{
	const uint8_t *e = &dev->msix_table[16 * v];
	uint64_t addr;
	uint32_t lo, hi, data;

	memcpy(&lo, e, 4);
	memcpy(&hi, e + 4, 4);
	memcpy(&data, e + 8, 4);
	addr = (uint64_t)hi << 32 | lo;
	if (dev->host->irq)
		irq_send_msi(dev->host->irq, addr, data);
}

static void msix_flush_pending(struct pci_device *dev)
{
	if (!msix_on(dev))
		return;
	for (unsigned v = 0; v < dev->msix_nvec; v++) {
		if (!(dev->msix_pending[v / 64] >> (v % 64) & 1) || msix_vector_masked(dev, v))
			continue;
		dev->msix_pending[v / 64] &= ~(1ULL << (v % 64));
		msix_deliver(dev, v);
	}
}

int pci_msix_notify(struct pci_device *dev, unsigned v)
{
	int rc = 0;

	if (v >= dev->msix_nvec || !dev->host)
		return -EINVAL;
	pthread_mutex_lock(&dev->host->lock);
	if (!msix_on(dev))
		rc = -EAGAIN;
	else if (msix_vector_masked(dev, v))
		dev->msix_pending[v / 64] |= 1ULL << (v % 64);
	else
		msix_deliver(dev, v);
	pthread_mutex_unlock(&dev->host->lock);
	return rc;
}

bool pci_msix_enabled(struct pci_device *dev)
{
	bool on;

	if (!dev->host)
		return false;
	pthread_mutex_lock(&dev->host->lock);
	on = msix_on(dev);
	pthread_mutex_unlock(&dev->host->lock);
	return on;
}

uint64_t pci_msix_table_read(struct pci_device *dev, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	pthread_mutex_lock(&dev->host->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t o = off + i;
		uint8_t b = o < 16ULL * dev->msix_nvec ? dev->msix_table[o] : 0;
		v |= (uint64_t)b << (8 * i);
	}
	pthread_mutex_unlock(&dev->host->lock);
	return v;
}

void pci_msix_table_write(struct pci_device *dev, uint64_t off, unsigned size, uint64_t value)
{
	pthread_mutex_lock(&dev->host->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t o = off + i;

		if (o >= 16ULL * dev->msix_nvec)
			break;
		/* Only the mask bit of Vector Control is writable. */
		if (o % 16 == 12)
			dev->msix_table[o] = (dev->msix_table[o] & ~1) | ((value >> (8 * i)) & 1);
		else if (o % 16 < 12)
			dev->msix_table[o] = (uint8_t)(value >> (8 * i));
	}
	msix_flush_pending(dev);
	pthread_mutex_unlock(&dev->host->lock);
}

uint64_t pci_msix_pba_read(struct pci_device *dev, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	pthread_mutex_lock(&dev->host->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t o = off + i;

		if (o < sizeof(dev->msix_pending) && o * 8 < dev->msix_nvec)
			v |= (uint64_t)((const uint8_t *)dev->msix_pending)[o] << (8 * i);
	}
	pthread_mutex_unlock(&dev->host->lock);
	return v;
}

/* --- Capabilities ------------------------------------------------------- */

int pci_add_capability(struct pci_device *dev, const void *cap, const void *wmask, unsigned len)
{
	unsigned off = dev->cap_free ? dev->cap_free : 0x40;

	if (len < 2 || off + len > PCI_CONFIG_SIZE)
		return -ENOSPC;
	memcpy(&dev->config[off], cap, len);
	if (wmask)
		memcpy(&dev->wmask[off], wmask, len);
	dev->wmask[off] = dev->wmask[off + 1] = 0;
	dev->config[off + 1] = 0;
	if (dev->cap_last)
		dev->config[dev->cap_last + 1] = off;
	else
		dev->config[PCI_CAP_PTR] = off;
	dev->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->cap_last = off;
	dev->cap_free = (off + len + 3) & ~3u;
	return off;
}

int pci_msix_init(struct pci_device *dev, unsigned nvec, unsigned bar,
		  uint32_t table_off, uint32_t pba_off)
{
	uint8_t cap[12] = { PCI_CAP_ID_MSIX }, wm[12] = { 0 };
	uint32_t t = table_off | bar, p = pba_off | bar;
	uint16_t ctrl = nvec - 1;
	int off;

	if (nvec == 0 || nvec > PCI_MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS ||
	    (table_off & 7) || (pba_off & 7))
		return -EINVAL;
	memcpy(&cap[2], &ctrl, 2);
	memcpy(&cap[4], &t, 4);
	memcpy(&cap[8], &p, 4);
	wm[3] = 0xc0;   /* MSI-X Enable, Function Mask */
	off = pci_add_capability(dev, cap, wm, sizeof(cap));
	if (off < 0)
		return off;
	dev->msix_cap = off;
	dev->msix_nvec = nvec;
	dev->msix_bar = bar;
	dev->msix_table_off = table_off;
	dev->msix_pba_off = pba_off;
	memset(dev->msix_table, 0, sizeof(dev->msix_table));
	for (unsigned v = 0; v < nvec; v++)
		dev->msix_table[16 * v + 12] = 1;   /* masked at reset */
	memset(dev->msix_pending, 0, sizeof(dev->msix_pending));
	return 0;
}

/* --- Config cycles ------------------------------------------------------ */

static struct pci_device *lookup_dev(struct pci_host *host, unsigned bus, unsigned devfn)
{
	if (bus != 0 || (devfn & 7) != 0)
		return NULL;
	return host->slots[devfn >> 3];
}

uint32_t pci_config_read(struct pci_host *host, unsigned bus, unsigned devfn,
			 uint32_t off, unsigned size)
{
	struct pci_device *dev;
	uint32_t v;

	pthread_mutex_lock(&host->lock);
	dev = lookup_dev(host, bus, devfn);
	if (dev && dev->config_access) {
		pthread_mutex_unlock(&host->lock);
		if (dev->config_access(dev, off, size, &v, false))
			return v;
		pthread_mutex_lock(&host->lock);
	}
	if (!dev)
		v = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	else
		v = (uint32_t)cfg_get(dev, off, size);
	pthread_mutex_unlock(&host->lock);
	return v;
}

static bool overlaps(uint32_t off, unsigned size, uint32_t start, uint32_t len)
{
	return off < start + len && start < off + size;
}

void pci_config_write(struct pci_host *host, unsigned bus, unsigned devfn,
		      uint32_t off, unsigned size, uint32_t value)
{
	struct pci_device *dev;

	pthread_mutex_lock(&host->lock);
	dev = lookup_dev(host, bus, devfn);
	if (dev && dev->config_access) {
		pthread_mutex_unlock(&host->lock);
		if (dev->config_access(dev, off, size, &value, true))
			return;
		pthread_mutex_lock(&host->lock);
	}
	if (!dev || off >= PCI_CONFIG_SIZE) {
		pthread_mutex_unlock(&host->lock);
		return;
	}
	for (unsigned i = 0; i < size && off + i < PCI_CONFIG_SIZE; i++) {
		uint8_t m = dev->wmask[off + i], b = (uint8_t)(value >> (8 * i));
		dev->config[off + i] = (dev->config[off + i] & ~m) | (b & m);
	}
	if (overlaps(off, size, PCI_COMMAND, 2) || overlaps(off, size, PCI_BAR0, 24))
		bars_update(dev);
	if (overlaps(off, size, PCI_COMMAND, 2))
		intx_update(dev);
	if (dev->msix_cap && overlaps(off, size, dev->msix_cap + 2, 2))
		msix_flush_pending(dev);
	if (dev->config_written)
		dev->config_written(dev, off, size);
	pthread_mutex_unlock(&host->lock);
}

/* Mechanism #1: 0xcf8 latches a dword address; 0xcfc..0xcff move data. */
static uint64_t cf8_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_host *host = opaque;
	uint32_t v;

	if (off == 1 && size == 1 && host->cf9_ops && host->cf9_ops->read)
		return host->cf9_ops->read(host->cf9_opaque, 0, 1);
	if (off != 0 || size != 4)
		return ~0ULL;
	pthread_mutex_lock(&host->lock);
	v = host->cf8;
	pthread_mutex_unlock(&host->lock);
	return v;
}

static void cf8_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct pci_host *host = opaque;

	if (off == 1 && size == 1 && host->cf9_ops && host->cf9_ops->write) {
		host->cf9_ops->write(host->cf9_opaque, 0, 1, value);
		return;
	}
	if (off != 0 || size != 4)
		return;
	pthread_mutex_lock(&host->lock);
	host->cf8 = (uint32_t)value & 0x80fffffcu;
	pthread_mutex_unlock(&host->lock);
}

static bool cfc_decode(struct pci_host *host, uint64_t off, unsigned *bus, unsigned *devfn, uint32_t *reg)
{
	uint32_t a;

	pthread_mutex_lock(&host->lock);
	a = host->cf8;
	pthread_mutex_unlock(&host->lock);
	if (!(a & 0x80000000u))
		return false;
	*bus = (a >> 16) & 0xff;
	*devfn = (a >> 8) & 0xff;
	*reg = (a & 0xfc) + (uint32_t)off;
	return true;
}

static uint64_t cfc_read(void *opaque, uint64_t off, unsigned size)
{
	unsigned bus, devfn;
	uint32_t reg;

	if (size > 4 || off + size > 4 || !cfc_decode(opaque, off, &bus, &devfn, &reg))
		return ~0ULL;
	return pci_config_read(opaque, bus, devfn, reg, size);
}

static void cfc_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	unsigned bus, devfn;
	uint32_t reg;

	if (size > 4 || off + size > 4 || !cfc_decode(opaque, off, &bus, &devfn, &reg))
		return;
	pci_config_write(opaque, bus, devfn, reg, size, (uint32_t)value);
}

static uint64_t ecam_read(void *opaque, uint64_t off, unsigned size)
{
	uint32_t reg = off & 0xfff;

	if (size > 4 || reg + size > 0x1000)
		return ~0ULL;
	return pci_config_read(opaque, off >> ECAM_BUS_SHIFT, (off >> 12) & 0xff, reg, size);
}

static void ecam_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	uint32_t reg = off & 0xfff;

	if (size > 4 || reg + size > 0x1000)
		return;
	pci_config_write(opaque, off >> ECAM_BUS_SHIFT, (off >> 12) & 0xff, reg, size, (uint32_t)value);
}

static const struct bus_ops cf8_ops = { cf8_read, cf8_write };
static const struct bus_ops cfc_ops = { cfc_read, cfc_write };
static const struct bus_ops ecam_ops = { ecam_read, ecam_write };

/* --- Devices ------------------------------------------------------------ */

static int place_bars(struct pci_host *host, struct pci_device *dev)
{
	uint64_t mmio = host->mmio_next, io = host->io_next;

	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &dev->bar[i];
		uint64_t addr, lo_flags;

		if (b->type == PCI_BAR_NONE)
			continue;
		if (b->size & (b->size - 1) || b->size < (b->type == PCI_BAR_IO ? 4 : 16) ||
		    (b->type == PCI_BAR_MEM64 && i == PCI_NUM_BARS - 1) || !b->ops)
			return -EINVAL;
		if (b->type == PCI_BAR_IO) {
			addr = (io + b->size - 1) & ~(b->size - 1);
			if (addr + b->size > IO_WINDOW_END)
				return -ENOSPC;
			io = addr + b->size;
			lo_flags = 1;
		} else {
			addr = (mmio + b->size - 1) & ~(b->size - 1);
			if (addr + b->size > LAYOUT_PCI_MMIO_END || addr + b->size < addr)
				return -ENOSPC;
			mmio = addr + b->size;
			lo_flags = (b->type == PCI_BAR_MEM64 ? 4 : 0) | (b->prefetchable ? 8 : 0);
		}
		cfg_set(dev, PCI_BAR0 + 4 * i, 4, (addr & 0xffffffffULL) | lo_flags);
		wmask_set(dev, PCI_BAR0 + 4 * i, 4, ~(b->size - 1) & (b->type == PCI_BAR_IO ? ~3ULL : ~15ULL));
		if (b->type == PCI_BAR_MEM64) {
			cfg_set(dev, PCI_BAR0 + 4 * (i + 1), 4, addr >> 32);
			wmask_set(dev, PCI_BAR0 + 4 * (i + 1), 4, ~(b->size - 1) >> 32);
			i++;
		}
	}
	host->mmio_next = mmio;
	host->io_next = io;
	return 0;
}

int pci_register_device(struct pci_host *host, struct pci_device *dev, int slot)
{
	uint16_t cmd = PCI_COMMAND_MASTER;
	int rc;

	pthread_mutex_lock(&host->lock);
	if (slot < 0) {
		for (slot = 1; slot < PCI_MAX_SLOTS && host->slots[slot]; slot++)
			;
		if (slot == PCI_MAX_SLOTS) {
			rc = -ENOSPC;
			goto out;
		}
	} else if (slot >= PCI_MAX_SLOTS || host->slots[slot]) {
		rc = -EBUSY;
		goto out;
	}
	dev->host = host;
	dev->slot = slot;
	dev->gsi = pci_intx_gsi(slot, 0);
	dev->intx_sent = 0;
	cfg_set(dev, PCI_VENDOR_ID, 2, dev->vendor_id);
	cfg_set(dev, PCI_DEVICE_ID, 2, dev->device_id);
	cfg_set(dev, PCI_REVISION_ID, 1, dev->revision);
	cfg_set(dev, PCI_CLASS_PROG, 3, dev->class_code);
	cfg_set(dev, PCI_HEADER_TYPE, 1, 0);
	cfg_set(dev, PCI_SUBSYS_VENDOR, 2, dev->subsys_vendor_id);
	cfg_set(dev, PCI_SUBSYS_ID, 2, dev->subsys_id);
	cfg_set(dev, PCI_INTERRUPT_PIN, 1, dev->intx ? 1 : 0);
	cfg_set(dev, PCI_INTERRUPT_LINE, 1, dev->intx ? dev->gsi : 0xff);
	wmask_set(dev, PCI_COMMAND, 2, 0x0547);
	wmask_set(dev, 0x0c, 2, 0xffff);          /* cache line size, latency timer */
	wmask_set(dev, PCI_INTERRUPT_LINE, 1, 0xff);
	rc = place_bars(host, dev);
	if (rc)
		goto out;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		dev->bar_addr[i] = PCI_BAR_UNMAPPED;
		if (dev->bar[i].type == PCI_BAR_IO)
			cmd |= PCI_COMMAND_IO;
		else if (dev->bar[i].type != PCI_BAR_NONE)
			cmd |= PCI_COMMAND_MEMORY;
	}
	cfg_set(dev, PCI_COMMAND, 2, cmd);
	host->slots[slot] = dev;
	bars_update(dev);
	rc = 0;
out:
	pthread_mutex_unlock(&host->lock);
	return rc;
}

void pci_unregister_device(struct pci_device *dev)
{
	struct pci_host *host = dev->host;

	if (!host)
		return;
	pthread_mutex_lock(&host->lock);
	cfg_set(dev, PCI_COMMAND, 2, 0);
	bars_update(dev);
	if (dev->intx_sent && dev->intx && host->irq)
		irq_set_line(host->irq, dev->gsi, 0);
	dev->intx_sent = 0;
	if (host->slots[dev->slot] == dev)
		host->slots[dev->slot] = NULL;
	pthread_mutex_unlock(&host->lock);
	dev->host = NULL;
}

int pci_host_init(struct pci_host *host, struct bus *pio, struct bus *mmio,
		  const struct vmm_irq *irq, const struct pci_host_hooks *hooks)
{
	int rc;

	memset(host, 0, sizeof(*host));
	host->pio = pio;
	host->mmio = mmio;
	host->irq = irq;
	if (hooks)
		host->hooks = *hooks;
	host->mmio_next = LAYOUT_PCI_MMIO_START;
	host->io_next = IO_WINDOW_START;
	rc = -pthread_mutex_init(&host->lock, NULL);
	if (rc)
		return rc;
	rc = bus_register(pio, LAYOUT_PORT_PCI_CONFIG, 4, &cf8_ops, host, "pci-conf1-addr");
	if (rc)
		goto err_lock;
	rc = bus_register(pio, LAYOUT_PORT_PCI_CONFIG + 4, 4, &cfc_ops, host, "pci-conf1-data");
	if (rc)
		goto err_cf8;
	rc = bus_register(mmio, LAYOUT_PCI_ECAM_START, LAYOUT_PCI_ECAM_SIZE, &ecam_ops, host, "pci-ecam");
	if (rc)
		goto err_cfc;
	host->bridge.name = "host-bridge";
	host->bridge.vendor_id = PCI_HOST_VENDOR_ID;
	host->bridge.device_id = PCI_HOST_DEVICE_ID;
	host->bridge.subsys_vendor_id = 0x1af4;
	host->bridge.subsys_id = 0x1100;
	host->bridge.class_code = 0x060000;
	rc = pci_register_device(host, &host->bridge, 0);
	if (rc)
		goto err_ecam;
	return 0;
err_ecam:
	bus_unregister(mmio, LAYOUT_PCI_ECAM_START, host);
err_cfc:
	bus_unregister(pio, LAYOUT_PORT_PCI_CONFIG + 4, host);
err_cf8:
	bus_unregister(pio, LAYOUT_PORT_PCI_CONFIG, host);
err_lock:
	pthread_mutex_destroy(&host->lock);
	memset(host, 0, sizeof(*host));
	return rc;
}

void pci_host_set_cf9_handler(struct pci_host *host, const struct bus_ops *ops, void *opaque)
{
	host->cf9_opaque = opaque;
	host->cf9_ops = ops;
}

void pci_host_destroy(struct pci_host *host)
{
	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++)
		if (host->slots[s])
			pci_unregister_device(host->slots[s]);
	bus_unregister(host->mmio, LAYOUT_PCI_ECAM_START, host);
	bus_unregister(host->pio, LAYOUT_PORT_PCI_CONFIG + 4, host);
	bus_unregister(host->pio, LAYOUT_PORT_PCI_CONFIG, host);
	pthread_mutex_destroy(&host->lock);
}
