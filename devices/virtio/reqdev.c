/* The queue loop, activate, reset and drain shared by the virtio devices
 * that serve requests through the block layer (blk, scsi): virtio 1.2
 * sections 2.1.2 (NEEDS_RESET), 2.4 (reset), 2.7.10 (notification
 * suppression). */
#include "devices/virtio/reqdev.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int virtio_reqdev_init(struct virtio_reqdev *rd, struct virtio_device *vdev)
{
	memset(rd, 0, sizeof(*rd));
	if (pthread_mutex_init(&rd->lock, NULL))
		return -ENOMEM;
	rd->vdev = vdev;
	return 0;
}

void virtio_reqdev_destroy(struct virtio_reqdev *rd)
{
	pthread_mutex_lock(&rd->lock);
	rd->gen++;
	virtio_reqdev_drain_locked(rd);
	pthread_mutex_unlock(&rd->lock);
	pthread_mutex_destroy(&rd->lock);
}

void virtio_reqdev_notify(struct virtio_reqdev *rd, unsigned qidx)
{
	struct virtq *q = &rd->vdev->vq[qidx];
	struct block_engine *eng;
	bool notify = false;

	pthread_mutex_lock(&rd->lock);
	/* Everything this notification made available goes to the host in
	 * one submission (block_engine_plug), not one syscall per request. */
	eng = rd->bs && *rd->bs ? (*rd->bs)->engine : NULL;
	if (eng)
		block_engine_plug(eng);
	while (!rd->broken[qidx]) {
		int r = 0;

		virtq_disable_notify(q);
		while (!rd->broken[qidx] && (r = virtq_pop(q, &rd->elem)) == 1)
			notify |= rd->handle(rd->opaque, qidx, &rd->elem);
		if (rd->broken[qidx] || r < 0 || !virtq_enable_notify(q))
			break;
	}
	if (eng)
		block_engine_unplug(eng);
	if (notify)
		virtio_notify_used(rd->vdev, qidx);
	pthread_mutex_unlock(&rd->lock);
}

int virtio_reqdev_activate(struct virtio_reqdev *rd)
{
	pthread_mutex_lock(&rd->lock);
	memset(rd->broken, 0, sizeof(rd->broken));
	pthread_mutex_unlock(&rd->lock);
	return 0;
}

void virtio_reqdev_reset(struct virtio_reqdev *rd)
{
	pthread_mutex_lock(&rd->lock);
	rd->gen++;
	virtio_reqdev_drain_locked(rd);
	memset(rd->broken, 0, sizeof(rd->broken));
	if (rd->reset_locked)
		rd->reset_locked(rd->opaque);
	pthread_mutex_unlock(&rd->lock);
}

void virtio_reqdev_set_broken(struct virtio_reqdev *rd, unsigned qidx)
{
	rd->broken[qidx] = true;
	virtio_set_needs_reset(rd->vdev);
}

void virtio_reqdev_drain_locked(struct virtio_reqdev *rd)
{
	while (rd->inflight > 0 || rd->notify_scheduled) {
		pthread_mutex_unlock(&rd->lock);
		if (block_engine_poll((*rd->bs)->engine, 1) <= 0)
			usleep(1000);   /* another thread is running our callback */
		pthread_mutex_lock(&rd->lock);
	}
}

uint32_t virtio_reqdev_submit_begin(struct virtio_reqdev *rd)
{
	rd->inflight++;
	return rd->gen;
}

void virtio_reqdev_submit_failed(struct virtio_reqdev *rd)
{
	rd->inflight--;
}

bool virtio_reqdev_complete_begin(struct virtio_reqdev *rd, uint32_t gen, unsigned qidx)
{
	pthread_mutex_lock(&rd->lock);
	return gen == rd->gen && !rd->broken[qidx];
}

/* The end of a completion batch: one interrupt per queue that got used
 * entries (virtq_should_notify then compares used_event with everything
 * the batch published, 2.7.10). */
static void notify_batch(void *opaque)
{
	struct virtio_reqdev *rd = opaque;

	pthread_mutex_lock(&rd->lock);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (rd->notify_pending[q]) {
			rd->notify_pending[q] = false;
			virtio_notify_used(rd->vdev, q);
		}
	rd->notify_scheduled = false;
	pthread_mutex_unlock(&rd->lock);
}

void virtio_reqdev_complete_end(struct virtio_reqdev *rd, unsigned qidx, bool answered)
{
	bool schedule = false;

	if (answered) {
		rd->notify_pending[qidx] = true;
		schedule = !rd->notify_scheduled;
		rd->notify_scheduled = true;
	}
	rd->inflight--;
	pthread_mutex_unlock(&rd->lock);
	/* After the unlock: outside a poll batch it runs notify_batch now. */
	if (schedule)
		block_engine_defer(notify_batch, rd);
}
