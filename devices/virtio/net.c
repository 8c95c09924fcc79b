/* virtio-net device model (virtio 1.2 section 5.1) on a tap: TX chains are
 * written to the tap as they are (the 12-byte virtio_net_hdr_v1 is the tap's
 * vnet header), RX frames are read on the event loop into guest buffers,
 * merged over several chains with num_buffers under MRG_RXBUF (5.1.6.3-4);
 * the control queue handles VIRTIO_NET_CTRL_MQ (5.1.6.5.5). */
#include "devices/virtio/net.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#define NET_QUEUE_SIZE 256
#define NET_FRAME_MAX (TAP_VNET_HDR_LEN + 65536 + 64)   /* GSO frame + vnet header */
#define NET_RX_BUDGET 256   /* frames per callback, so one busy tap cannot starve the loop */

struct net_used {
	uint16_t head;
	uint32_t len;
};

struct net_pair {
	struct virtio_net *net;
	unsigned idx;
	int fd;
	bool watching;           /* tap fd has EPOLLIN on the loop */
	uint32_t pending;        /* bytes of a frame waiting in buf for RX buffers */
	uint8_t *buf;
	struct net_used *used;   /* chains of the frame being delivered */
	struct virtq_elem *first, *next;
};

struct virtio_net {
	struct virtio_device vdev;
	struct virtio_net_config cfg;
	struct tap *tap;
	struct event_loop *loop;
	int kick_fd;             /* RX buffers added / device (re)started: run RX on the loop */
	pthread_mutex_t lock;    /* all device state */
	bool active;
	unsigned npairs, active_pairs;
	struct net_pair pair[TAP_MAX_QUEUES];
	struct virtq_elem *scratch;  /* TX and control queue */
};

static void kick(struct virtio_net *net)
{
	uint64_t one = 1;

	if (write(net->kick_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: already pending. */
	}
}

/* Loop thread only (event_loop_mod's rule). */
static void watch(struct net_pair *p, bool on)
{
	if (p->watching == on)
		return;
	if (event_loop_mod(p->net->loop, p->fd, on ? EPOLLIN : 0) == 0)
		p->watching = on;
}

/* Publishes several used elements with one index update, so a driver never
 * sees the head of a merged frame before its other buffers (5.1.6.4). */
static void push_batch(struct virtq *q, const struct net_used *u, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		volatile struct virtq_used_elem *e = &q->used_ring[(uint16_t)(q->used_idx + i) & (q->size - 1)];

		e->id = u[i].head;
		e->len = u[i].len;
	}
	q->used_idx = (uint16_t)(q->used_idx + n);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&q->used_hdr[1], q->used_idx, __ATOMIC_RELAXED);
}

static void broken(struct virtio_net *net)
{
	net->active = false;
	virtio_set_needs_reset(&net->vdev);
}

/* Places the pending frame into RX chains. 1 delivered, 0 no buffer (the
 * frame stays pending), -1 the queue is broken. */
static int rx_deliver(struct virtio_net *net, struct net_pair *p)
{
	struct virtq *q = &net->vdev.vq[2 * p->idx];
	bool mrg = virtio_has_feature(&net->vdev, VIRTIO_NET_F_MRG_RXBUF);
	uint32_t len = p->pending, off = 0;
	unsigned k = 0, max = q->size;
	struct virtq_elem *e = p->first;
	uint16_t nb;
	int r;

	r = virtq_pop(q, p->first);
	if (r <= 0)
		return r < 0 ? -1 : 0;
	for (;;) {
		size_t n;

		if (e->in_len < (k == 0 ? TAP_VNET_HDR_LEN : 1)) {
			/* No room for the header: the driver broke 5.1.6.3.1. */
			broken(net);
			return -1;
		}
		n = virtq_elem_write(e, 0, p->buf + off, len - off);
		p->used[k].head = e->head;
		p->used[k].len = (uint32_t)n;
		k++;
		off += (uint32_t)n;
		/* Without MRG_RXBUF the chain must hold the whole frame; a
		 * short one gets it truncated (the driver drops it). */
		if (off == len || !mrg || k == max)
			break;
		e = p->next;
		r = virtq_pop(q, e);
		if (r < 0)
			return -1;
		if (r == 0)
			break;   /* ran out mid-frame: the truncated frame is dropped by the driver */
	}
	nb = (uint16_t)k;
	virtq_elem_write(p->first, offsetof(struct virtio_net_hdr_v1, num_buffers), &nb, sizeof(nb));
	push_batch(q, p->used, k);
	return 1;
}

/* Moves frames from the tap to the guest until either runs dry. */
static void rx_pair(struct virtio_net *net, struct net_pair *p)
{
	struct virtq *q = &net->vdev.vq[2 * p->idx];
	unsigned delivered = 0;

	if (!net->active || p->idx >= net->active_pairs || !q->ready || q->error) {
		p->pending = 0;
		watch(p, false);
		return;
	}
	while (delivered < NET_RX_BUDGET) {
		int r;

		if (!p->pending) {
			ssize_t n;

			if (!virtq_has_avail(q)) {
				/* Re-arm the driver's notification (EVENT_IDX) and
				 * recheck; the kick brings us back. */
				if (virtq_enable_notify(q))
					continue;
				watch(p, false);
				break;
			}
			n = read(p->fd, p->buf, NET_FRAME_MAX);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				watch(p, errno == EAGAIN);
				break;
			}
			if (n <= TAP_VNET_HDR_LEN)
				continue;
			p->pending = (uint32_t)n;
			if (!virtio_has_feature(&net->vdev, VIRTIO_NET_F_GUEST_CSUM))
				p->buf[0] = 0;   /* 5.1.6.3.2: flags zero without GUEST_CSUM */
		}
		r = rx_deliver(net, p);
		if (r < 0)
			break;
		if (r == 0) {
			if (virtq_enable_notify(q))
				continue;
			watch(p, false);
			break;
		}
		p->pending = 0;
		delivered++;
	}
	if (delivered)
		virtio_notify_used(&net->vdev, 2 * p->idx);
}

static void on_tap(void *opaque, uint32_t events)
{
	struct net_pair *p = opaque;

	pthread_mutex_lock(&p->net->lock);
	rx_pair(p->net, p);
	pthread_mutex_unlock(&p->net->lock);
}

static void on_kick(void *opaque, uint32_t events)
{
	struct virtio_net *net = opaque;
	uint64_t v;

	if (read(net->kick_fd, &v, sizeof(v)) < 0) {
	}
	pthread_mutex_lock(&net->lock);
	for (unsigned i = 0; i < net->npairs; i++)
		rx_pair(net, &net->pair[i]);
	pthread_mutex_unlock(&net->lock);
}

static void tx_pair(struct virtio_net *net, unsigned idx)
{
	struct virtq *q = &net->vdev.vq[2 * idx + 1];
	struct virtq_elem *e = net->scratch;
	bool pushed = false;

	for (;;) {
		int r = 0;

		virtq_disable_notify(q);
		while (net->active && (r = virtq_pop(q, e)) == 1) {
			/* The guest's header is the tap's vnet header; a chain
			 * too short for it is dropped (5.1.6.2). */
			if (e->out_len > TAP_VNET_HDR_LEN) {
				while (writev(net->pair[idx].fd, e->iov, (int)e->out_num) < 0 && errno == EINTR)
					;
				/* Other errors (EAGAIN: the tap's queue is full,
				 * EINVAL: a bad GSO header) drop the frame, as a
				 * NIC would. */
			}
			virtq_push(q, e->head, 0);
			pushed = true;
		}
		if (!net->active || r < 0 || !virtq_enable_notify(q))
			break;
	}
	if (pushed)
		virtio_notify_used(&net->vdev, 2 * idx + 1);
}

static void set_active_pairs(struct virtio_net *net, unsigned n)
{
	net->active_pairs = n;
	if (net->npairs > 1)
		for (unsigned i = 0; i < net->npairs; i++)
			tap_set_queue_enabled(net->tap, i, i < n);
}

static void ctrl_queue(struct virtio_net *net)
{
	unsigned qidx = 2 * net->npairs;
	struct virtq *q = &net->vdev.vq[qidx];
	struct virtq_elem *e = net->scratch;
	bool pushed = false;
	int r;

	while (net->active && (r = virtq_pop(q, e)) == 1) {
		uint8_t hdr[2], ack = VIRTIO_NET_ERR;
		uint16_t pairs;
		const struct iovec *last;

		if (e->in_num == 0 || virtq_elem_read(e, 0, hdr, 2) != 2) {
			broken(net);
			break;
		}
		if (hdr[0] == VIRTIO_NET_CTRL_MQ && hdr[1] == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET &&
		    virtq_elem_read(e, 2, &pairs, 2) == 2 && pairs >= 1 && pairs <= net->npairs) {
			set_active_pairs(net, pairs);
			ack = VIRTIO_NET_OK;
			kick(net);
		}
		last = &e->iov[e->out_num + e->in_num - 1];
		((uint8_t *)last->iov_base)[last->iov_len - 1] = ack;
		virtq_push(q, e->head, 1);
		pushed = true;
	}
	if (pushed)
		virtio_notify_used(&net->vdev, qidx);
}

static void net_queue_notify(struct virtio_device *vdev, unsigned qidx)
{
	struct virtio_net *net = vdev->opaque;

	if (qidx >= vdev->num_queues)
		return;
	pthread_mutex_lock(&net->lock);
	if (net->active) {
		if (qidx == 2 * net->npairs)
			ctrl_queue(net);
		else if (qidx & 1)
			tx_pair(net, qidx / 2);
		else
			kick(net);   /* RX buffers: the loop thread reads the tap */
	}
	pthread_mutex_unlock(&net->lock);
}

static unsigned offload_flags(const struct virtio_device *vdev)
{
	unsigned f = 0;

	if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM)) {
		f |= TAP_OFFLOAD_CSUM;
		if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO4))
			f |= TAP_OFFLOAD_TSO4;
		if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO6))
			f |= TAP_OFFLOAD_TSO6;
		if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_ECN))
			f |= TAP_OFFLOAD_TSO_ECN;
	}
	return f;
}

static int net_activate(struct virtio_device *vdev)
{
	struct virtio_net *net = vdev->opaque;
	unsigned f = offload_flags(vdev);
	int ret = tap_set_offload(net->tap, f);

	/* Only fds that are not taps (tests) refuse, and then nothing was offered. */
	if (ret < 0 && f)
		return ret;
	pthread_mutex_lock(&net->lock);
	set_active_pairs(net, 1);
	net->active = true;
	pthread_mutex_unlock(&net->lock);
	kick(net);
	return 0;
}

static void net_reset(struct virtio_device *vdev)
{
	struct virtio_net *net = vdev->opaque;

	pthread_mutex_lock(&net->lock);
	net->active = false;
	for (unsigned i = 0; i < net->npairs; i++)
		net->pair[i].pending = 0;
	pthread_mutex_unlock(&net->lock);
	kick(net);   /* the loop stops watching the tap fds */
}

static const struct virtio_device_ops net_ops = {
	.activate = net_activate,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
};

static void free_pairs(struct virtio_net *net)
{
	for (unsigned i = 0; i < TAP_MAX_QUEUES; i++) {
		free(net->pair[i].buf);
		free(net->pair[i].used);
		free(net->pair[i].first);
		free(net->pair[i].next);
	}
	free(net->scratch);
}

int virtio_net_create(struct virtio_net **out, struct tap *tap, struct event_loop *loop,
		      const struct virtio_net_opts *opts)
{
	static const struct virtio_net_opts defaults;
	static const uint8_t zero_mac[6];
	static const uint8_t default_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	struct virtio_net *net;
	unsigned qsize;
	int ret = -ENOMEM;

	if (!out || !tap || !loop)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	qsize = opts->queue_size ? opts->queue_size : NET_QUEUE_SIZE;
	if (qsize < 2 || qsize > 1024 || (qsize & (qsize - 1)))
		return -EINVAL;
	net = calloc(1, sizeof(*net));
	if (!net)
		return -ENOMEM;
	net->tap = tap;
	net->loop = loop;
	net->npairs = tap_queues(tap);
	net->active_pairs = 1;
	net->scratch = malloc(sizeof(*net->scratch));
	if (!net->scratch)
		goto fail;
	for (unsigned i = 0; i < net->npairs; i++) {
		struct net_pair *p = &net->pair[i];

		p->net = net;
		p->idx = i;
		p->fd = tap_fd(tap, i);
		p->buf = malloc(NET_FRAME_MAX);
		p->used = malloc(sizeof(*p->used) * qsize);
		p->first = malloc(sizeof(*p->first));
		p->next = malloc(sizeof(*p->next));
		if (!p->buf || !p->used || !p->first || !p->next)
			goto fail;
	}
	if (pthread_mutex_init(&net->lock, NULL))
		goto fail;
	net->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (net->kick_fd < 0) {
		ret = -errno;
		goto fail_lock;
	}
	ret = event_loop_add(loop, net->kick_fd, EPOLLIN, on_kick, net);
	if (ret < 0)
		goto fail_kick;
	for (unsigned i = 0; i < net->npairs; i++) {
		ret = event_loop_add(loop, net->pair[i].fd, 0, on_tap, &net->pair[i]);
		if (ret < 0) {
			while (i-- > 0)
				event_loop_del(loop, net->pair[i].fd);
			event_loop_del(loop, net->kick_fd);
			goto fail_kick;
		}
	}

	memcpy(net->cfg.mac, memcmp(opts->mac, zero_mac, 6) ? opts->mac : default_mac, 6);
	net->cfg.status = VIRTIO_NET_S_LINK_UP;
	net->cfg.max_virtqueue_pairs = (uint16_t)net->npairs;
	net->vdev.name = "virtio-net";
	net->vdev.device_id = VIRTIO_ID_NET;
	net->vdev.num_queues = 2 * net->npairs + (net->npairs > 1);
	net->vdev.queue_size_max = (uint16_t)qsize;
	net->vdev.device_features = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
				    (1ull << VIRTIO_NET_F_MRG_RXBUF) | (1ull << VIRTIO_NET_F_CSUM) |
				    (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6);
	/* Guest offloads only where the tap takes TUNSETOFFLOAD. */
	if (tap_set_offload(tap, TAP_OFFLOAD_CSUM | TAP_OFFLOAD_TSO4 | TAP_OFFLOAD_TSO6) == 0) {
		tap_set_offload(tap, 0);
		net->vdev.device_features |= (1ull << VIRTIO_NET_F_GUEST_CSUM) |
					     (1ull << VIRTIO_NET_F_GUEST_TSO4) |
					     (1ull << VIRTIO_NET_F_GUEST_TSO6);
	}
	if (net->npairs > 1)
		net->vdev.device_features |= (1ull << VIRTIO_NET_F_CTRL_VQ) | (1ull << VIRTIO_NET_F_MQ);
	net->vdev.config = &net->cfg;
	net->vdev.config_size = sizeof(net->cfg);
	net->vdev.ops = &net_ops;
	net->vdev.opaque = net;
	*out = net;
	return 0;

fail_kick:
	close(net->kick_fd);
fail_lock:
	pthread_mutex_destroy(&net->lock);
fail:
	free_pairs(net);
	free(net);
	return ret;
}

struct virtio_device *virtio_net_device(struct virtio_net *net)
{
	return &net->vdev;
}

void virtio_net_set_link(struct virtio_net *net, int up)
{
	pthread_mutex_lock(&net->lock);
	net->cfg.status = up ? VIRTIO_NET_S_LINK_UP : 0;
	pthread_mutex_unlock(&net->lock);
	virtio_notify_config(&net->vdev);
}

void virtio_net_destroy(struct virtio_net *net)
{
	if (!net)
		return;
	for (unsigned i = 0; i < net->npairs; i++)
		event_loop_del(net->loop, net->pair[i].fd);
	event_loop_del(net->loop, net->kick_fd);
	close(net->kick_fd);
	pthread_mutex_destroy(&net->lock);
	free_pairs(net);
	free(net);
}
