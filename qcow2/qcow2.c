/* QCOW2 format driver (placeholder until the driver lands): recognises the
 * magic so probing works, refuses to open. qemu docs/interop/qcow2.txt. */
#include "qcow2/qcow2.h"

#include <errno.h>
#include <string.h>

static int qcow2_probe(const uint8_t *buf, size_t len)
{
	return len >= 4 && memcmp(buf, "QFI\xfb", 4) == 0 ? 100 : 0;
}

static int qcow2_open(struct block_dev *bs, const char *path, const struct block_open_opts *opts)
{
	return -ENOTSUP;
}

const struct block_driver block_driver_qcow2 = {
	.format = "qcow2",
	.probe = qcow2_probe,
	.open = qcow2_open,
};

const char *qcow2_strerror(int err) { return NULL; }
int qcow2_create(const char *path, const struct qcow2_create_opts *o) { return -ENOTSUP; }
int qcow2_get_info(struct block_dev *bs, struct qcow2_info *out) { return -ENOTSUP; }
int qcow2_check(struct block_dev *bs, int fix, struct qcow2_check_result *r) { return -ENOTSUP; }
int qcow2_snapshot_list(struct block_dev *bs, struct qcow2_snapshot_info **out, int *count) { return -ENOTSUP; }
int qcow2_snapshot_create(struct block_dev *bs, const char *name) { return -ENOTSUP; }
int qcow2_snapshot_apply(struct block_dev *bs, const char *name_or_id) { return -ENOTSUP; }
int qcow2_snapshot_delete(struct block_dev *bs, const char *name_or_id) { return -ENOTSUP; }
int qcow2_write_compressed(struct block_dev *bs, uint64_t off, const void *buf, size_t len) { return -ENOTSUP; }
unsigned qcow2_cluster_size(struct block_dev *bs) { return 0; }
int qcow2_change_backing_file(struct block_dev *bs, const char *file, const char *fmt) { return -ENOTSUP; }
int qcow2_flush_metadata(struct block_dev *bs) { return -ENOTSUP; }
