/* Host tap helper (Linux Documentation/networking/tuntap.rst): TUNSETIFF
 * with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR[|IFF_MULTI_QUEUE], TUNSETVNETHDRSZ 12
 * so frames carry virtio 1.2's struct virtio_net_hdr_v1 (5.1.6) unchanged,
 * TUNSETOFFLOAD for the offloads the guest negotiated. */
#include "devices/virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct tap {
	unsigned nfds;
	int fds[TAP_MAX_QUEUES];
	char ifname[IFNAMSIZ];
};

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int open_one(const char *name, int multi, char *actual)
{
	struct ifreq ifr;
	int fd, hdr = TAP_VNET_HDR_LEN, ret;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi ? IFF_MULTI_QUEUE : 0);
	if (name)
		memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		/* A tap that exists with other flags (no vnet_hdr, or a
		 * single-queue tap asked for multi_queue) says EINVAL. */
		if (ret == -EINVAL && name)
			ret = -EBUSY;
		close(fd);
		return ret;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	memcpy(actual, ifr.ifr_name, IFNAMSIZ);
	actual[IFNAMSIZ - 1] = 0;
	return fd;
}

int tap_open(struct tap **out, const char *ifname, unsigned nqueues)
{
	struct tap *t;

	if (!out || nqueues == 0 || nqueues > TAP_MAX_QUEUES)
		return -EINVAL;
	if (ifname && !*ifname)
		ifname = NULL;
	if (ifname && strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (unsigned i = 0; i < nqueues; i++) {
		/* Later queues attach to the name the first one got. */
		int fd = open_one(i ? t->ifname : ifname, nqueues > 1, t->ifname);

		if (fd < 0) {
			tap_close(t);
			return fd;
		}
		t->fds[t->nfds++] = fd;
	}
	*out = t;
	return 0;
}

int tap_open_fds(struct tap **out, const int *fds, unsigned nfds)
{
	struct tap *t;
	int ret;

	if (!out || !fds || nfds == 0 || nfds > TAP_MAX_QUEUES)
		return -EINVAL;
	for (unsigned i = 0; i < nfds; i++) {
		ret = set_nonblock(fds[i]);
		if (ret < 0)
			return ret;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(t->fds, fds, sizeof(*fds) * nfds);
	t->nfds = nfds;
	*out = t;
	return 0;
}

void tap_close(struct tap *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->nfds; i++)
		close(t->fds[i]);
	free(t);
}

int tap_fd(const struct tap *t, unsigned queue)
{
	return queue < t->nfds ? t->fds[queue] : -1;
}

unsigned tap_queues(const struct tap *t)
{
	return t->nfds;
}

const char *tap_ifname(const struct tap *t)
{
	return t->ifname;
}

int tap_set_offload(struct tap *t, unsigned flags)
{
	for (unsigned i = 0; i < t->nfds; i++)
		if (ioctl(t->fds[i], TUNSETOFFLOAD, (unsigned long)flags) < 0)
			return -errno;
	return 0;
}

int tap_set_queue_enabled(struct tap *t, unsigned queue, int on)
{
	struct ifreq ifr;

	if (queue >= t->nfds)
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(t->fds[queue], TUNSETQUEUE, &ifr) < 0)
		return -errno;
	return 0;
}

const char *tap_strerror(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		return "/dev/net/tun is missing (load the tun module: modprobe tun)";
	case -EBUSY:
		return "the tap interface is busy: another process has it open, or it was created "
		       "without vnet_hdr/with a different multi_queue setting";
	case -EPERM:
	case -EACCES:
		return "permission denied: creating or attaching a tap needs CAP_NET_ADMIN, "
		       "or a persistent tap owned by this user (ip tuntap add ... user $USER)";
	case -EINVAL:
		return "invalid tap name or queue count";
	default:
		return strerror(-err);
	}
}
