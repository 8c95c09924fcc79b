/* virtio-blk requests for the ring-3 test guests (virtio 1.2 section 5.2):
 * device set-up on top of vdrv, synchronous requests with any buffer layout,
 * and tagged asynchronous reads/writes for queue-depth benchmarks. */
#ifndef VMM_GUEST_VBLK_H
#define VMM_GUEST_VBLK_H

#include "vdrv.h"

#define VBLK_F_SIZE_MAX     1
#define VBLK_F_SEG_MAX      2
#define VBLK_F_RO           5
#define VBLK_F_BLK_SIZE     6
#define VBLK_F_FLUSH        9
#define VBLK_F_DISCARD      13
#define VBLK_F_WRITE_ZEROES 14

#define VBLK_T_IN           0
#define VBLK_T_OUT          1
#define VBLK_T_FLUSH        4
#define VBLK_T_GET_ID       8
#define VBLK_T_DISCARD      11
#define VBLK_T_WRITE_ZEROES 13

#define VBLK_S_OK           0
#define VBLK_S_IOERR        1
#define VBLK_S_UNSUPP       2

#define VBLK_SECTOR         512u
#define VBLK_MAX_TAGS       64

struct vblk_hdr { uint32_t type, reserved; uint64_t sector; };
struct vblk_dwz { uint64_t sector; uint32_t num_sectors, flags; };

struct vblk {
	struct vdrv_dev dev;
	struct vdrv_queue q;
	uint64_t capacity;               /* sectors */
	uint32_t seg_max, blk_size;
	uint32_t max_discard_sectors, max_write_zeroes_sectors;
	struct vblk_hdr *hdr;            /* one per tag, in its own page */
	volatile uint8_t *status;        /* one per tag */
	int16_t tag_of_head[1024];
};

/* Finds the first virtio-blk function, negotiates want (plus VERSION_1),
 * sets up queue 0 with qsize entries (indirect tables if indirect and
 * negotiated) and sets DRIVER_OK. Fails the guest on any error. */
void vblk_open(struct vblk *b, uint64_t want, uint16_t qsize, int indirect);

/* Synchronous request of the given type: header, then the n buffers in
 * b[] (device-readable first), then a status byte. Returns the status byte,
 * or -1 if the device did not answer within about spins polls. */
int vblk_request(struct vblk *b, uint32_t type, uint64_t sector,
		 const struct vdrv_buf *data, unsigned n);
/* Same for one contiguous buffer: IN reads into buf, others write from it. */
int vblk_rw(struct vblk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len);

/* Asynchronous IN/OUT with tag (0..VBLK_MAX_TAGS-1), not kicked: call
 * vdrv_kick(&b->q) after a batch. 0 or -1 when the ring is full. */
int vblk_submit(struct vblk *b, unsigned tag, uint32_t type, uint64_t sector,
		void *buf, uint32_t len);
/* Takes one completion: returns its tag and stores its status, or -1. */
int vblk_complete(struct vblk *b, int *status);

#endif
