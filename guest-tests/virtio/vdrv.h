/* Guest-side virtio-pci modern driver for ring-3 test guests (virtio 1.2
 * sections 3.1, 4.1, 2.7): finds a function on bus 0 with config mechanism #1,
 * maps its capabilities in the BAR (identity-mapped below 4 GiB), negotiates
 * features and drives split virtqueues by polling (no interrupts). Freestanding:
 * port I/O needs IOPL=3, which the guest runtime sets before ring 3. */
#ifndef VMM_GUEST_VDRV_H
#define VMM_GUEST_VDRV_H

#include <stdint.h>

#define VDRV_F_VERSION_1 32

struct vdrv_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

struct vdrv_dev {
	unsigned slot;
	uint64_t bar[6];
	volatile uint8_t *common, *isr, *device, *notify;
	uint32_t notify_mult;
	uint64_t features;      /* offered by the device */
};

struct vdrv_queue {
	struct vdrv_dev *dev;
	uint16_t index, size;
	struct vdrv_desc *desc;
	volatile uint16_t *avail;   /* flags, idx, ring[] */
	volatile uint8_t *used;     /* flags, idx, ring[] of {u32 id, u32 len} */
	volatile uint16_t *notify_addr;
	uint16_t avail_idx, last_used, next_free;
};

/* One buffer of a request. */
struct vdrv_buf { void *addr; uint32_t len; int writable; };

/* Port I/O and config cycles (bus 0, function 0). */
uint32_t vdrv_cfg_read32(unsigned slot, unsigned reg);
void vdrv_cfg_write16(unsigned slot, unsigned reg, uint16_t v);

/* Finds vendor 0x1af4 device 0x1040 + virtio_id; returns the slot or -1. */
int vdrv_find(unsigned virtio_id);

/* Reset, ACKNOWLEDGE, DRIVER, negotiate want & offered (VERSION_1 must be
 * offered), FEATURES_OK and check it stuck. Returns 0 or a negative step. */
int vdrv_init(struct vdrv_dev *d, unsigned slot, uint64_t want);

/* Sets up queue index with size entries in mem (zeroed, 4096-aligned, at
 * least vdrv_queue_mem(size) bytes). 0 or negative. */
int vdrv_queue_setup(struct vdrv_dev *d, struct vdrv_queue *q, unsigned index,
		     uint16_t size, void *mem);
unsigned long vdrv_queue_mem(uint16_t size);

void vdrv_driver_ok(struct vdrv_dev *d);
uint8_t vdrv_status(struct vdrv_dev *d);

/* Adds one chain (n buffers, readable ones first) and notifies. Returns
 * the head or -1 when it does not fit. Descriptors are reused round-robin,
 * so at most size / n requests may be in flight. */
int vdrv_submit(struct vdrv_queue *q, const struct vdrv_buf *b, unsigned n);
/* Polls up to spins iterations for a used entry; returns its head and
 * *len, or -1 on timeout. */
int vdrv_poll(struct vdrv_queue *q, uint32_t *len, unsigned long spins);

#endif
