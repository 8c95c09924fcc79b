/* virtio-scsi (virtio 1.2 section 5.6) with one read-only CD-ROM logical
 * unit (devices/scsi_cd.h) at target 0, LUN 0, on a block-layer device:
 * control queue (TMF and AN answered), event queue (buffers held, no
 * events: no hotplug), one request queue; READs served asynchronously
 * through the block engine like virtio-blk. */
#ifndef VMM_VIRTIO_SCSI_H
#define VMM_VIRTIO_SCSI_H

#include <stdint.h>

#include "block/block.h"
#include "devices/virtio/virtio.h"

/* Default sizes (5.6.4) the driver sees in the config space. */
#define VIRTIO_SCSI_CDB_SIZE   32
#define VIRTIO_SCSI_SENSE_SIZE 96

/* Response codes (5.6.6.1). */
#define VIRTIO_SCSI_S_OK                0
#define VIRTIO_SCSI_S_OVERRUN           1
#define VIRTIO_SCSI_S_BAD_TARGET        3
#define VIRTIO_SCSI_S_FAILURE           9
#define VIRTIO_SCSI_S_FUNCTION_COMPLETE 0

/* Control queue request types (5.6.6.2). */
#define VIRTIO_SCSI_T_TMF           0
#define VIRTIO_SCSI_T_AN_QUERY      1
#define VIRTIO_SCSI_T_AN_SUBSCRIBE  2

/* Device configuration layout (5.6.4), little-endian. */
struct virtio_scsi_config {
	uint32_t num_queues;
	uint32_t seg_max;
	uint32_t max_sectors;
	uint32_t cmd_per_lun;
	uint32_t event_info_size;
	uint32_t sense_size;
	uint32_t cdb_size;
	uint16_t max_channel;
	uint16_t max_target;
	uint32_t max_lun;
} __attribute__((packed));

/* Request and response headers on the request queue (5.6.6.1). */
struct virtio_scsi_cmd_req {
	uint8_t lun[8];
	uint64_t id;
	uint8_t task_attr, prio, crn;
	uint8_t cdb[VIRTIO_SCSI_CDB_SIZE];
} __attribute__((packed));

struct virtio_scsi_cmd_resp {
	uint32_t sense_len;
	uint32_t resid;
	uint16_t status_qualifier;
	uint8_t status;
	uint8_t response;
	uint8_t sense[VIRTIO_SCSI_SENSE_SIZE];
} __attribute__((packed));

struct virtio_scsi;

/* Creates the device with a CD on bs (read-only use; bs must outlive it and
 * its engine's fd must be polled by the I/O thread); bs NULL is an empty
 * drive with its tray open. queue_size 0 means 128. 0, -EINVAL, -ENOMEM. */
int virtio_scsi_create(struct virtio_scsi **out, struct block_dev *bs, uint16_t queue_size);
/* Media changes (devices/scsi_cd.h): calls fn with the device lock held once
 * no READ is in flight, so fn may replace *bs (the medium the READs use;
 * NULL when none) and change *cd; returns fn's value. Main thread. */
struct scsi_cd;
int virtio_scsi_media(struct virtio_scsi *s,
		      int (*fn)(struct scsi_cd *cd, struct block_dev **bs, void *opaque), void *opaque);
struct virtio_device *virtio_scsi_device(struct virtio_scsi *s);
/* Destroy the transport first; waits for requests in flight. */
void virtio_scsi_destroy(struct virtio_scsi *s);

#endif
