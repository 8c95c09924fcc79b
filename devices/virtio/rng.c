/* virtio-rng (virtio 1.2 section 5.4): each chain on the request queue is
 * filled with host entropy from getrandom() and returned with the number of
 * bytes written. No feature bits, no config space. */
#include "devices/virtio/rng.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>

#define RNG_QUEUE_SIZE 256
#define RNG_MAX_PER_CHAIN (1u << 20)   /* bound host work per guest request */

struct virtio_rng {
	struct virtio_device vdev;
	pthread_mutex_t lock;   /* serialises queue processing across vCPU/I/O threads */
	struct virtq_elem elem;
};

static size_t fill(void *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom((char *)p + done, len - done, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		done += n;
	}
	return done;
}

static void rng_notify(struct virtio_device *vdev, unsigned qidx)
{
	struct virtio_rng *rng = vdev->opaque;
	struct virtq *q = &vdev->vq[0];
	bool pushed = false;

	if (qidx != 0)
		return;
	pthread_mutex_lock(&rng->lock);
	for (;;) {
		struct virtq_elem *e = &rng->elem;
		size_t written = 0;

		if (virtq_pop(q, e) != 1)
			break;   /* empty, or broken: the queue already asked for a reset */
		for (unsigned i = e->out_num; i < e->out_num + e->in_num; i++) {
			size_t want = e->iov[i].iov_len;

			if (want > RNG_MAX_PER_CHAIN - written)
				want = RNG_MAX_PER_CHAIN - written;
			written += fill(e->iov[i].iov_base, want);
			if (written >= RNG_MAX_PER_CHAIN)
				break;
		}
		virtq_push(q, e->head, (uint32_t)written);
		pushed = true;
	}
	if (pushed)
		virtio_notify_used(vdev, 0);
	pthread_mutex_unlock(&rng->lock);
}

static void rng_reset(struct virtio_device *vdev)
{
	struct virtio_rng *rng = vdev->opaque;

	/* Wait for a notify in progress; the transport then resets the queue. */
	pthread_mutex_lock(&rng->lock);
	pthread_mutex_unlock(&rng->lock);
}

static const struct virtio_device_ops rng_ops = {
	.queue_notify = rng_notify,
	.reset = rng_reset,
};

int virtio_rng_create(struct virtio_rng **out)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));

	if (!rng)
		return -ENOMEM;
	if (pthread_mutex_init(&rng->lock, NULL)) {
		free(rng);
		return -ENOMEM;
	}
	rng->vdev.name = "virtio-rng";
	rng->vdev.device_id = VIRTIO_ID_RNG;
	rng->vdev.num_queues = 1;
	rng->vdev.queue_size_max = RNG_QUEUE_SIZE;
	rng->vdev.ops = &rng_ops;
	rng->vdev.opaque = rng;
	*out = rng;
	return 0;
}

struct virtio_device *virtio_rng_device(struct virtio_rng *rng)
{
	return &rng->vdev;
}

void virtio_rng_destroy(struct virtio_rng *rng)
{
	if (!rng)
		return;
	pthread_mutex_destroy(&rng->lock);
	free(rng);
}
