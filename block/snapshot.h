/* Snapshot mode (QEMU's -snapshot and -drive snapshot=on, qemu-options.hx
 * "-snapshot"; block.c bdrv_append_temp_snapshot): the guest's writes go to
 * a temporary qcow2 overlay, the image itself is only ever read. */
#ifndef VMM_BLOCK_SNAPSHOT_H
#define VMM_BLOCK_SNAPSHOT_H

#include <stddef.h>

#include "block/block.h"

/* Opens path read-only (opts->format, or probed), creates a qcow2 overlay of
 * the same virtual size (rounded up to 512 bytes) with path's absolute name
 * as its backing file and the format as backing_fmt, in tmpdir (NULL:
 * $TMPDIR when set and not empty, else /var/tmp, as QEMU) with mkostemp
 * (O_EXCL, mode 0600), opens it writable as *out on eng and unlinks it at
 * once, so it vanishes with the process however that ends (a crash between
 * its creation and the unlink, a few milliseconds, leaves it behind). The
 * overlay is QEMU's temporary snapshot: no O_DIRECT, flushes ignored
 * (opts->cache_direct and no_flush do not apply to it).
 * Returns 0, or a negative errno / block code with one line in msg (no
 * "vmm: " prefix, no file name of the image: the caller names the drive). */
int block_open_snapshot(struct block_dev **out, const char *path, const struct block_open_opts *opts,
			struct block_engine *eng, const char *tmpdir, char *msg, size_t msglen);

/* The directory block_open_snapshot(tmpdir = NULL) uses. */
const char *block_snapshot_dir(void);

#endif
