/* The driver's side of split virtqueues for host-side device tests (virtio
 * 1.2 section 2.7.5-2.7.8): chains of descriptors posted to the available
 * ring and the used ring read back, in a test's fake guest RAM; and a
 * stand-in transport that counts the interrupts the driver wants and
 * NEEDS_RESET. Little-endian host assumed, as the VMM does. */
#ifndef VMM_TESTS_VIRTIO_TEST_RING_H
#define VMM_TESTS_VIRTIO_TEST_RING_H

#include <stdint.h>

#include "devices/virtio/virtio.h"

struct vtring {
	uint8_t *ram;              /* host address of guest physical 0 */
	uint64_t desc, avail, used; /* guest addresses of the three areas */
	uint16_t size;
	uint16_t avail_idx, next_desc;
};

struct vtring_buf {
	uint64_t addr;
	uint32_t len;
	int writable;
};

/* Driver state for a ring of size entries at desc/avail/used (indices 0;
 * the areas themselves are not touched). */
void vtring_init(struct vtring *q, uint8_t *ram, uint16_t size, uint64_t desc, uint64_t avail,
		 uint64_t used);
/* Makes one chain of the n buffers available (consecutive descriptors,
 * wrapping at size) and returns its head. */
uint16_t vtring_post(struct vtring *q, const struct vtring_buf *b, int n);
/* used->idx, and used ring entry i (modulo size). */
uint16_t vtring_used_idx(const struct vtring *q);
void vtring_used_elem(const struct vtring *q, uint16_t i, uint32_t *id, uint32_t *len);
uint32_t vtring_used_len(const struct vtring *q, uint16_t i);

/* Notifies vdev of queue qidx, then calls poll(opaque) (a block engine's
 * poll, say) until used->idx moves from seen, at most 1000 times; returns
 * used->idx for the caller to check. */
uint16_t vtring_kick_wait(const struct vtring *q, struct virtio_device *vdev, unsigned qidx, uint16_t seen,
			  void (*poll)(void *opaque), void *opaque);

/* Stand-in transport: notify_used counts in vtring_notifies when
 * virtq_should_notify() says the driver wants an interrupt; set_needs_reset
 * counts in vtring_needs_reset; notify_config does nothing. */
extern unsigned vtring_notifies, vtring_needs_reset;
extern const struct virtio_transport_ops vtring_fake_transport;

#endif
