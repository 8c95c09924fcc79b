/* Host tap interfaces for virtio-net: /dev/net/tun with IFF_TAP, IFF_NO_PI
 * and IFF_VNET_HDR (12-byte struct virtio_net_hdr_v1, virtio 1.2 section
 * 5.1.6), one non-blocking fd per queue pair (IFF_MULTI_QUEUE when more). */
#ifndef VMM_VIRTIO_TAP_H
#define VMM_VIRTIO_TAP_H

#define TAP_MAX_QUEUES 16
#define TAP_VNET_HDR_LEN 12

/* Offload flags for tap_set_offload (linux/if_tun.h TUN_F_*). */
#define TAP_OFFLOAD_CSUM    0x01
#define TAP_OFFLOAD_TSO4    0x02
#define TAP_OFFLOAD_TSO6    0x04
#define TAP_OFFLOAD_TSO_ECN 0x08

struct tap;

/* Opens tap ifname (NULL or "": the kernel names a new one "tapN") with
 * nqueues fds (1..TAP_MAX_QUEUES; > 1 uses IFF_MULTI_QUEUE). Errors:
 * -ENOENT/-ENODEV no /dev/net/tun, -EBUSY the tap is attached elsewhere
 * (or was made with other flags), -EPERM/-EACCES no permission,
 * -EINVAL a bad name or nqueues; tap_strerror() words them. */
int tap_open(struct tap **out, const char *ifname, unsigned nqueues);
/* Wraps fds the caller already opened (QEMU's fd=, or a SOCK_SEQPACKET
 * socketpair in tests) that carry one frame with its 12-byte vnet header
 * per read/write. Takes ownership of the fds and makes them non-blocking. */
int tap_open_fds(struct tap **out, const int *fds, unsigned nfds);
void tap_close(struct tap *t);

int tap_fd(const struct tap *t, unsigned queue);
unsigned tap_queues(const struct tap *t);
const char *tap_ifname(const struct tap *t);   /* "" for tap_open_fds */
/* TUNSETOFFLOAD on every queue: which partial-checksum/GSO frames the
 * guest accepts. 0 or negative errno (-ENOTTY when the fd is not a tap). */
int tap_set_offload(struct tap *t, unsigned flags);
/* TUNSETQUEUE: attach (on) or detach a multi-queue tap's queue, so the
 * kernel only spreads frames over the queues the guest uses. -ENOTTY/-EINVAL
 * for fds that are not multi-queue taps. */
int tap_set_queue_enabled(struct tap *t, unsigned queue, int on);
/* A message for a tap_open() error, naming the likely cause. */
const char *tap_strerror(int err);

#endif
