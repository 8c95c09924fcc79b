/* QCOW2 format driver (placeholder until the driver lands): recognises the
 * magic so probing works, refuses to open. qemu docs/interop/qcow2.txt. */
#include "block/block.h"

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
