/* virtio-rng (virtio 1.2 section 5.4): one request queue whose writable
 * buffers are filled from the host's getrandom(). */
#ifndef VMM_VIRTIO_RNG_H
#define VMM_VIRTIO_RNG_H

#include "devices/virtio/virtio.h"

struct virtio_rng;

/* Creates the device model; hand virtio_rng_device() to a transport
 * (virtio_pci_create). 0 or -ENOMEM. */
int virtio_rng_create(struct virtio_rng **out);
struct virtio_device *virtio_rng_device(struct virtio_rng *rng);
/* Destroy the transport first. */
void virtio_rng_destroy(struct virtio_rng *rng);

#endif
