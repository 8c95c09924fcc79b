/* Split virtqueues (virtio 1.2 section 2.7): the device side of the
 * descriptor table, available and used rings. Every ring and buffer address
 * goes through guest_memory_ptr(); chains are bounded by the queue size, so a
 * loop ends; a malformed ring is an error code, never a crash (section 2.7.5,
 * 2.7.7, 2.7.10; model: rust-vmm virtio-queue, Firecracker). */
#ifndef VMM_VIRTIO_QUEUE_H
#define VMM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/memory.h"

#define VIRTQ_MAX_SIZE        32768   /* spec maximum Queue Size */
#define VIRTQ_ELEM_MAX_IOV    1024    /* buffers per chain a device accepts (like UIO_MAXIOV) */

/* Descriptor flags (2.7.5) and ring flags (2.7.6, 2.7.8). */
#define VIRTQ_DESC_F_NEXT         1
#define VIRTQ_DESC_F_WRITE        2
#define VIRTQ_DESC_F_INDIRECT     4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

/* Errors (negative). Sticky: once a queue fails, virtq_pop() keeps returning
 * the first error until virtq_reset()/virtq_setup(). */
enum {
	VIRTQ_E_NOT_READY = -1,        /* queue not set up / not enabled */
	VIRTQ_E_SIZE = -2,             /* queue size 0, not a power of 2, or too big */
	VIRTQ_E_RING_ADDR = -3,        /* desc/avail/used area not wholly in RAM or misaligned */
	VIRTQ_E_AVAIL_IDX = -4,        /* avail idx moved by more than the queue size */
	VIRTQ_E_HEAD = -5,             /* head index in the avail ring >= queue size */
	VIRTQ_E_NEXT = -6,             /* next index out of the table */
	VIRTQ_E_LOOP = -7,             /* chain longer than the queue (or indirect table) size */
	VIRTQ_E_DESC_WRAP = -8,        /* addr + len overflows 64 bits */
	VIRTQ_E_DESC_ADDR = -9,        /* buffer not wholly inside one RAM region */
	VIRTQ_E_ORDER = -10,           /* readable descriptor after a writable one */
	VIRTQ_E_INDIRECT_FEATURE = -11,/* INDIRECT flag without VIRTIO_F_INDIRECT_DESC */
	VIRTQ_E_INDIRECT_NESTED = -12, /* indirect descriptor inside an indirect table */
	VIRTQ_E_INDIRECT_LEN = -13,    /* table length 0, not a multiple of 16, or > queue size entries */
	VIRTQ_E_INDIRECT_ADDR = -14,   /* table not wholly in RAM */
	VIRTQ_E_INDIRECT_FLAGS = -15,  /* INDIRECT together with NEXT */
	VIRTQ_E_TOO_MANY_IOV = -16,    /* more than VIRTQ_ELEM_MAX_IOV non-empty buffers */
	VIRTQ_E_USED_ID = -17,         /* virtq_push() of a head >= queue size */
};

/* Ring layouts, little-endian (the host is x86-64). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

/* One popped chain. iov[0 .. out_num) are the device-readable (driver "out")
 * buffers in chain order, iov[out_num .. out_num + in_num) the device-writable
 * ("in") ones. Zero-length buffers are dropped. The iovecs point into guest
 * RAM and stay valid while the VM's memory does. */
struct virtq_elem {
	uint16_t head;          /* pass to virtq_push() */
	unsigned out_num, in_num;
	uint64_t out_len, in_len; /* total bytes of each kind */
	struct iovec iov[VIRTQ_ELEM_MAX_IOV];
};

struct virtq {
	/* Set by the transport (virtq_setup). */
	uint16_t size;
	uint64_t desc_addr, avail_addr, used_addr;
	bool ready;
	bool event_idx;         /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;          /* VIRTIO_F_INDIRECT_DESC negotiated */
	const struct guest_memory *mem;

	/* Device-side state. */
	uint16_t last_avail_idx;  /* next avail entry to pop */
	uint16_t used_idx;        /* our copy of used->idx */
	uint16_t signalled_used;  /* used_idx at the last notification decision */
	bool signalled_used_valid;
	int error;                /* first error, sticky; 0 if healthy */

	/* Host pointers to the rings, valid while ready. */
	struct virtq_desc *desc;
	volatile uint16_t *avail;  /* flags, idx, ring[size], used_event */
	volatile uint16_t *used_hdr; /* flags, idx */
	volatile struct virtq_used_elem *used_ring;
	volatile uint16_t *avail_event; /* after used ring[size] */

	/* Called once when the queue first fails (the transport sets
	 * DEVICE_NEEDS_RESET). May be NULL. */
	void (*on_error)(void *opaque, int err);
	void *error_opaque;
};

/* Zeroes q and binds it to guest memory. */
void virtq_init(struct virtq *q, const struct guest_memory *mem);

/* Validates and maps the rings the driver programmed: size a power of 2 up to
 * VIRTQ_MAX_SIZE; desc 16-byte, avail 2-byte, used 4-byte aligned; each area
 * (including the event words) wholly inside RAM. features selects
 * EVENT_IDX/INDIRECT. On success the queue is ready with indices 0 and
 * returns 0; on failure returns VIRTQ_E_* and leaves q unchanged. */
int virtq_setup(struct virtq *q, uint16_t size, uint64_t desc, uint64_t avail,
		uint64_t used, uint64_t features);

/* Back to not-ready with indices 0 and no error (device reset). Keeps mem
 * and the on_error hook. */
void virtq_reset(struct virtq *q);

/* Pops the next available chain into *elem. Returns 1 when one was popped,
 * 0 when the ring is empty, or a negative VIRTQ_E_* when the ring is
 * malformed (the queue is then broken, on_error is called the first time,
 * and *elem is unspecified). */
int virtq_pop(struct virtq *q, struct virtq_elem *elem);

/* Returns a chain to the driver: writes used ring entry {head, written} and
 * publishes used->idx (write barrier first). 0 or VIRTQ_E_*. Does not
 * interrupt; call virtq_should_notify() (or virtio_notify_used()). */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/* Whether the driver wants an interrupt for what was pushed since the last
 * call: EVENT_IDX used_event crossing (2.7.7.2), else !NO_INTERRUPT.
 * Records the current used idx as signalled. */
bool virtq_should_notify(struct virtq *q);

/* Notification suppression while the device is draining the ring (2.7.10):
 * disable writes NO_NOTIFY (or nothing with EVENT_IDX); enable re-arms and
 * returns true if buffers became available meanwhile (pop again then). */
void virtq_disable_notify(struct virtq *q);
bool virtq_enable_notify(struct virtq *q);

/* True when the driver has made buffers available we have not popped. */
bool virtq_has_avail(struct virtq *q);

/* Copy helpers over a popped chain: read from the readable buffers at byte
 * offset off / write into the writable buffers at offset off. Return the
 * number of bytes copied (short when the chain is shorter). */
size_t virtq_elem_read(const struct virtq_elem *elem, size_t off, void *buf, size_t len);
size_t virtq_elem_write(const struct virtq_elem *elem, size_t off, const void *buf, size_t len);

const char *virtq_strerror(int err);

#endif
