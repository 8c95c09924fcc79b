/* virtio-blk device model (virtio 1.2 section 5.2): parses requests from
 * popped chains (5.2.6: header out, data, status in), serves them through the
 * block layer asynchronously, and pushes the used element from the block
 * completion. Malformed chains put the device in NEEDS_RESET (2.1.2). */
#include "devices/virtio/blk.h"
#include "devices/virtio/reqdev.h"
#include "block/iov.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BLK_SECTOR 512u
#define BLK_QUEUE_SIZE 256
#define BLK_MAX_DISCARD_SECTORS (1u << 22)   /* 2 GiB per request, bounds host work */
#define BLK_POOL_IOV 16      /* requests with up to this many buffers are recycled */
#define BLK_POOL_MAX 1024    /* bound on the recycled requests kept */

struct blk_req_hdr {       /* struct virtio_blk_req's device-readable head */
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_dwz_seg {       /* struct virtio_blk_discard_write_zeroes (5.2.6) */
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct blk_req {
	struct blk_req *next_free; /* in the device's pool */
	struct virtio_blk *blk;
	unsigned qidx;
	uint16_t head;
	uint32_t gen;
	uint8_t *status;     /* last device-writable byte of the chain */
	uint32_t written;    /* used length reported to the driver */
	bool pooled;         /* room for BLK_POOL_IOV iovecs: goes back to the pool */
	int iovcnt;
	struct iovec iov[];
};

struct virtio_blk {
	struct virtio_device vdev;
	struct virtio_blk_config cfg;
	struct block_dev *bs;
	struct virtio_reqdev rq;  /* lock, gen, inflight, broken, queue loop */
	/* Finished requests kept for reuse (under rq.lock): no malloc/free
	 * per request once the pool has grown to the queue depth in use. */
	struct blk_req *pool;
	unsigned pool_len;
	bool read_only;
	char serial[VIRTIO_BLK_ID_BYTES];
};

static uint8_t status_for(int ret)
{
	if (ret == 0)
		return VIRTIO_BLK_S_OK;
	if (ret == -ENOTSUP || ret == -EOPNOTSUPP)
		return VIRTIO_BLK_S_UNSUPP;
	return VIRTIO_BLK_S_IOERR;
}

/* Called with the device lock held: publish a finished request. */
static void complete_locked(struct virtio_blk *blk, unsigned qidx, uint16_t head, uint8_t *status,
			    uint8_t st, uint32_t written)
{
	*status = st;
	virtq_push(&blk->vdev.vq[qidx], head, written);
}

/* Lock held: r is finished; back to the pool or freed. */
static void req_release(struct virtio_blk *blk, struct blk_req *r)
{
	if (r->pooled && blk->pool_len < BLK_POOL_MAX) {
		r->next_free = blk->pool;
		blk->pool = r;
		blk->pool_len++;
	} else {
		free(r);
	}
}

static void req_done(void *opaque, int ret)
{
	struct blk_req *r = opaque;
	struct virtio_blk *blk = r->blk;
	unsigned qidx = r->qidx;
	bool answer = virtio_reqdev_complete_begin(&blk->rq, r->gen, qidx);

	if (answer)
		complete_locked(blk, qidx, r->head, r->status, status_for(ret), r->written);
	req_release(blk, r);
	virtio_reqdev_complete_end(&blk->rq, qidx, answer);
}

/* A request for chain e with room for niov iovecs, counted in flight;
 * NULL when out of memory. Lock held. */
static struct blk_req *req_new(struct virtio_blk *blk, unsigned qidx, const struct virtq_elem *e,
			       uint8_t *status, uint32_t written, unsigned niov)
{
	bool pooled = niov <= BLK_POOL_IOV;
	struct blk_req *r = pooled ? blk->pool : NULL;

	if (r) {
		blk->pool = r->next_free;
		blk->pool_len--;
	} else {
		r = malloc(sizeof(*r) + sizeof(struct iovec) * (pooled ? BLK_POOL_IOV : niov));
		if (!r)
			return NULL;
	}
	r->pooled = pooled;
	r->blk = blk;
	r->qidx = qidx;
	r->head = e->head;
	r->gen = virtio_reqdev_submit_begin(&blk->rq);
	r->status = status;
	r->written = written;
	r->iovcnt = 0;
	return r;
}

/* After handing r to the block layer: a refused request is not in flight. */
static int req_submitted(struct virtio_blk *blk, struct blk_req *r, int ret)
{
	if (ret < 0) {
		virtio_reqdev_submit_failed(&blk->rq);
		req_release(blk, r);
	}
	return ret;
}

static bool in_range(struct virtio_blk *blk, uint64_t sector, uint64_t bytes)
{
	uint64_t size = blk->bs->size;

	if (sector > UINT64_MAX / BLK_SECTOR)
		return false;
	return bytes <= size && sector * BLK_SECTOR <= size - bytes;
}

/* Returns a negative errno for an immediate failure (status set by the
 * caller), 0 when submitted. */
static int submit_rw(struct virtio_blk *blk, unsigned qidx, const struct virtq_elem *e,
		     const struct blk_req_hdr *hdr, uint8_t *status)
{
	bool is_read = hdr->type == VIRTIO_BLK_T_IN;
	size_t len = is_read ? e->in_len - 1 : e->out_len - sizeof(*hdr);
	unsigned n = is_read ? e->in_num : e->out_num;
	const struct iovec *src = is_read ? e->iov + e->out_num : e->iov;
	struct blk_req *r;
	int ret;

	if (!is_read && blk->read_only)
		return -EROFS;
	if (len % BLK_SECTOR || !in_range(blk, hdr->sector, len))
		return -EINVAL;
	r = req_new(blk, qidx, e, status, is_read ? (uint32_t)(len + 1) : 1, n);
	if (!r)
		return -ENOMEM;
	r->iovcnt = block_iov_slice(src, (int)n, is_read ? 0 : sizeof(*hdr), len, r->iov, (int)n);
	if (is_read)
		ret = block_preadv(blk->bs, hdr->sector * BLK_SECTOR, r->iov, r->iovcnt, req_done, r);
	else
		ret = block_pwritev(blk->bs, hdr->sector * BLK_SECTOR, r->iov, r->iovcnt, req_done, r);
	return req_submitted(blk, r, ret);
}

static int submit_simple(struct virtio_blk *blk, unsigned qidx, const struct virtq_elem *e,
			 uint8_t *status, int type, uint64_t off, uint64_t len, int unmap)
{
	struct blk_req *r = req_new(blk, qidx, e, status, 1, 0);
	int ret;

	if (!r)
		return -ENOMEM;
	if (type == VIRTIO_BLK_T_FLUSH)
		ret = block_flush(blk->bs, req_done, r);
	else if (type == VIRTIO_BLK_T_DISCARD)
		ret = block_discard(blk->bs, off, len, req_done, r);
	else
		ret = block_write_zeroes(blk->bs, off, len, unmap, req_done, r);
	return req_submitted(blk, r, ret);
}

/* DISCARD and WRITE_ZEROES (5.2.6.2): one segment per request, as
 * max_discard_seg and max_write_zeroes_seg say. */
static int submit_dwz(struct virtio_blk *blk, unsigned qidx, const struct virtq_elem *e,
		      uint32_t type, uint8_t *status, uint8_t *st)
{
	bool discard = type == VIRTIO_BLK_T_DISCARD;
	struct blk_dwz_seg seg;
	uint32_t allowed_flags = discard ? 0 : VIRTIO_BLK_WZ_F_UNMAP;
	int ret;

	if (!virtio_has_feature(&blk->vdev, discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES)) {
		*st = VIRTIO_BLK_S_UNSUPP;
		return -ENOTSUP;
	}
	if (blk->read_only) {
		*st = VIRTIO_BLK_S_IOERR;
		return -EROFS;
	}
	if (e->out_len - sizeof(struct blk_req_hdr) != sizeof(seg) ||
	    virtq_elem_read(e, sizeof(struct blk_req_hdr), &seg, sizeof(seg)) != sizeof(seg)) {
		*st = VIRTIO_BLK_S_UNSUPP;
		return -EINVAL;
	}
	if (seg.flags & ~allowed_flags) {
		*st = VIRTIO_BLK_S_UNSUPP;
		return -EINVAL;
	}
	if (seg.num_sectors > BLK_MAX_DISCARD_SECTORS ||
	    !in_range(blk, seg.sector, (uint64_t)seg.num_sectors * BLK_SECTOR)) {
		*st = VIRTIO_BLK_S_IOERR;
		return -EINVAL;
	}
	ret = submit_simple(blk, qidx, e, status, (int)type, seg.sector * BLK_SECTOR,
			    (uint64_t)seg.num_sectors * BLK_SECTOR, seg.flags & VIRTIO_BLK_WZ_F_UNMAP);
	if (ret < 0)
		*st = status_for(ret);
	return ret;
}

/* Handles one popped chain. Returns true when it was completed right away
 * (the caller notifies), false when submitted or the queue broke. */
static bool handle_request(void *opaque, unsigned qidx, struct virtq_elem *e)
{
	struct virtio_blk *blk = opaque;
	const struct iovec *last;
	struct blk_req_hdr hdr;
	uint8_t *status, st = VIRTIO_BLK_S_IOERR;
	uint32_t written = 1;
	int ret;

	/* The header must be readable and the status byte writable, or there
	 * is no way to answer: the driver broke the protocol (5.2.6.1). */
	if (e->in_num == 0 || e->out_len < sizeof(hdr)) {
		virtio_reqdev_set_broken(&blk->rq, qidx);
		return false;
	}
	last = &e->iov[e->out_num + e->in_num - 1];
	status = (uint8_t *)last->iov_base + last->iov_len - 1;
	virtq_elem_read(e, 0, &hdr, sizeof(hdr));

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		ret = submit_rw(blk, qidx, e, &hdr, status);
		if (ret == 0)
			return false;
		if (hdr.type == VIRTIO_BLK_T_IN)
			written = (uint32_t)e->in_len;
		break;
	case VIRTIO_BLK_T_FLUSH:
		ret = submit_simple(blk, qidx, e, status, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
		if (ret == 0)
			return false;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = e->in_len - 1 < VIRTIO_BLK_ID_BYTES ? e->in_len - 1 : VIRTIO_BLK_ID_BYTES;

		virtq_elem_write(e, 0, blk->serial, n);
		st = VIRTIO_BLK_S_OK;
		written = (uint32_t)n + 1;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		ret = submit_dwz(blk, qidx, e, hdr.type, status, &st);
		if (ret == 0)
			return false;
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	complete_locked(blk, qidx, e->head, status, st, written);
	return true;
}

static void blk_queue_notify(struct virtio_device *vdev, unsigned qidx)
{
	struct virtio_blk *blk = vdev->opaque;

	if (qidx < vdev->num_queues)
		virtio_reqdev_notify(&blk->rq, qidx);
}

static int blk_activate(struct virtio_device *vdev)
{
	return virtio_reqdev_activate(&((struct virtio_blk *)vdev->opaque)->rq);
}

static void blk_reset(struct virtio_device *vdev)
{
	virtio_reqdev_reset(&((struct virtio_blk *)vdev->opaque)->rq);
}

static const struct virtio_device_ops blk_ops = {
	.activate = blk_activate,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
};

int virtio_blk_create(struct virtio_blk **out, struct block_dev *bs, const struct virtio_blk_opts *opts)
{
	static const struct virtio_blk_opts defaults;
	struct virtio_blk *blk;
	unsigned nq, qsize, bsize;

	if (!out || !bs)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	nq = opts->num_queues ? opts->num_queues : 1;
	qsize = opts->queue_size ? opts->queue_size : BLK_QUEUE_SIZE;
	if (nq > VIRTIO_MAX_QUEUES || qsize < 4 || qsize > 1024 || (qsize & (qsize - 1)))
		return -EINVAL;
	bsize = bs->sector_size >= BLK_SECTOR ? bs->sector_size : BLK_SECTOR;
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	if (virtio_reqdev_init(&blk->rq, &blk->vdev)) {
		free(blk);
		return -ENOMEM;
	}
	blk->rq.bs = &blk->bs;
	blk->rq.handle = handle_request;
	blk->rq.opaque = blk;
	blk->bs = bs;
	blk->read_only = opts->read_only || bs->read_only;
	/* 5.2.6: 20 bytes, NUL-terminated only when shorter. */
	if (opts->serial)
		memcpy(blk->serial, opts->serial, strnlen(opts->serial, sizeof(blk->serial)));

	blk->cfg.capacity = bs->size / BLK_SECTOR;
	blk->cfg.seg_max = qsize - 2;    /* as Linux expects without indirect tables */
	blk->cfg.blk_size = bsize;
	blk->cfg.num_queues = (uint16_t)nq;
	blk->cfg.max_discard_sectors = BLK_MAX_DISCARD_SECTORS;
	blk->cfg.max_discard_seg = 1;
	blk->cfg.discard_sector_alignment = bsize / BLK_SECTOR;
	blk->cfg.max_write_zeroes_sectors = BLK_MAX_DISCARD_SECTORS;
	blk->cfg.max_write_zeroes_seg = 1;
	blk->cfg.write_zeroes_may_unmap = 1;

	blk->vdev.name = "virtio-blk";
	blk->vdev.device_id = VIRTIO_ID_BLOCK;
	blk->vdev.num_queues = nq;
	blk->vdev.queue_size_max = (uint16_t)qsize;
	blk->vdev.device_features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
				    (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_MQ);
	if (blk->read_only)
		blk->vdev.device_features |= 1ull << VIRTIO_BLK_F_RO;
	else
		blk->vdev.device_features |= (1ull << VIRTIO_BLK_F_DISCARD) |
					     (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	blk->vdev.config = &blk->cfg;
	blk->vdev.config_size = sizeof(blk->cfg);
	blk->vdev.ops = &blk_ops;
	blk->vdev.opaque = blk;
	*out = blk;
	return 0;
}

struct virtio_device *virtio_blk_device(struct virtio_blk *blk)
{
	return &blk->vdev;
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	if (!blk)
		return;
	virtio_reqdev_destroy(&blk->rq);
	while (blk->pool) {
		struct blk_req *r = blk->pool;

		blk->pool = r->next_free;
		free(r);
	}
	free(blk);
}
