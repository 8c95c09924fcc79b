/* virtio-blk (virtio 1.2 section 5.2) on a block-layer device (block/block.h):
 * one or more request queues, requests served asynchronously through the
 * block engine; completions run from block_engine_poll() on the I/O thread. */
#ifndef VMM_VIRTIO_BLK_H
#define VMM_VIRTIO_BLK_H

#include <stdint.h>

#include "block/block.h"
#include "devices/virtio/virtio.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_GEOMETRY     4
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_TOPOLOGY     10
#define VIRTIO_BLK_F_CONFIG_WCE   11
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_GET_LIFETIME 10
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_T_SECURE_ERASE 14
#define VIRTIO_BLK_S_OK           0
#define VIRTIO_BLK_S_IOERR        1
#define VIRTIO_BLK_S_UNSUPP       2
#define VIRTIO_BLK_ID_BYTES       20
#define VIRTIO_BLK_WZ_F_UNMAP     1

/* Device configuration layout (5.2.4), little-endian. */
struct virtio_blk_config {
	uint64_t capacity;             /* 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
	uint32_t max_secure_erase_sectors;
	uint32_t max_secure_erase_seg;
	uint32_t secure_erase_sector_alignment;
} __attribute__((packed));

struct virtio_blk_opts {
	const char *serial;     /* GET_ID string (up to 20 bytes used); NULL: "" */
	unsigned num_queues;    /* request queues, 1..VIRTIO_MAX_QUEUES; 0 means 1 */
	uint16_t queue_size;    /* power of 2 up to 1024; 0 means 256 */
	int read_only;          /* offer VIRTIO_BLK_F_RO even if bs is writable */
};

struct virtio_blk;

/* Creates the device model on bs (which must outlive it; its engine's fd
 * must be polled by the I/O thread's loop). Hand virtio_blk_device() to a
 * transport (virtio_pci_create). 0, -EINVAL for bad options, -ENOMEM. */
int virtio_blk_create(struct virtio_blk **out, struct block_dev *bs, const struct virtio_blk_opts *opts);
struct virtio_device *virtio_blk_device(struct virtio_blk *blk);
/* Destroy the transport first; waits for requests in flight. */
void virtio_blk_destroy(struct virtio_blk *blk);

#endif
