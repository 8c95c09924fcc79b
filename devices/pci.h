/* PCI host: bus 0 with 32 slots behind configuration mechanism #1
 * (0xcf8/0xcfc, PCI Local Bus 3.0 section 3.2.2.3.2) and ECAM (PCIe 4.0
 * section 7.2.2) at LAYOUT_PCI_ECAM_START; type-0 headers, BAR sizing and
 * placement, capability lists, INTx through the IOAPIC and MSI-X (PCI 3.0
 * section 6.8.2) delivered through devices/irq.h. */
#ifndef VMM_DEVICES_PCI_H
#define VMM_DEVICES_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot/layout.h"
#include "devices/irq.h"
#include "vmm/bus.h"

#define PCI_MAX_SLOTS      32
#define PCI_NUM_BARS       6
#define PCI_CONFIG_SIZE    256      /* ECAM's extended space reads as 0 */
#define PCI_BAR_UNMAPPED   (~0ULL)
#define PCI_MSIX_MAX_VECTORS 128

/* Host bridge IDs: Red Hat's generic "QEMU PCIe host bridge" (1b36:0008).
 * It has no chipset registers (PAM, PCIEXBAR, PIIX PIRQ routing) that
 * SeaBIOS or Linux would try to program on a 440FX or Q35 ID, so both take
 * their generic paths: Linux accepts conf1 because bus 0 has a host-bridge
 * class device and uses ECAM from the MCFG table; SeaBIOS enumerates and
 * (re)assigns BARs through conf1. */
#define PCI_HOST_VENDOR_ID 0x1b36
#define PCI_HOST_DEVICE_ID 0x0008

/* Config space offsets (type 0 header). */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION_ID    0x08
#define PCI_CLASS_PROG     0x09
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SUBSYS_VENDOR  0x2c
#define PCI_SUBSYS_ID      0x2e
#define PCI_CAP_PTR        0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d

#define PCI_COMMAND_IO     0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_STATUS_INTERRUPT 0x08

#define PCI_CAP_ID_MSIX    0x11
#define PCI_CAP_ID_VNDR    0x09

enum pci_bar_type {
	PCI_BAR_NONE = 0,
	PCI_BAR_IO,      /* size >= 4 */
	PCI_BAR_MEM32,   /* size >= 16 */
	PCI_BAR_MEM64,   /* size >= 16; takes this BAR and the next */
};

struct pci_bar {
	enum pci_bar_type type;
	uint64_t size;                /* power of 2 */
	bool prefetchable;
	const struct bus_ops *ops;    /* accesses, offset relative to the BAR */
	void *opaque;
};

/* Hooks the VMM (vmm/kvm.c) provides so notifications skip the vCPU exit
 * path; all optional. ioeventfd_assign: KVM_IOEVENTFD for [addr, addr+len)
 * on the MMIO (is_mmio) or PIO bus, any value (no datamatch), signalling
 * fd; deassign removes the same registration. Return 0 or negative errno. */
struct pci_host_hooks {
	int (*ioeventfd_assign)(void *opaque, int fd, uint64_t addr, unsigned len,
				bool is_mmio, bool deassign);
	void *opaque;
};

struct pci_host;

struct pci_device {
	/* Filled by the device model before pci_register_device(). */
	const char *name;
	uint16_t vendor_id, device_id, subsys_vendor_id, subsys_id;
	uint8_t revision;
	uint32_t class_code;          /* class << 16 | subclass << 8 | prog-if */
	bool intx;                    /* uses INTx (pin A) */
	struct pci_bar bar[PCI_NUM_BARS];
	/* Optional: BAR bar now decodes at addr (or PCI_BAR_UNMAPPED). Called
	 * with the host lock held: do not make config accesses from it. */
	void (*bar_moved)(struct pci_device *dev, unsigned bar, uint64_t addr);
	/* Optional: after a config write landed at [off, off+size). */
	void (*config_written)(struct pci_device *dev, uint32_t off, unsigned size);
	/* Optional: claims config accesses with side effects (virtio's PCI_CFG
	 * window). Called WITHOUT the host lock before the normal path; return
	 * true when handled (*val filled for reads). */
	bool (*config_access)(struct pci_device *dev, uint32_t off, unsigned size,
			      uint32_t *val, bool is_write);
	void *opaque;

	/* Owned by pci.c. */
	struct pci_host *host;
	unsigned slot;
	uint32_t gsi;                 /* INTx GSI */
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];
	uint64_t bar_addr[PCI_NUM_BARS];  /* decoding address or PCI_BAR_UNMAPPED */
	uint8_t cap_last;             /* config offset of the last capability */
	uint8_t cap_free;             /* next free config byte for a capability */
	int intx_level;
	int intx_sent;                /* level last driven on gsi (a repeat is not sent) */
	/* MSI-X */
	unsigned msix_nvec;
	uint8_t msix_cap;
	unsigned msix_bar;
	uint32_t msix_table_off, msix_pba_off;
	uint8_t msix_table[PCI_MSIX_MAX_VECTORS * 16];
	uint64_t msix_pending[PCI_MSIX_MAX_VECTORS / 64];
};

struct pci_host {
	struct bus *pio, *mmio;
	const struct vmm_irq *irq;
	struct pci_host_hooks hooks;
	pthread_mutex_t lock;         /* config space, BAR mappings, MSI-X state */
	uint32_t cf8;
	struct pci_device *slots[PCI_MAX_SLOTS];
	struct pci_device bridge;
	uint64_t mmio_next, io_next;  /* default BAR placement cursors */
	const struct bus_ops *cf9_ops; /* byte accesses to 0xcf9 (reset control) */
	void *cf9_opaque;
};

/* Registers conf1 (0xcf8..0xcfb address, 0xcfc..0xcff data) and ECAM, and
 * the host bridge at 00:00.0. hooks may be NULL. Returns 0 or negative
 * errno (nothing registered then). */
int pci_host_init(struct pci_host *host, struct bus *pio, struct bus *mmio,
		  const struct vmm_irq *irq, const struct pci_host_hooks *hooks);
void pci_host_destroy(struct pci_host *host);

/* 0xcf9 (Reset Control Register) sits inside the conf1 address dword, so the
 * host owns the port range and forwards byte accesses at 0xcf9 (offset 0) to
 * this handler; the reset device calls this instead of registering 0xcf9. */
void pci_host_set_cf9_handler(struct pci_host *host, const struct bus_ops *ops, void *opaque);

/* Adds a capability before registration. cap is the whole capability
 * (byte 0 id, byte 1 next: overwritten), len >= 2. Returns its config
 * offset (>= 0x40) or -ENOSPC. wmask (may be NULL) marks guest-writable bits. */
int pci_add_capability(struct pci_device *dev, const void *cap, const void *wmask, unsigned len);

/* Adds an MSI-X capability (nvec <= PCI_MSIX_MAX_VECTORS) whose table and
 * PBA live in BAR bar at the given offsets (8-byte aligned). The device's
 * BAR handler forwards accesses there to pci_msix_table_*()/pba_read(). */
int pci_msix_init(struct pci_device *dev, unsigned nvec, unsigned bar,
		  uint32_t table_off, uint32_t pba_off);

/* Places the device in slot (1..31, or -1 for the first free), fills the
 * header, places its BARs in the default windows and enables decode, so
 * guests that never program BARs work. 0, -EBUSY, -ENOSPC, -EINVAL. */
int pci_register_device(struct pci_host *host, struct pci_device *dev, int slot);
void pci_unregister_device(struct pci_device *dev);

/* Config cycles (the same path conf1 and ECAM take). */
uint32_t pci_config_read(struct pci_host *host, unsigned bus, unsigned devfn,
			 uint32_t off, unsigned size);
void pci_config_write(struct pci_host *host, unsigned bus, unsigned devfn,
		      uint32_t off, unsigned size, uint32_t value);

/* INTx pin A level. GSI = pci_intx_gsi(slot, 0). */
void pci_set_irq(struct pci_device *dev, int level);
/* The swizzle: pin 0 = INTA .. 3 = INTD. The ACPI _PRT uses the same. */
static inline uint32_t pci_intx_gsi(unsigned slot, unsigned pin)
{
	return LAYOUT_IRQ_PCI_FIRST + ((slot + pin) % 4);
}

/* MSI-X. notify: delivers vector or sets its pending bit when masked.
 * Returns 0, or -EAGAIN when MSI-X is disabled (use INTx), -EINVAL. */
int pci_msix_notify(struct pci_device *dev, unsigned vector);
bool pci_msix_enabled(struct pci_device *dev);
uint64_t pci_msix_table_read(struct pci_device *dev, uint64_t off, unsigned size);
void pci_msix_table_write(struct pci_device *dev, uint64_t off, unsigned size, uint64_t value);
uint64_t pci_msix_pba_read(struct pci_device *dev, uint64_t off, unsigned size);

#endif
