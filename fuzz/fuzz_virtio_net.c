/* Fuzz target: virtio-net request handling (devices/virtio/net.c, virtio 1.2
 * section 5.1): transmit chains (virtio_net_hdr + frame) and control-queue
 * commands, from guest memory that is the fuzz input. The tap is a
 * SOCK_SEQPACKET socketpair, as in tests/test_virtio_net.c; the peer end is
 * drained after each kick and also feeds one frame to the receive queue. */
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_virtio.h"
#include "devices/virtio/net.h"
#include "devices/virtio/tap.h"
#include "vmm/event_loop.h"

#include <sys/socket.h>

#define RING(q)  ((uint64_t)(q) * 0x800)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct virtio_net_opts opts = { .queue_size = 16 };
	struct event_loop *loop;
	struct virtio_device *vdev;
	struct virtio_net *net;
	struct tap *tap;
	uint64_t features;
	static char frame[65536];
	int sv[2];

	if (!mem.nregions)
		guest_memory_add_region(&mem, 0, RAM_SIZE, ram);
	features = fuzz_take(&in, 8);
	memset(ram, 0, sizeof(ram));
	memcpy(ram, in.p, in.n < RAM_SIZE ? in.n : RAM_SIZE);

	if (event_loop_create(&loop) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0 ||
	    tap_open_fds(&tap, sv, 1) != 0 || virtio_net_create(&net, tap, loop, &opts) != 0)
		abort();
	vdev = virtio_net_device(net);
	vdev->transport = &transport;
	vdev->driver_features = (vdev->device_features & features) | (1ull << VIRTIO_F_VERSION_1);
	for (unsigned q = 0; q < vdev->num_queues && q < 8; q++) {
		virtq_init(&vdev->vq[q], &mem);
		virtq_setup(&vdev->vq[q], 16, RING(q), RING(q) + 0x200, RING(q) + 0x400, vdev->driver_features);
	}
	if (!vdev->ops->activate || vdev->ops->activate(vdev) == 0) {
		/* One frame in for the receive path (its length from the input). */
		size_t flen = 14 + (features >> 48) % 1600;

		memset(frame, 0x5a, flen);
		send(sv[1], frame, flen, MSG_DONTWAIT);
		for (int kick = 0; kick < 2; kick++) {
			for (unsigned q = 0; q < vdev->num_queues && q < 8; q++)
				vdev->ops->queue_notify(vdev, q);
			event_loop_run_once(loop, 0);
			while (recv(sv[1], frame, sizeof(frame), MSG_DONTWAIT) > 0)
				;
		}
	}
	vdev->ops->reset(vdev);
	virtio_net_destroy(net);
	tap_close(tap);       /* closes sv[0] */
	close(sv[1]);
	event_loop_destroy(loop);
	return 0;
}
