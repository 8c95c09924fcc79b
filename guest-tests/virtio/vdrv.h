/* Guest-side virtio-pci modern driver for the ring-3 test guests (virtio 1.2
 * sections 3.1 device initialization, 4.1.4 PCI capabilities, 2.7 split
 * virtqueues, 2.7.5.3 indirect descriptors): finds a function on bus 0 with
 * config mechanism #1 (guest-tests/runtime rt.h), maps its capabilities in the
 * BARs (identity mapped below 4 GiB, user pages), negotiates features and
 * drives split virtqueues by polling (no interrupts, no MSI-X vectors). */
#ifndef VMM_GUEST_VDRV_H
#define VMM_GUEST_VDRV_H

#include <stddef.h>
#include <stdint.h>

#define VDRV_F_INDIRECT_DESC 28
#define VDRV_F_EVENT_IDX     29
#define VDRV_F_VERSION_1     32

/* Device status bits (2.1). */
#define VDRV_S_ACKNOWLEDGE   1
#define VDRV_S_DRIVER        2
#define VDRV_S_DRIVER_OK     4
#define VDRV_S_FEATURES_OK   8
#define VDRV_S_NEEDS_RESET   64
#define VDRV_S_FAILED        128

#define VDRV_DESC_F_NEXT     1
#define VDRV_DESC_F_WRITE    2
#define VDRV_DESC_F_INDIRECT 4

/* Most buffers in one request through vdrv_add (and entries of an indirect table). */
#define VDRV_MAX_BUFS        16

struct vdrv_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

struct vdrv_dev {
	unsigned slot;
	uint64_t bar[6];
	volatile uint8_t *common, *isr, *device, *notify;
	uint32_t notify_mult;
	uint64_t features;      /* offered by the device */
	uint64_t negotiated;    /* accepted (FEATURES_OK stuck) */
};

struct vdrv_queue {
	struct vdrv_dev *dev;
	uint16_t index, size;
	volatile struct vdrv_desc *desc;
	volatile uint16_t *avail;   /* flags, idx, ring[] */
	volatile uint8_t *used;     /* flags, idx, ring[] of {u32 id, u32 len} */
	volatile uint16_t *notify_addr;
	uint16_t avail_idx, last_used;
	uint16_t free_head, num_free;
	uint16_t *chain_len;        /* descriptors held by the chain at each head */
	struct vdrv_desc *indirect; /* VDRV_MAX_BUFS entries per head */
	int use_indirect;           /* chains of 2+ buffers go through an indirect table */
};

/* One buffer of a request. */
struct vdrv_buf { const void *addr; uint32_t len; int writable; };

/* Finds vendor 0x1af4 device 0x1040 + virtio_id on bus 0 (the nth such
 * function, n from 0); returns the slot or -1. */
int vdrv_find(unsigned virtio_id, unsigned nth);

/* Reset, ACKNOWLEDGE, DRIVER, negotiate want & offered | VERSION_1 (which
 * must be offered), FEATURES_OK and check that it stuck. Returns 0 or a
 * negative step number. */
int vdrv_init(struct vdrv_dev *d, unsigned slot, uint64_t want);

/* Sets up queue index with at most size entries (power of 2; clipped to the
 * device's maximum), memory from rt_alloc_pages. Uses indirect tables when
 * INDIRECT_DESC was negotiated and indirect is set. 0 or negative. */
int vdrv_queue_setup(struct vdrv_dev *d, struct vdrv_queue *q, unsigned index,
		     uint16_t size, int indirect);

void vdrv_driver_ok(struct vdrv_dev *d);
uint8_t vdrv_status(struct vdrv_dev *d);
static inline int vdrv_has(const struct vdrv_dev *d, unsigned bit)
{
	return (int)(d->negotiated >> bit & 1);
}

/* Adds one chain (n buffers, device-readable ones first) to the available
 * ring without notifying. Returns the head or -1 when the descriptors are
 * all in use. */
int vdrv_add(struct vdrv_queue *q, const struct vdrv_buf *b, unsigned n);
/* Notifies the device unless it asked not to be (used->flags). */
void vdrv_kick(struct vdrv_queue *q);
/* vdrv_add + vdrv_kick. */
int vdrv_submit(struct vdrv_queue *q, const struct vdrv_buf *b, unsigned n);
/* Takes one used entry if there is one: returns its head (and *len) and
 * frees its descriptors, or -1. */
int vdrv_get_used(struct vdrv_queue *q, uint32_t *len);
/* Polls up to spins iterations for a used entry; -1 on timeout. */
int vdrv_poll(struct vdrv_queue *q, uint32_t *len, unsigned long spins);

#endif
