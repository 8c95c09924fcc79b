/* The queue machinery virtio devices that serve requests through the block
 * layer share (virtio-blk, virtio-scsi): one lock, a reset generation that
 * drops late completions, the in-flight count a reset drains, per-queue
 * "broken" flags (NEEDS_RESET, virtio 1.2 section 2.1.2), and the pop loop
 * with notification suppression (2.7.10). */
#ifndef VMM_VIRTIO_REQDEV_H
#define VMM_VIRTIO_REQDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"
#include "block/iov.h"
#include "devices/virtio/virtio.h"

struct virtio_reqdev {
	pthread_mutex_t lock;      /* the device's lock: queues, gen, inflight, broken, elem */
	uint32_t gen;              /* bumped by reset: older completions are dropped */
	unsigned inflight;
	bool broken[VIRTIO_MAX_QUEUES];
	/* Completions answered during a block_engine_poll() batch: one
	 * interrupt per queue at the end of the batch (block_engine_defer),
	 * not one per request. scheduled: the end-of-batch call is pending
	 * (a drain waits for it). */
	bool notify_pending[VIRTIO_MAX_QUEUES];
	bool notify_scheduled;
	struct virtq_elem elem;    /* scratch for popping, under lock */
	struct virtio_device *vdev;
	/* Where the device keeps the medium its requests use (read under the
	 * lock; may point to NULL when there is none, then nothing is in flight). */
	struct block_dev *const *bs;
	/* Serves one popped chain with the lock held. Returns true when it was
	 * completed right away (the loop then notifies), false when submitted
	 * or the queue broke. */
	bool (*handle)(void *opaque, unsigned qidx, struct virtq_elem *e);
	/* Optional: called by virtio_reqdev_reset() with the lock held after
	 * the drain, for the device's own reset state. */
	void (*reset_locked)(void *opaque);
	void *opaque;              /* passed to handle and reset_locked */
};

/* Initialises rd for vdev; the caller then sets bs, handle, reset_locked and
 * opaque. 0 or -ENOMEM. */
int virtio_reqdev_init(struct virtio_reqdev *rd, struct virtio_device *vdev);
/* Drops what is in flight (waits for it) and destroys the lock. */
void virtio_reqdev_destroy(struct virtio_reqdev *rd);

/* The driver notified queue qidx (already checked by the caller): pops and
 * handles chains until the ring is empty or the queue broke, then
 * interrupts the driver if a chain was completed right away. */
void virtio_reqdev_notify(struct virtio_reqdev *rd, unsigned qidx);
/* virtio_device_ops.activate: clears the broken flags. Returns 0. */
int virtio_reqdev_activate(struct virtio_reqdev *rd);
/* virtio_device_ops.reset: bumps gen, waits for the requests in flight,
 * clears the broken flags and calls reset_locked. */
void virtio_reqdev_reset(struct virtio_reqdev *rd);

/* Marks queue qidx broken and the device NEEDS_RESET (lock held). */
void virtio_reqdev_set_broken(struct virtio_reqdev *rd, unsigned qidx);
/* Waits until no request is in flight (they may still write guest memory)
 * and no end-of-batch interrupt is pending, polling the block engine itself
 * in case this is the thread that would. Called and returns with the lock
 * held; drops it while waiting. Not from a completion callback. */
void virtio_reqdev_drain_locked(struct virtio_reqdev *rd);

/* Request accounting, lock held: submit_begin counts a request about to be
 * submitted and returns the generation to store in it; submit_failed
 * uncounts it when the block layer refused it. */
uint32_t virtio_reqdev_submit_begin(struct virtio_reqdev *rd);
void virtio_reqdev_submit_failed(struct virtio_reqdev *rd);
/* From a block completion: takes the lock and returns true when the request
 * (of generation gen, on queue qidx) should still be answered; always
 * follow with virtio_reqdev_complete_end(), which uncounts it, drops the
 * lock and, when answered is true, interrupts the driver for qidx once the
 * engine's current batch of completions has run (block_engine_defer). */
bool virtio_reqdev_complete_begin(struct virtio_reqdev *rd, uint32_t gen, unsigned qidx);
void virtio_reqdev_complete_end(struct virtio_reqdev *rd, unsigned qidx, bool answered);

#endif
