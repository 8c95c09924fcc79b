/* Driver side of split virtqueues and a stand-in transport for device unit
 * tests (virtio 1.2 section 2.7): see tests/virtio_test_ring.h. */
#include "tests/virtio_test_ring.h"

#include <string.h>

unsigned vtring_notifies, vtring_needs_reset;

static void fake_notify_used(struct virtio_device *vdev, unsigned qidx)
{
	if (virtq_should_notify(&vdev->vq[qidx]))
		vtring_notifies++;
}
static void fake_notify_config(struct virtio_device *vdev) { (void)vdev; }
static void fake_needs_reset(struct virtio_device *vdev) { (void)vdev; vtring_needs_reset++; }
const struct virtio_transport_ops vtring_fake_transport = {
	fake_notify_used, fake_notify_config, fake_needs_reset,
};

void vtring_init(struct vtring *q, uint8_t *ram, uint16_t size, uint64_t desc, uint64_t avail,
		 uint64_t used)
{
	memset(q, 0, sizeof(*q));
	q->ram = ram;
	q->size = size;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
}

uint16_t vtring_post(struct vtring *q, const struct vtring_buf *b, int n)
{
	uint16_t head = q->next_desc % q->size;

	for (int i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % q->size);
		struct virtq_desc desc = {
			.addr = b[i].addr, .len = b[i].len,
			.flags = (uint16_t)((b[i].writable ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			.next = (uint16_t)((d + 1) % q->size),
		};
		memcpy(q->ram + q->desc + 16 * d, &desc, sizeof(desc));
	}
	q->next_desc = (uint16_t)(q->next_desc + n);
	memcpy(q->ram + q->avail + 4 + 2 * (q->avail_idx % q->size), &head, 2);
	q->avail_idx++;
	memcpy(q->ram + q->avail + 2, &q->avail_idx, 2);
	return head;
}

uint16_t vtring_used_idx(const struct vtring *q)
{
	uint16_t v;

	memcpy(&v, q->ram + q->used + 2, 2);
	return v;
}

void vtring_used_elem(const struct vtring *q, uint16_t i, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = q->ram + q->used + 4 + 8 * (i % q->size);

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

uint32_t vtring_used_len(const struct vtring *q, uint16_t i)
{
	uint32_t id, len;

	vtring_used_elem(q, i, &id, &len);
	return len;
}

uint16_t vtring_kick_wait(const struct vtring *q, struct virtio_device *vdev, unsigned qidx, uint16_t seen,
			  void (*poll)(void *opaque), void *opaque)
{
	int spins = 0;

	vdev->ops->queue_notify(vdev, qidx);
	while (vtring_used_idx(q) == seen && spins++ < 1000)
		poll(opaque);
	return vtring_used_idx(q);
}
