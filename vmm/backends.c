/* Host back-ends of the VM's devices: disk images through the block layer
 * (block/block.h; format probing and QEMU's raw-probe warning as QEMU's
 * block.c find_image_format) and taps (devices/virtio/tap.h). Lifetime is
 * the process, not the board: a guest reset keeps them open. */
#include "vmm/backends.h"
#include "vmm/event_loop.h"
#include "block/block.h"
#include "block/snapshot.h"
#include "devices/virtio/tap.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

static void on_block_completion(void *opaque, uint32_t events)
{
	struct backends *b = opaque;
	int ret = block_engine_poll(b->engine, 0);
	if (ret < 0) {
		fprintf(stderr, "vmm: block I/O engine: %s\n", strerror(-ret));
		if (b->failed)
			b->failed(b->opaque);
	}
}

/* "-hda disk.img" / "-drive file=disk.img": how the user named a drive. */
static void drive_name(const struct cli_drive *d, char *buf, size_t len)
{
	if (strcmp(d->opt, "-drive") == 0)
		snprintf(buf, len, "-drive file=%s", d->file);
	else
		snprintf(buf, len, "%s %s", d->opt, d->file);
}

static int open_drive(struct backends *b, unsigned i)
{
	const struct cli_drive *d = &b->cfg->drives[i];
	struct block_open_opts o = {
		.format = d->format,
		.read_only = d->read_only || d->media == CLI_MEDIA_CDROM, /* CDs are read-only */
		.cache_direct = d->cache == CLI_CACHE_NONE || d->cache == CLI_CACHE_DIRECTSYNC,
		.no_flush = d->cache == CLI_CACHE_UNSAFE,
	};
	char name[600];
	int probed_raw = 0;
	drive_name(d, name, sizeof(name));
	if (d->snapshot) {
		/* -snapshot: the image is only read (probing raw is then harmless). */
		char msg[PATH_MAX + 160];
		int ret = block_open_snapshot(&b->bdev[i], d->file, &o, b->engine, NULL, msg, sizeof(msg));
		if (ret < 0)
			fprintf(stderr, "vmm: %s: %s\n", name, msg);
		return ret;
	}
	int ret = block_open(&b->bdev[i], d->file, &o, b->engine, &probed_raw);
	if (ret < 0) {
		b->bdev[i] = NULL;
		fprintf(stderr, "vmm: %s: %s\n", name, block_strerror(ret));
		return ret;
	}
	if (probed_raw && d->media != CLI_MEDIA_CDROM)   /* read-only: probing is harmless */
		fprintf(stderr, "vmm: WARNING: Image format was not specified for '%s' and probing guessed raw.\n"
			"         Automatically detecting the format is dangerous for raw images;\n"
			"         specify format=raw explicitly (-drive file=%s,format=raw).\n",
			d->file, d->file);
	return 0;
}

int backends_open(struct backends *b, const struct vmm_config *cfg, struct event_loop *loop,
		  void (*failed)(void *opaque), void *opaque)
{
	int ret;
	memset(b, 0, sizeof(*b));
	b->cfg = cfg;
	b->loop = loop;
	b->failed = failed;
	b->opaque = opaque;
	if (cfg->ndrives) {
		ret = block_engine_create(&b->engine, 128, 0);
		if (ret < 0) {
			b->engine = NULL;
			fprintf(stderr, "vmm: block I/O engine: %s\n", strerror(-ret));
			return ret;
		}
		ret = event_loop_add(loop, block_engine_fd(b->engine), EPOLLIN, on_block_completion, b);
		if (ret < 0) {
			block_engine_destroy(b->engine);
			b->engine = NULL;
			fprintf(stderr, "vmm: block I/O engine: %s\n", strerror(-ret));
			return ret;
		}
	}
	for (unsigned i = 0; i < cfg->ndrives; i++)
		if ((ret = open_drive(b, i)) < 0)
			return ret;
	for (unsigned i = 0; i < cfg->nnetdevs; i++) {
		const struct cli_netdev *nd = &cfg->netdevs[i];
		ret = tap_open(&b->tap[i], nd->ifname, nd->queues);
		if (ret < 0) {
			b->tap[i] = NULL;
			fprintf(stderr, "vmm: -netdev tap,id=%s: tap '%s': %s\n", nd->id,
				nd->ifname ? nd->ifname : "", tap_strerror(ret));
			return ret;
		}
	}
	return 0;
}

int backends_open_medium(struct backends *b, const char *file, const char *format,
			 struct block_dev **out, char *msg, size_t len)
{
	struct block_open_opts o = { .format = format, .read_only = 1 };
	if (!b->engine) {
		snprintf(msg, len, "no block I/O engine");
		return -ENODEV;
	}
	if (format && !block_find_driver(format)) {
		snprintf(msg, len, "Unknown driver '%s'", format);
		return -EINVAL;
	}
	int ret = block_open(out, file, &o, b->engine, NULL);
	if (ret < 0) {
		*out = NULL;
		snprintf(msg, len, "Could not open '%s': %s", file, block_strerror(ret));
	}
	return ret;
}

void backends_close(struct backends *b)
{
	for (unsigned i = 0; i < CLI_MAX_DRIVES; i++) {
		if (!b->bdev[i])
			continue;
		if (!b->bdev[i]->read_only) {
			int ret = block_flush_sync(b->bdev[i]);
			if (ret < 0) {
				char name[600];
				drive_name(&b->cfg->drives[i], name, sizeof(name));
				fprintf(stderr, "vmm: %s: flush: %s\n", name, block_strerror(ret));
			}
		}
		block_close(b->bdev[i]);
		b->bdev[i] = NULL;
	}
	for (unsigned i = 0; i < CLI_MAX_NETDEVS; i++) {
		if (b->tap[i])
			tap_close(b->tap[i]);
		b->tap[i] = NULL;
	}
	if (b->engine) {
		if (b->loop)
			event_loop_del(b->loop, block_engine_fd(b->engine));
		block_engine_destroy(b->engine);
		b->engine = NULL;
	}
}
