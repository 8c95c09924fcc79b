/* CD-ROM media changes over QMP (QEMU blockdev.c: qmp_eject, do_open_tray,
 * qmp_blockdev_change_medium; qapi/block.json, block-core.json) on top of
 * the MMC removable-medium model of devices/scsi_cd.c. The image swap runs
 * inside virtio_scsi_media(), so no READ uses the old image when it closes. */
#include "vmm/media.h"
#include "vmm/backends.h"
#include "block/block.h"
#include "devices/scsi_cd.h"
#include "devices/virtio/scsi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void media_drive_name(const struct backends *be, unsigned i, char *buf, size_t len)
{
	const struct cli_drive *d = &be->cfg->drives[i];
	if (d->id)
		snprintf(buf, len, "%s", d->id);
	else
		snprintf(buf, len, "virtio%u", i);
}

static int find_drive(const struct backends *be, const char *name)
{
	for (unsigned i = 0; i < be->cfg->ndrives; i++) {
		char n[64];
		media_drive_name(be, i, n, sizeof(n));
		if (strcmp(n, name) == 0)
			return (int)i;
	}
	/* QEMU's PC puts -cdrom at ide1-cd0: scripts written for it work too. */
	for (unsigned i = 0; i < be->cfg->ndrives; i++)
		if (strcmp(name, "ide1-cd0") == 0 && strcmp(be->cfg->drives[i].opt, "-cdrom") == 0)
			return (int)i;
	return -1;
}

struct swap {
	struct block_dev *old, *new_bs;   /* new_bs NULL: eject only */
	int force;
	unsigned moved;
};

/* With the device lock held and no READ in flight (virtio_scsi_media). */
static int swap_medium(struct scsi_cd *cd, struct block_dev **bs, void *opaque)
{
	struct swap *w = opaque;
	int was_open = cd->tray_open;
	if (!(cd->tray_open && !cd->inserted)) {
		int ret = scsi_cd_eject(cd, w->force);
		if (ret < 0)
			return ret;
	}
	if (!was_open)
		w->moved |= MEDIA_TRAY_OPENED;
	w->old = *bs;
	*bs = w->new_bs;
	if (w->new_bs) {
		scsi_cd_insert(cd, w->new_bs->size);
		w->moved |= MEDIA_TRAY_CLOSED;
	}
	return 0;
}

static int read_state(struct scsi_cd *cd, struct block_dev **bs, void *opaque)
{
	struct qmp_block_info *out = opaque;
	out->tray_open = cd->tray_open;
	out->locked = cd->prevent;
	return 0;
}

int media_change(struct backends *be, struct virtio_scsi *const *scsi,
		 const struct qmp_medium_args *a, unsigned *drive, unsigned *moved,
		 char *msg, size_t len)
{
	const char *name = a->device ? a->device : a->id;
	int i = find_drive(be, name);
	if (i < 0) {
		snprintf(msg, len, "Device '%s' not found", name);
		return -ENODEV;
	}
	if (be->cfg->drives[i].media != CLI_MEDIA_CDROM) {
		snprintf(msg, len, "Device '%s' is not removable", name);
		return -ENOTSUP;
	}
	if (a->read_only_mode && strcmp(a->read_only_mode, "read-write") == 0) {
		snprintf(msg, len, "Device '%s' is a read-only CD-ROM", name);
		return -EROFS;
	}
	struct swap w = { .force = a->force };
	if (a->filename) {
		int ret = backends_open_medium(be, a->filename, a->format, &w.new_bs, msg, len);
		if (ret < 0)
			return ret;
	}
	int ret;
	if (scsi[i]) {
		ret = virtio_scsi_media(scsi[i], swap_medium, &w);
	} else {                    /* no device: the back-end alone (tray closed) */
		w.old = be->bdev[i];
		ret = 0;
	}
	if (ret < 0) {
		if (w.new_bs)
			block_close(w.new_bs);
		snprintf(msg, len, "Device '%s' is locked and force was not specified, "
			 "wait for tray to open and try again", name);
		return ret;
	}
	be->bdev[i] = w.new_bs;
	if (w.old)
		block_close(w.old);
	*drive = (unsigned)i;
	*moved = w.moved;
	return 0;
}

struct watch {
	void (*cb)(void *opaque, int open);
	void *opaque;
};

static int set_watch(struct scsi_cd *cd, struct block_dev **bs, void *opaque)
{
	const struct watch *w = opaque;
	cd->tray_cb = w->cb;
	cd->tray_opaque = w->opaque;
	return 0;
}

void media_watch_tray(struct virtio_scsi *scsi, void (*cb)(void *opaque, int open), void *opaque)
{
	struct watch w = { cb, opaque };
	virtio_scsi_media(scsi, set_watch, &w);
}

void media_query(const struct backends *be, struct virtio_scsi *const *scsi, unsigned i,
		 struct qmp_block_info *out)
{
	out->removable = be->cfg->drives[i].media == CLI_MEDIA_CDROM;
	out->inserted = be->bdev[i] != NULL;
	out->tray_open = out->locked = 0;
	if (out->removable && scsi[i])
		virtio_scsi_media(scsi[i], read_state, out);
	else if (out->removable)
		out->tray_open = !out->inserted;
}
