/* The interface between a virtio device model (blk, net, rng, ...) and its
 * transport (virtio_pci.c): feature bits, device status (virtio 1.2 section
 * 2.1, 2.2, 6), the device-ops a device implements, and the calls a device
 * makes back into the transport to interrupt the driver or fail. */
#ifndef VMM_VIRTIO_VIRTIO_H
#define VMM_VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/queue.h"

/* Device IDs (section 5). */
#define VIRTIO_ID_NET      1
#define VIRTIO_ID_BLOCK    2
#define VIRTIO_ID_CONSOLE  3
#define VIRTIO_ID_RNG      4
#define VIRTIO_ID_SCSI     8

/* Device-independent feature bits (section 6). */
#define VIRTIO_F_INDIRECT_DESC  28
#define VIRTIO_F_EVENT_IDX      29
#define VIRTIO_F_VERSION_1      32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED    34
#define VIRTIO_F_IN_ORDER       35

/* Device status bits (section 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE   1
#define VIRTIO_STATUS_DRIVER        2
#define VIRTIO_STATUS_DRIVER_OK     4
#define VIRTIO_STATUS_FEATURES_OK   8
#define VIRTIO_STATUS_NEEDS_RESET   64
#define VIRTIO_STATUS_FAILED        128

#define VIRTIO_MAX_QUEUES 64

struct virtio_device;

/* What a device implements. All callbacks may run on a vCPU thread (MMIO
 * exits) or on the I/O thread (ioeventfd notifications); the device locks
 * its own state. */
struct virtio_device_ops {
	/* Device config space access, offset + size already checked against
	 * vdev->config_size, size 1/2/4/8. Optional: when NULL the transport
	 * reads from / ignores writes to vdev->config. */
	void (*config_read)(struct virtio_device *vdev, uint32_t offset, void *data, unsigned size);
	void (*config_write)(struct virtio_device *vdev, uint32_t offset, const void *data, unsigned size);
	/* FEATURES_OK is being set with vdev->driver_features: return 0 to
	 * accept, negative to refuse (FEATURES_OK then stays clear). Optional. */
	int (*features_ok)(struct virtio_device *vdev);
	/* DRIVER_OK: queues with vdev->vq[i].ready are mapped; start working.
	 * Negative return puts the device in NEEDS_RESET. Optional. */
	int (*activate)(struct virtio_device *vdev);
	/* The driver notified queue qidx (available buffers). */
	void (*queue_notify)(struct virtio_device *vdev, unsigned qidx);
	/* Device reset (status 0 written, or VM reset): stop using the queues
	 * and forget in-flight requests before returning; the transport then
	 * resets the virtqs. Completions that arrive later must be dropped. */
	void (*reset)(struct virtio_device *vdev);
};

/* Transport side, filled by the transport on creation. */
struct virtio_transport_ops {
	void (*notify_used)(struct virtio_device *vdev, unsigned qidx);
	void (*notify_config)(struct virtio_device *vdev);
	void (*set_needs_reset)(struct virtio_device *vdev);
};

/* One virtio device instance. The device model fills the first block, then
 * hands it to a transport (virtio_pci_create()), which fills the rest. The
 * struct must outlive the transport. */
struct virtio_device {
	/* Filled by the device model. */
	const char *name;              /* "virtio-blk", for messages */
	uint32_t device_id;            /* VIRTIO_ID_* */
	unsigned num_queues;           /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_size_max;       /* power of 2, <= VIRTQ_ELEM_MAX_IOV suggested (256) */
	uint64_t device_features;      /* VERSION_1 is added by the transport */
	void *config;                  /* device config bytes (if no config_read) */
	uint32_t config_size;
	const struct virtio_device_ops *ops;
	void *opaque;                  /* the device model's state */

	/* Filled by the transport. */
	uint64_t driver_features;      /* negotiated, valid from FEATURES_OK */
	struct virtq vq[VIRTIO_MAX_QUEUES];
	const struct virtio_transport_ops *transport;
	void *transport_opaque;
};

static inline bool virtio_has_feature(const struct virtio_device *vdev, unsigned bit)
{
	return (vdev->driver_features >> bit) & 1;
}

/* After virtq_push()ing to queue qidx: interrupt the driver if
 * virtq_should_notify() says it wants one (MSI-X vector or INTx + ISR bit 0). */
static inline void virtio_notify_used(struct virtio_device *vdev, unsigned qidx)
{
	if (vdev->transport)
		vdev->transport->notify_used(vdev, qidx);
}

/* Device config changed (e.g. capacity, link status): bumps
 * config_generation and raises the config interrupt (ISR bit 1). */
static inline void virtio_notify_config(struct virtio_device *vdev)
{
	if (vdev->transport)
		vdev->transport->notify_config(vdev);
}

/* The device hit an unrecoverable driver error (e.g. virtq_pop() < 0):
 * sets DEVICE_NEEDS_RESET and raises a config interrupt. Virtqs that fail
 * call this by themselves through their on_error hook. */
static inline void virtio_set_needs_reset(struct virtio_device *vdev)
{
	if (vdev->transport)
		vdev->transport->set_needs_reset(vdev);
}

#endif
