/* virtio-scsi device model (virtio 1.2 section 5.6): parses request-queue
 * chains (5.6.6.1: virtio_scsi_cmd_req out, virtio_scsi_cmd_resp + data-in
 * in), addresses LUNs as {1, target, (lun >> 8) | 0x40, lun & 0xff}, hands
 * CDBs to the CD-ROM unit (devices/scsi_cd.c) and serves its READs through
 * the block layer. Control queue: TMF and AN answered (5.6.6.2/3). Event
 * queue: buffers kept, no events. Malformed chains put the device in
 * NEEDS_RESET (2.1.2). */
#include "devices/virtio/scsi.h"
#include "devices/scsi_cd.h"
#include "devices/virtio/reqdev.h"
#include "block/iov.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SCSI_QUEUE_SIZE 128
#define Q_CONTROL 0
#define Q_EVENT   1
#define Q_REQUEST 2

struct scsi_req {
	struct virtio_scsi *s;
	uint16_t head;
	uint32_t gen;
	uint32_t data_space;       /* device-writable bytes after the response header */
	uint32_t read_len;
	struct virtio_scsi_cmd_resp resp;
	int resp_cnt, iovcnt;
	struct iovec resp_iov[8];  /* the response header's slice of the chain */
	struct iovec iov[];        /* the data-in slice */
};

struct virtio_scsi {
	struct virtio_device vdev;
	struct virtio_scsi_config cfg;
	struct block_dev *bs;
	struct scsi_cd cd;         /* under rq.lock */
	struct virtio_reqdev rq;   /* lock, gen, inflight, broken, queue loop */
	uint8_t data[4096];        /* data-in of non-READ commands */
};

static void fill_resp(struct virtio_scsi_cmd_resp *resp, const struct scsi_cd_result *res,
		      uint32_t data_space, uint32_t transferred)
{
	memset(resp, 0, sizeof(*resp));
	resp->response = VIRTIO_SCSI_S_OK;
	resp->status = res->status;
	resp->resid = data_space - transferred;
	if (res->status == SCSI_STATUS_CHECK_CONDITION) {
		memcpy(resp->sense, res->sense, SCSI_SENSE_LEN);
		resp->sense_len = SCSI_SENSE_LEN;
	}
}

static void read_done(void *opaque, int ret)
{
	struct scsi_req *r = opaque;
	struct virtio_scsi *s = r->s;

	bool answer = virtio_reqdev_complete_begin(&s->rq, r->gen, Q_REQUEST);

	if (answer) {
		struct scsi_cd_result res;
		memset(&res, 0, sizeof(res));
		if (ret < 0)
			scsi_cd_read_failed(&s->cd, &res);
		fill_resp(&r->resp, &res, r->data_space, ret < 0 ? 0 : r->read_len);
		block_iov_from_buf(r->resp_iov, r->resp_cnt, 0, &r->resp, sizeof(r->resp));
		virtq_push(&s->vdev.vq[Q_REQUEST], r->head,
			   (uint32_t)sizeof(r->resp) + (ret < 0 ? 0 : r->read_len));
	}
	virtio_reqdev_complete_end(&s->rq, Q_REQUEST, answer);
	free(r);
}

/* One request-queue chain. Returns true when completed right away. */
static bool handle_cmd(struct virtio_scsi *s, struct virtq_elem *e)
{
	struct virtio_scsi_cmd_req req;
	struct virtio_scsi_cmd_resp resp;
	struct scsi_cd_result res;
	const struct iovec *in = e->iov + e->out_num;

	if (e->out_len < sizeof(req) || e->in_len < sizeof(resp)) {
		virtio_reqdev_set_broken(&s->rq, Q_REQUEST);
		return false;
	}
	virtq_elem_read(e, 0, &req, sizeof(req));
	uint64_t space64 = e->in_len - sizeof(resp);
	uint32_t space = space64 > UINT32_MAX - sizeof(resp) ? UINT32_MAX - (uint32_t)sizeof(resp) : (uint32_t)space64;
	memset(&resp, 0, sizeof(resp));

	/* Single-level LUN structure (5.6.6.1): {1, target, 0x40 | lun >> 8, lun}. */
	unsigned lun = ((unsigned)(req.lun[2] & 0x3f) << 8) | req.lun[3];
	if (req.lun[0] != 1 || req.lun[1] != 0 || lun != 0) {
		resp.response = VIRTIO_SCSI_S_BAD_TARGET;
		virtq_elem_write(e, 0, &resp, sizeof(resp));
		virtq_push(&s->vdev.vq[Q_REQUEST], e->head, sizeof(resp));
		return true;
	}
	size_t dlen = space < sizeof(s->data) ? space : sizeof(s->data);
	scsi_cd_execute(&s->cd, req.cdb, sizeof(req.cdb), s->data, dlen, &res);
	if (res.is_read) {
		if (res.read_len > space) {
			resp.response = VIRTIO_SCSI_S_OVERRUN;
			virtq_elem_write(e, 0, &resp, sizeof(resp));
			virtq_push(&s->vdev.vq[Q_REQUEST], e->head, sizeof(resp));
			return true;
		}
		struct scsi_req *r = malloc(sizeof(*r) + sizeof(struct iovec) * e->in_num);
		if (!r) {
			resp.response = VIRTIO_SCSI_S_FAILURE;
			virtq_elem_write(e, 0, &resp, sizeof(resp));
			virtq_push(&s->vdev.vq[Q_REQUEST], e->head, sizeof(resp));
			return true;
		}
		r->s = s;
		r->head = e->head;
		r->data_space = space;
		r->read_len = (uint32_t)res.read_len;
		r->resp_cnt = block_iov_slice(in, (int)e->in_num, 0, sizeof(resp), r->resp_iov, 8);
		r->iovcnt = block_iov_slice(in, (int)e->in_num, sizeof(resp), res.read_len, r->iov, (int)e->in_num);
		if (r->resp_cnt < 0) {
			free(r);
			virtio_reqdev_set_broken(&s->rq, Q_REQUEST);
			return false;
		}
		r->gen = virtio_reqdev_submit_begin(&s->rq);
		int ret = block_preadv(s->bs, res.read_off, r->iov, r->iovcnt, read_done, r);
		if (ret == 0)
			return false;
		virtio_reqdev_submit_failed(&s->rq);
		free(r);
		scsi_cd_read_failed(&s->cd, &res);
		fill_resp(&resp, &res, space, 0);
		virtq_elem_write(e, 0, &resp, sizeof(resp));
		virtq_push(&s->vdev.vq[Q_REQUEST], e->head, sizeof(resp));
		return true;
	}
	fill_resp(&resp, &res, space, (uint32_t)res.data_len);
	virtq_elem_write(e, 0, &resp, sizeof(resp));
	virtq_elem_write(e, sizeof(resp), s->data, res.data_len);
	virtq_push(&s->vdev.vq[Q_REQUEST], e->head, (uint32_t)(sizeof(resp) + res.data_len));
	return true;
}

/* One control-queue chain (5.6.6.2 TMF, 5.6.6.3 asynchronous notification). */
static bool handle_ctrl(struct virtio_scsi *s, struct virtq_elem *e)
{
	uint32_t type;
	uint8_t out[5] = { 0 };
	uint32_t written;

	if (e->out_len < 4 || e->in_len < 1) {
		virtio_reqdev_set_broken(&s->rq, Q_CONTROL);
		return false;
	}
	virtq_elem_read(e, 0, &type, 4);
	if (type == VIRTIO_SCSI_T_TMF && e->out_len >= 24) {
		out[0] = VIRTIO_SCSI_S_FUNCTION_COMPLETE;
		written = 1;
	} else if ((type == VIRTIO_SCSI_T_AN_QUERY || type == VIRTIO_SCSI_T_AN_SUBSCRIBE) &&
		   e->out_len >= 16 && e->in_len >= 5) {
		/* event_actual 0: no events supported; response OK */
		written = 5;
	} else {
		out[0] = VIRTIO_SCSI_S_FAILURE;
		written = 1;
	}
	virtq_elem_write(e, 0, out, written);
	virtq_push(&s->vdev.vq[Q_CONTROL], e->head, written);
	return true;
}

/* A popped request- or control-queue chain, lock held (reqdev's handle). */
static bool scsi_handle(void *opaque, unsigned qidx, struct virtq_elem *e)
{
	struct virtio_scsi *s = opaque;

	return qidx == Q_REQUEST ? handle_cmd(s, e) : handle_ctrl(s, e);
}

static void scsi_queue_notify(struct virtio_device *vdev, unsigned qidx)
{
	struct virtio_scsi *s = vdev->opaque;

	if (qidx != Q_CONTROL && qidx != Q_REQUEST)
		return;   /* event queue: buffers stay with us until an event */
	virtio_reqdev_notify(&s->rq, qidx);
}

static int scsi_activate(struct virtio_device *vdev)
{
	return virtio_reqdev_activate(&((struct virtio_scsi *)vdev->opaque)->rq);
}

/* After the drain of a reset, lock held: the guest's medium lock goes. */
static void scsi_reset_locked(void *opaque)
{
	struct virtio_scsi *s = opaque;

	s->cd.prevent = 0;
}

static void scsi_reset(struct virtio_device *vdev)
{
	virtio_reqdev_reset(&((struct virtio_scsi *)vdev->opaque)->rq);
}

int virtio_scsi_media(struct virtio_scsi *s,
		      int (*fn)(struct scsi_cd *cd, struct block_dev **bs, void *opaque), void *opaque)
{
	pthread_mutex_lock(&s->rq.lock);
	virtio_reqdev_drain_locked(&s->rq);   /* READs in flight use s->bs */
	int ret = fn(&s->cd, &s->bs, opaque);
	pthread_mutex_unlock(&s->rq.lock);
	return ret;
}

static const struct virtio_device_ops scsi_ops = {
	.activate = scsi_activate,
	.queue_notify = scsi_queue_notify,
	.reset = scsi_reset,
};

int virtio_scsi_create(struct virtio_scsi **out, struct block_dev *bs, uint16_t queue_size)
{
	unsigned qsize = queue_size ? queue_size : SCSI_QUEUE_SIZE;
	if (!out || qsize < 4 || qsize > 1024 || (qsize & (qsize - 1)))
		return -EINVAL;
	struct virtio_scsi *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (virtio_reqdev_init(&s->rq, &s->vdev)) {
		free(s);
		return -ENOMEM;
	}
	s->rq.bs = &s->bs;
	s->rq.handle = scsi_handle;
	s->rq.reset_locked = scsi_reset_locked;
	s->rq.opaque = s;
	s->bs = bs;
	if (bs)
		scsi_cd_init(&s->cd, bs->size);
	else
		scsi_cd_init_empty(&s->cd);
	s->cfg.num_queues = 1;
	s->cfg.seg_max = qsize - 2;
	s->cfg.max_sectors = 0xffff;
	s->cfg.cmd_per_lun = qsize;
	s->cfg.event_info_size = 16;
	s->cfg.sense_size = VIRTIO_SCSI_SENSE_SIZE;
	s->cfg.cdb_size = VIRTIO_SCSI_CDB_SIZE;
	s->cfg.max_channel = 0;
	s->cfg.max_target = 0;
	s->cfg.max_lun = 0;
	s->vdev.name = "virtio-scsi";
	s->vdev.device_id = VIRTIO_ID_SCSI;
	s->vdev.num_queues = 3;
	s->vdev.queue_size_max = (uint16_t)qsize;
	s->vdev.device_features = 0;
	s->vdev.config = &s->cfg;
	s->vdev.config_size = sizeof(s->cfg);
	s->vdev.ops = &scsi_ops;
	s->vdev.opaque = s;
	*out = s;
	return 0;
}

struct virtio_device *virtio_scsi_device(struct virtio_scsi *s)
{
	return &s->vdev;
}

void virtio_scsi_destroy(struct virtio_scsi *s)
{
	if (!s)
		return;
	virtio_reqdev_destroy(&s->rq);
	free(s);
}
