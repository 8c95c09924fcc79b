/* Shared by the virtio fuzz targets (fuzz_virtio_blk/net/scsi.c): 64 KiB of
 * guest RAM that the input fills, and a transport that only does the
 * used-ring notification bookkeeping (no interrupts, resets ignored). */
#ifndef VMM_FUZZ_FUZZ_VIRTIO_H
#define VMM_FUZZ_FUZZ_VIRTIO_H

#include "devices/virtio/virtio.h"

#define RAM_SIZE 0x10000u

static uint8_t ram[RAM_SIZE];
static struct guest_memory mem;

static void t_notify_used(struct virtio_device *v, unsigned q) { virtq_should_notify(&v->vq[q]); }
static void t_notify_config(struct virtio_device *v) {}
static void t_needs_reset(struct virtio_device *v) {}
static const struct virtio_transport_ops transport = { t_notify_used, t_notify_config, t_needs_reset };

#endif
