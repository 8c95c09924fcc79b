/* virtio-pci modern transport (virtio 1.2 section 4.1): vendor capabilities
 * for common/notify/ISR/device config in one 64-bit BAR, feature negotiation,
 * status and reset (2.1, 3.1), queue programming, MSI-X or INTx + ISR, and
 * DEVICE_NEEDS_RESET when a virtqueue turns out malformed (2.1.2). */
#include "devices/virtio/virtio_pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct vp_queue {
	uint16_t size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, driver, device;
};

struct vp_notifier {
	struct virtio_pci *vp;
	unsigned qidx;
	int fd;
};

struct virtio_pci {
	struct pci_device pci;
	struct virtio_device *vdev;
	struct event_loop *loop;
	pthread_mutex_t lock;        /* everything below */
	pthread_cond_t idle;         /* kicks dropped to 0 */
	unsigned kicks;              /* queue_notify calls in progress */
	uint64_t features;           /* offered */
	uint32_t dfselect, gfselect;
	uint64_t driver_features;
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	uint16_t config_vector;
	uint16_t queue_select;
	struct vp_queue q[VIRTIO_MAX_QUEUES];
	struct vp_notifier notifier[VIRTIO_MAX_QUEUES];
	uint8_t pcicfg_cap;          /* config offset of the PCI_CFG capability */
	bool use_ioeventfd;
	uint64_t notify_base;        /* guest address of the notify area, or PCI_BAR_UNMAPPED */
};

/* --- Interrupts --------------------------------------------------------- */

/* Called with vp->lock held. */
static void vp_raise(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (pci_msix_enabled(&vp->pci)) {
		if (vector != VIRTIO_PCI_NO_VECTOR)
			pci_msix_notify(&vp->pci, vector);
		return;
	}
	vp->isr |= isr_bit;
	pci_set_irq(&vp->pci, 1);
}

static void vp_notify_used(struct virtio_device *vdev, unsigned qidx)
{
	struct virtio_pci *vp = vdev->transport_opaque;

	if (qidx >= vdev->num_queues)
		return;
	pthread_mutex_lock(&vp->lock);
	if ((vp->status & VIRTIO_STATUS_DRIVER_OK) && virtq_should_notify(&vdev->vq[qidx]))
		vp_raise(vp, vp->q[qidx].msix_vector, 1);
	pthread_mutex_unlock(&vp->lock);
}

static void config_changed_locked(struct virtio_pci *vp)
{
	vp->config_generation++;
	if (vp->status & VIRTIO_STATUS_DRIVER_OK)
		vp_raise(vp, vp->config_vector, 2);
}

static void vp_notify_config(struct virtio_device *vdev)
{
	struct virtio_pci *vp = vdev->transport_opaque;

	pthread_mutex_lock(&vp->lock);
	config_changed_locked(vp);
	pthread_mutex_unlock(&vp->lock);
}

static void needs_reset_locked(struct virtio_pci *vp)
{
	if (vp->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (vp->status & VIRTIO_STATUS_DRIVER_OK)
		config_changed_locked(vp);
}

static void vp_set_needs_reset(struct virtio_device *vdev)
{
	struct virtio_pci *vp = vdev->transport_opaque;

	pthread_mutex_lock(&vp->lock);
	needs_reset_locked(vp);
	pthread_mutex_unlock(&vp->lock);
}

static void vp_queue_error(void *opaque, int err)
{
	struct virtio_pci *vp = opaque;

	fprintf(stderr, "vmm: %s: virtqueue error: %s; device needs reset\n",
		vp->vdev->name ? vp->vdev->name : "virtio", virtq_strerror(err));
	vp_set_needs_reset(vp->vdev);
}

static const struct virtio_transport_ops vp_transport_ops = {
	.notify_used = vp_notify_used,
	.notify_config = vp_notify_config,
	.set_needs_reset = vp_set_needs_reset,
};

/* --- Reset and status --------------------------------------------------- */

static void reset_state_locked(struct virtio_pci *vp)
{
	struct virtio_device *vdev = vp->vdev;

	vp->status = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->driver_features = 0;
	vdev->driver_features = 0;
	vp->isr = 0;
	vp->config_vector = VIRTIO_PCI_NO_VECTOR;
	vp->queue_select = 0;
	for (unsigned i = 0; i < vdev->num_queues; i++) {
		vp->q[i] = (struct vp_queue){ .size = vdev->queue_size_max,
					      .msix_vector = VIRTIO_PCI_NO_VECTOR };
		virtq_reset(&vdev->vq[i]);
	}
	if (vp->pci.host)
		pci_set_irq(&vp->pci, 0);
}

/* Takes and releases vp->lock itself: device callbacks run unlocked so they
 * may complete requests (which lock the transport) while stopping. */
static void status_write(struct virtio_pci *vp, uint8_t val)
{
	struct virtio_device *vdev = vp->vdev;
	uint8_t old;

	if (val == 0) {
		/* Refuse new kicks, let running ones finish (the wait drops the
		 * lock, so their completions can still interrupt), then reset the
		 * device and only then the rings it was walking. */
		pthread_mutex_lock(&vp->lock);
		vp->status = 0;
		while (vp->kicks)
			pthread_cond_wait(&vp->idle, &vp->lock);
		pthread_mutex_unlock(&vp->lock);
		if (vdev->ops->reset)
			vdev->ops->reset(vdev);
		pthread_mutex_lock(&vp->lock);
		reset_state_locked(vp);
		pthread_mutex_unlock(&vp->lock);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	old = vp->status;
	/* Bits are only cleared by a reset; NEEDS_RESET is the device's. */
	val = (val | old) & ~VIRTIO_STATUS_NEEDS_RESET;
	val |= old & VIRTIO_STATUS_NEEDS_RESET;
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t f = vp->driver_features;
		bool ok = (f & ~vp->features) == 0 && (f >> VIRTIO_F_VERSION_1 & 1);

		vdev->driver_features = f;
		pthread_mutex_unlock(&vp->lock);
		if (ok && vdev->ops->features_ok && vdev->ops->features_ok(vdev) < 0)
			ok = false;
		pthread_mutex_lock(&vp->lock);
		if (!ok) {
			/* 3.1.1: the driver re-reads status and sees FEATURES_OK clear. */
			val &= ~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
			vdev->driver_features = 0;
		}
	}
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !(val & VIRTIO_STATUS_FEATURES_OK))
		val &= ~VIRTIO_STATUS_DRIVER_OK;
	vp->status = val;
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		int rc = 0;

		pthread_mutex_unlock(&vp->lock);
		if (vdev->ops->activate)
			rc = vdev->ops->activate(vdev);
		pthread_mutex_lock(&vp->lock);
		if (rc < 0)
			needs_reset_locked(vp);
	}
	pthread_mutex_unlock(&vp->lock);
}

/* --- Common configuration ----------------------------------------------- */

/* Each access touches only the fields it covers: a natural-size access to
 * one field (what drivers do, 4.1.3.1) is one switch case. Accesses of other
 * sizes or offsets see and change the same bytes of the little-endian
 * 4.1.4.3 layout that a whole-structure image would. */

static uint64_t low_bytes(uint64_t v, unsigned n)
{
	return n >= 8 ? v : v & ((1ULL << (8 * n)) - 1);
}

/* The field holding byte off (< VIRTIO_PCI_COMMON_SIZE): its start and
 * length, and its value with queue qs and guest feature word gfselect
 * selected; a queue that does not exist reads 0 (4.1.4.3.1). Lock held. */
static uint64_t common_field(const struct virtio_pci *vp, unsigned off, unsigned qs,
			     uint32_t gfselect, unsigned *start, unsigned *len)
{
	const struct vp_queue *q = qs < vp->vdev->num_queues ? &vp->q[qs] : NULL;

#define FIELD(name, n) \
	case VIRTIO_PCI_COMMON_##name ... VIRTIO_PCI_COMMON_##name + n - 1: \
		*start = VIRTIO_PCI_COMMON_##name; \
		*len = n;
	switch (off) {
	FIELD(DFSELECT, 4) return vp->dfselect;
	FIELD(DF, 4) return vp->dfselect < 2 ? (uint32_t)(vp->features >> (32 * vp->dfselect)) : 0;
	FIELD(GFSELECT, 4) return gfselect;
	FIELD(GF, 4) return gfselect < 2 ? (uint32_t)(vp->driver_features >> (32 * gfselect)) : 0;
	FIELD(MSIX, 2) return vp->config_vector;
	FIELD(NUMQ, 2) return vp->vdev->num_queues;
	FIELD(STATUS, 1) return vp->status;
	FIELD(CFGGEN, 1) return vp->config_generation;
	FIELD(Q_SELECT, 2) return qs;
	FIELD(Q_SIZE, 2) return q ? q->size : 0;
	FIELD(Q_MSIX, 2) return q ? q->msix_vector : 0;
	FIELD(Q_ENABLE, 2) return q ? q->enabled : 0;
	FIELD(Q_NOFF, 2) return q ? qs : 0;
	FIELD(Q_DESCLO, 8) return q ? q->desc : 0;
	FIELD(Q_AVAILLO, 8) return q ? q->driver : 0;
	FIELD(Q_USEDLO, 8) return q ? q->device : 0;
	default:
		*start = off;
		*len = 1;
		return 0;
	}
#undef FIELD
}

static bool touches(uint64_t off, unsigned size, unsigned field, unsigned len)
{
	return off < field + len && field < off + size;
}

static uint16_t valid_vector(struct virtio_pci *vp, uint16_t v)
{
	/* 4.1.4.3.2: an unsupported vector reads back as NO_VECTOR. */
	return v < vp->pci.msix_nvec ? v : VIRTIO_PCI_NO_VECTOR;
}

/* Enables queue qs with the addresses programmed (4.1.5.1.3). Lock held. */
static void queue_enable_locked(struct virtio_pci *vp, unsigned qs)
{
	struct virtio_device *vdev = vp->vdev;
	struct vp_queue *q = &vp->q[qs];
	int rc = virtq_setup(&vdev->vq[qs], q->size, q->desc, q->driver, q->device,
			     vdev->driver_features);

	if (rc == 0) {
		q->enabled = true;
	} else {
		fprintf(stderr, "vmm: %s: queue %u: %s\n", vdev->name ? vdev->name : "virtio",
			qs, virtq_strerror(rc));
		needs_reset_locked(vp);
	}
}

/* A write is read-modify-write of each field it touches, in offset order;
 * queue fields are those of the queue selected before the write, and the
 * queue is enabled last. */
static void common_write(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t value)
{
	struct virtio_device *vdev = vp->vdev;
	unsigned qs, end = off + size;
	uint32_t gfselect;
	struct vp_queue *q;
	bool frozen, enable = false;

	if (off + size > VIRTIO_PCI_COMMON_SIZE)
		return;
	if (touches(off, size, VIRTIO_PCI_COMMON_STATUS, 1)) {
		if (size == 1)
			status_write(vp, (uint8_t)value);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	qs = vp->queue_select;
	gfselect = vp->gfselect;
	q = qs < vdev->num_queues ? &vp->q[qs] : NULL;
	/* Queue fields are frozen once the queue is enabled (4.1.4.3.2), except
	 * its vector. */
	frozen = !q || q->enabled || (vp->status & VIRTIO_STATUS_DRIVER_OK);
	for (unsigned pos = off; pos < end;) {
		unsigned start, len, n, sh;
		uint64_t v = common_field(vp, pos, qs, gfselect, &start, &len);

		n = (start + len < end ? start + len : end) - pos;
		sh = 8 * (pos - start);
		v = (v & ~(low_bytes(~0ULL, n) << sh)) | low_bytes(value >> (8 * (pos - off)), n) << sh;
		switch (start) {
		case VIRTIO_PCI_COMMON_DFSELECT:
			vp->dfselect = v;
			break;
		case VIRTIO_PCI_COMMON_GFSELECT:
			vp->gfselect = v;
			break;
		case VIRTIO_PCI_COMMON_GF:
			if (vp->gfselect < 2 && !(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
				unsigned fsh = 32 * vp->gfselect;

				vp->driver_features = (vp->driver_features & ~(0xffffffffULL << fsh)) |
						      low_bytes(v, 4) << fsh;
			}
			break;
		case VIRTIO_PCI_COMMON_MSIX:
			vp->config_vector = valid_vector(vp, v);
			break;
		case VIRTIO_PCI_COMMON_Q_SELECT:
			vp->queue_select = v;
			break;
		case VIRTIO_PCI_COMMON_Q_MSIX:
			if (q)
				q->msix_vector = valid_vector(vp, v);
			break;
		case VIRTIO_PCI_COMMON_Q_SIZE:
			if (!frozen)
				q->size = v <= vdev->queue_size_max ? v : vdev->queue_size_max;
			break;
		case VIRTIO_PCI_COMMON_Q_DESCLO:
			if (!frozen)
				q->desc = v;
			break;
		case VIRTIO_PCI_COMMON_Q_AVAILLO:
			if (!frozen)
				q->driver = v;
			break;
		case VIRTIO_PCI_COMMON_Q_USEDLO:
			if (!frozen)
				q->device = v;
			break;
		case VIRTIO_PCI_COMMON_Q_ENABLE:
			enable = !frozen && v == 1;
			break;
		default:
			break;   /* read-only: device_feature, num_queues, ... */
		}
		pos += n;
	}
	if (enable)
		queue_enable_locked(vp, qs);
	pthread_mutex_unlock(&vp->lock);
}

static uint64_t common_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
	unsigned end = off + size;
	uint64_t v = 0;

	if (off + size > VIRTIO_PCI_COMMON_SIZE)
		return 0;
	pthread_mutex_lock(&vp->lock);
	for (unsigned pos = off; pos < end;) {
		unsigned start, len, n;
		uint64_t f = common_field(vp, pos, vp->queue_select, vp->gfselect, &start, &len);

		n = (start + len < end ? start + len : end) - pos;
		v |= low_bytes(f >> (8 * (pos - start)), n) << (8 * (pos - off));
		pos += n;
	}
	pthread_mutex_unlock(&vp->lock);
	return v;
}

/* --- BAR dispatch ------------------------------------------------------- */

static void queue_kick(struct virtio_pci *vp, unsigned qidx)
{
	struct virtio_device *vdev = vp->vdev;
	bool ok;

	pthread_mutex_lock(&vp->lock);
	ok = qidx < vdev->num_queues && (vp->status & VIRTIO_STATUS_DRIVER_OK) &&
	     !(vp->status & VIRTIO_STATUS_NEEDS_RESET) && vp->q[qidx].enabled &&
	     vdev->ops->queue_notify;
	if (ok)
		vp->kicks++;
	pthread_mutex_unlock(&vp->lock);
	if (!ok)
		return;
	/* Unlocked: the device completes requests, which takes vp->lock. */
	vdev->ops->queue_notify(vdev, qidx);
	pthread_mutex_lock(&vp->lock);
	if (--vp->kicks == 0)
		pthread_cond_broadcast(&vp->idle);
	pthread_mutex_unlock(&vp->lock);
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	struct virtio_device *vdev = vp->vdev;
	uint64_t v = 0;

	if (off < VIRTIO_PCI_ISR_OFF)
		return common_read(vp, off - VIRTIO_PCI_COMMON_OFF, size);
	if (off < VIRTIO_PCI_DEVICE_OFF) {
		if (off != VIRTIO_PCI_ISR_OFF)
			return 0;
		/* 4.1.4.5: reading ISR clears it and deasserts INTx. */
		pthread_mutex_lock(&vp->lock);
		v = vp->isr;
		vp->isr = 0;
		pci_set_irq(&vp->pci, 0);
		pthread_mutex_unlock(&vp->lock);
		return v;
	}
	if (off < VIRTIO_PCI_NOTIFY_OFF) {
		uint64_t o = off - VIRTIO_PCI_DEVICE_OFF;

		if (o + size > vdev->config_size)
			return 0;
		if (vdev->ops->config_read)
			vdev->ops->config_read(vdev, o, &v, size);
		else if (vdev->config)
			memcpy(&v, (uint8_t *)vdev->config + o, size);
		return v;
	}
	if (off < VIRTIO_PCI_MSIX_TABLE_OFF)
		return 0;
	if (off < VIRTIO_PCI_MSIX_PBA_OFF)
		return pci_msix_table_read(&vp->pci, off - VIRTIO_PCI_MSIX_TABLE_OFF, size);
	return pci_msix_pba_read(&vp->pci, off - VIRTIO_PCI_MSIX_PBA_OFF, size);
}

static void bar_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct virtio_pci *vp = opaque;
	struct virtio_device *vdev = vp->vdev;

	if (off < VIRTIO_PCI_ISR_OFF) {
		common_write(vp, off - VIRTIO_PCI_COMMON_OFF, size, value);
	} else if (off < VIRTIO_PCI_DEVICE_OFF) {
		/* ISR is read-only. */
	} else if (off < VIRTIO_PCI_NOTIFY_OFF) {
		uint64_t o = off - VIRTIO_PCI_DEVICE_OFF;

		if (o + size <= vdev->config_size && vdev->ops->config_write)
			vdev->ops->config_write(vdev, o, &value, size);
	} else if (off < VIRTIO_PCI_MSIX_TABLE_OFF) {
		uint64_t o = off - VIRTIO_PCI_NOTIFY_OFF;

		if (o % VIRTIO_PCI_NOTIFY_MULT == 0)
			queue_kick(vp, o / VIRTIO_PCI_NOTIFY_MULT);
	} else if (off < VIRTIO_PCI_MSIX_PBA_OFF) {
		pci_msix_table_write(&vp->pci, off - VIRTIO_PCI_MSIX_TABLE_OFF, size, value);
	}
}

static const struct bus_ops vp_bar_ops = { bar_read, bar_write };

/* --- ioeventfd notifications -------------------------------------------- */

static void notifier_ready(void *opaque, uint32_t events)
{
	struct vp_notifier *n = opaque;
	uint64_t cnt;

	if (read(n->fd, &cnt, sizeof(cnt)) == sizeof(cnt))
		queue_kick(n->vp, n->qidx);
}

/* Host lock held (bar_moved); only touches fds fixed at creation. */
static void vp_bar_moved(struct pci_device *pci, unsigned bar, uint64_t addr)
{
	struct virtio_pci *vp = pci->opaque;
	struct pci_host_hooks *h = &pci->host->hooks;

	if (bar != VIRTIO_PCI_BAR || !vp->use_ioeventfd)
		return;
	for (unsigned i = 0; i < vp->vdev->num_queues; i++) {
		if (vp->notify_base != PCI_BAR_UNMAPPED)
			h->ioeventfd_assign(h->opaque, vp->notifier[i].fd,
					    vp->notify_base + VIRTIO_PCI_NOTIFY_MULT * i, 2, true, true);
		if (addr != PCI_BAR_UNMAPPED)
			h->ioeventfd_assign(h->opaque, vp->notifier[i].fd,
					    addr + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * i, 2, true, false);
	}
	vp->notify_base = addr == PCI_BAR_UNMAPPED ? PCI_BAR_UNMAPPED : addr + VIRTIO_PCI_NOTIFY_OFF;
}

/* --- PCI_CFG access window (4.1.4.9) ----------------------------------- */

/* Accesses to pci_cfg_data go to the BAR at cap.offset, cap.length bytes.
 * Runs without the host lock, so the BAR handlers may take theirs. */
static bool vp_config_access(struct pci_device *pci, uint32_t off, unsigned size,
			     uint32_t *val, bool is_write)
{
	struct virtio_pci *vp = pci->opaque;
	unsigned data = vp->pcicfg_cap + 16;
	uint32_t boff, blen;
	uint8_t bar;

	if (!vp->pcicfg_cap || off < data || off >= data + 4)
		return false;
	bar = pci->config[vp->pcicfg_cap + 4];
	memcpy(&boff, &pci->config[vp->pcicfg_cap + 8], 4);
	memcpy(&blen, &pci->config[vp->pcicfg_cap + 12], 4);
	if (off != data || size != blen || bar != VIRTIO_PCI_BAR ||
	    (blen != 1 && blen != 2 && blen != 4) || boff % blen ||
	    boff + blen > VIRTIO_PCI_BAR_SIZE) {
		/* Not a well-formed window access: plain config bytes. */
		return false;
	}
	if (is_write)
		bar_write(vp, boff, blen, *val);
	else
		*val = (uint32_t)bar_read(vp, boff, blen);
	return true;
}

/* --- Creation ----------------------------------------------------------- */

static int add_vcap(struct pci_device *pci, uint8_t type, uint32_t offset, uint32_t length, int notify)
{
	uint8_t cap[20] = { PCI_CAP_ID_VNDR, 0, notify ? 20 : 16, type, VIRTIO_PCI_BAR };
	uint32_t mult = VIRTIO_PCI_NOTIFY_MULT;

	memcpy(&cap[8], &offset, 4);
	memcpy(&cap[12], &length, 4);
	if (notify)
		memcpy(&cap[16], &mult, 4);
	return pci_add_capability(pci, cap, NULL, notify ? 20 : 16);
}

static uint32_t class_for(uint32_t id)
{
	switch (id) {
	case VIRTIO_ID_NET: return 0x020000;
	case VIRTIO_ID_BLOCK: return 0x010000;
	case VIRTIO_ID_SCSI: return 0x010000;
	case VIRTIO_ID_CONSOLE: return 0x078000;
	default: return 0xff0000;
	}
}

static void close_notifiers(struct virtio_pci *vp, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (vp->notifier[i].fd < 0)
			continue;
		if (vp->loop)
			event_loop_del(vp->loop, vp->notifier[i].fd);
		close(vp->notifier[i].fd);
		vp->notifier[i].fd = -1;
	}
}

int virtio_pci_create(struct virtio_pci **out, struct pci_host *pci, int slot,
		      struct virtio_device *vdev, const struct guest_memory *mem,
		      struct event_loop *loop)
{
	struct virtio_pci *vp;
	unsigned nq = vdev->num_queues;
	int rc;

	if (nq == 0 || nq > VIRTIO_MAX_QUEUES || !vdev->ops || !vdev->queue_size_max ||
	    (vdev->queue_size_max & (vdev->queue_size_max - 1)) ||
	    vdev->config_size > VIRTIO_PCI_NOTIFY_OFF - VIRTIO_PCI_DEVICE_OFF)
		return -EINVAL;
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	rc = -pthread_mutex_init(&vp->lock, NULL);
	if (rc) {
		free(vp);
		return rc;
	}
	rc = -pthread_cond_init(&vp->idle, NULL);
	if (rc) {
		pthread_mutex_destroy(&vp->lock);
		free(vp);
		return rc;
	}
	vp->vdev = vdev;
	vp->notify_base = PCI_BAR_UNMAPPED;
	vp->features = vdev->device_features | 1ULL << VIRTIO_F_VERSION_1 |
		       1ULL << VIRTIO_F_INDIRECT_DESC | 1ULL << VIRTIO_F_EVENT_IDX;
	vdev->device_features = vp->features;
	vdev->transport = &vp_transport_ops;
	vdev->transport_opaque = vp;
	for (unsigned i = 0; i < nq; i++) {
		virtq_init(&vdev->vq[i], mem);
		vdev->vq[i].on_error = vp_queue_error;
		vdev->vq[i].error_opaque = vp;
		vp->notifier[i] = (struct vp_notifier){ vp, i, -1 };
	}
	reset_state_locked(vp);

	vp->use_ioeventfd = loop && pci->hooks.ioeventfd_assign;
	if (vp->use_ioeventfd) {
		vp->loop = loop;
		for (unsigned i = 0; i < nq; i++) {
			int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

			if (fd < 0 || (rc = event_loop_add(loop, fd, EPOLLIN,
							    notifier_ready, &vp->notifier[i])) < 0) {
				rc = fd < 0 ? -errno : rc;
				if (fd >= 0)
					close(fd);
				close_notifiers(vp, i);
				goto err;
			}
			vp->notifier[i].fd = fd;
		}
	}

	vp->pci.name = vdev->name ? vdev->name : "virtio";
	vp->pci.vendor_id = 0x1af4;
	vp->pci.device_id = 0x1040 + vdev->device_id;
	vp->pci.subsys_vendor_id = 0x1af4;
	vp->pci.subsys_id = 0x1100;
	vp->pci.revision = 1;
	vp->pci.class_code = class_for(vdev->device_id);
	vp->pci.intx = true;
	vp->pci.bar[VIRTIO_PCI_BAR] = (struct pci_bar){ PCI_BAR_MEM64, VIRTIO_PCI_BAR_SIZE, false,
							&vp_bar_ops, vp };
	vp->pci.bar_moved = vp_bar_moved;
	vp->pci.opaque = vp;
	if ((rc = pci_msix_init(&vp->pci, nq + 1, VIRTIO_PCI_BAR, VIRTIO_PCI_MSIX_TABLE_OFF,
				VIRTIO_PCI_MSIX_PBA_OFF)) < 0 ||
	    (rc = add_vcap(&vp->pci, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, 0x1000, 0)) < 0 ||
	    (rc = add_vcap(&vp->pci, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
			   VIRTIO_PCI_NOTIFY_MULT * nq, 1)) < 0 ||
	    (rc = add_vcap(&vp->pci, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 0x1000, 0)) < 0 ||
	    (vdev->config_size &&
	     (rc = add_vcap(&vp->pci, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF, 0x1000, 0)) < 0))
		goto err_fds;
	{
		/* virtio_pci_cfg_cap: bar, offset, length and data are the driver's. */
		uint8_t cap[20] = { PCI_CAP_ID_VNDR, 0, 20, VIRTIO_PCI_CAP_PCI_CFG, 0 };
		uint8_t wm[20] = { 0 };

		wm[4] = 0xff;
		memset(&wm[8], 0xff, 12);
		rc = pci_add_capability(&vp->pci, cap, wm, sizeof(cap));
		if (rc < 0)
			goto err_fds;
		vp->pcicfg_cap = rc;
	}
	vp->pci.config_access = vp_config_access;
	rc = pci_register_device(pci, &vp->pci, slot);
	if (rc)
		goto err_fds;
	*out = vp;
	return 0;
err_fds:
	close_notifiers(vp, nq);
err:
	vdev->transport = NULL;
	vdev->transport_opaque = NULL;
	pthread_cond_destroy(&vp->idle);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
	return rc;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp)
		return;
	status_write(vp, 0);               /* quiesce kicks, reset the device */
	pci_unregister_device(&vp->pci);   /* unmaps the BAR: deassigns ioeventfds */
	close_notifiers(vp, vp->vdev->num_queues);
	vp->vdev->transport = NULL;
	vp->vdev->transport_opaque = NULL;
	pthread_cond_destroy(&vp->idle);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}

struct pci_device *virtio_pci_pci_device(struct virtio_pci *vp)
{
	return &vp->pci;
}

uint8_t virtio_pci_status(struct virtio_pci *vp)
{
	uint8_t s;

	pthread_mutex_lock(&vp->lock);
	s = vp->status;
	pthread_mutex_unlock(&vp->lock);
	return s;
}
