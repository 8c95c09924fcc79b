/* virtio-net (virtio 1.2 section 5.1) on a host tap (devices/virtio/tap.h):
 * queue pairs (receiveq i = 2i, transmitq i = 2i+1) plus a control queue,
 * RX from the tap fds on the I/O thread's event loop, TX with writev. */
#ifndef VMM_VIRTIO_NET_H
#define VMM_VIRTIO_NET_H

#include <stdint.h>

#include "devices/virtio/tap.h"
#include "devices/virtio/virtio.h"
#include "vmm/event_loop.h"

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM           0
#define VIRTIO_NET_F_GUEST_CSUM     1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MAC            5
#define VIRTIO_NET_F_GUEST_TSO4     7
#define VIRTIO_NET_F_GUEST_TSO6     8
#define VIRTIO_NET_F_GUEST_ECN      9
#define VIRTIO_NET_F_HOST_TSO4      11
#define VIRTIO_NET_F_HOST_TSO6      12
#define VIRTIO_NET_F_MRG_RXBUF      15
#define VIRTIO_NET_F_STATUS         16
#define VIRTIO_NET_F_CTRL_VQ        17
#define VIRTIO_NET_F_CTRL_RX        18
#define VIRTIO_NET_F_MQ             22

#define VIRTIO_NET_S_LINK_UP        1
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1

/* Control queue (5.1.6.5). */
#define VIRTIO_NET_OK     0
#define VIRTIO_NET_ERR    1
#define VIRTIO_NET_CTRL_RX                 0
#define VIRTIO_NET_CTRL_MQ                 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET    0
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS     5
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET 0

struct virtio_net_hdr_v1 {        /* 5.1.6 */
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));

struct virtio_net_config {        /* 5.1.4 */
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));

struct virtio_net_opts {
	uint8_t mac[6];         /* all zero: 52:54:00:12:34:56 */
	uint16_t queue_size;    /* power of 2 up to 1024; 0 means 256 */
};

struct virtio_net;

/* Creates the device model on tap (queue pairs = tap_queues(tap); the tap
 * must outlive the device). Call on loop's thread before the loop runs: the
 * tap fds and an internal kick eventfd are watched on loop, where all RX
 * happens. Hand virtio_net_device() to a transport. 0 or negative errno. */
int virtio_net_create(struct virtio_net **out, struct tap *tap, struct event_loop *loop,
		      const struct virtio_net_opts *opts);
struct virtio_device *virtio_net_device(struct virtio_net *net);
/* Link status (VIRTIO_NET_S_LINK_UP) and a config interrupt. */
void virtio_net_set_link(struct virtio_net *net, int up);
/* Destroy the transport first; call on the loop's thread. */
void virtio_net_destroy(struct virtio_net *net);

#endif
