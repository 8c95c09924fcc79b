/* Removable media of the CD-ROM drives, as QMP changes them (QEMU
 * blockdev.c qmp_eject / qmp_blockdev_change_medium and their error texts):
 * the new image is opened first (vmm/backends.h), then swapped under the
 * virtio-scsi device's lock with no READ in flight (devices/virtio/scsi.h),
 * the MMC unit told (devices/scsi_cd.h), and the old image closed. */
#ifndef VMM_MEDIA_H
#define VMM_MEDIA_H

#include <stddef.h>

#include "vmm/qmp.h"

struct backends;
struct virtio_scsi;

/* How drive i is named in query-block and QMP: its -drive id=, else
 * "virtio<i>" (what query-block always reported). */
void media_drive_name(const struct backends *be, unsigned i, char *buf, size_t len);

/* What happened to the tray (for DEVICE_TRAY_MOVED, in this order). */
#define MEDIA_TRAY_OPENED 1
#define MEDIA_TRAY_CLOSED 2

/* eject (a->filename NULL) or change the medium of the drive a names (its
 * query-block name, or "ide1-cd0" for -cdrom as QEMU's PC names it).
 * scsi[i] is drive i's device, or NULL when it has none (then only the
 * back-end changes). Main thread. Returns 0 with *drive and *moved set, or
 * -ENODEV (no such drive), -ENOTSUP (not removable), -EBUSY (locked, no
 * force: the guest got an eject request), or the open's error, with QEMU's
 * message in msg. */
int media_change(struct backends *be, struct virtio_scsi *const *scsi,
		 const struct qmp_medium_args *a, unsigned *drive, unsigned *moved,
		 char *msg, size_t len);

/* Calls cb(opaque, open) when the guest opens or closes scsi's tray itself
 * (SCSI START STOP UNIT; from a vCPU or I/O thread, device lock held: cb
 * must only post to the main thread). Until the device is destroyed. */
void media_watch_tray(struct virtio_scsi *scsi, void (*cb)(void *opaque, int open), void *opaque);

/* query-block's medium fields of drive i. */
void media_query(const struct backends *be, struct virtio_scsi *const *scsi, unsigned i,
		 struct qmp_block_info *out);

#endif
