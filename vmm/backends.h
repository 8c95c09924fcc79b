/* The VM's host back-ends: disk images (block/block.h, one I/O engine on
 * the main loop) and taps (devices/virtio/tap.h), opened once before the
 * first bring-up and kept across guest resets; closed, disks flushed first,
 * on every way the process ends. Errors name the option as the user typed
 * it (docs/usage.md "Block devices", "Network"). */
#ifndef VMM_BACKENDS_H
#define VMM_BACKENDS_H

#include <stddef.h>

#include "vmm/cli.h"

struct block_engine;
struct block_dev;
struct tap;
struct event_loop;

struct backends {
	struct block_engine *engine;          /* NULL without drives */
	struct block_dev *bdev[CLI_MAX_DRIVES];   /* index = cfg->drives[] index */
	struct tap *tap[CLI_MAX_NETDEVS];         /* index = cfg->netdevs[] index */
	struct event_loop *loop;
	const struct vmm_config *cfg;
	void (*failed)(void *opaque);         /* the I/O engine failed (main thread) */
	void *opaque;
};

/* Opens every drive and tap of cfg; the engine's completions run from loop.
 * Returns 0, or a negative errno after printing one "vmm: ..." line (CD-ROM
 * drives are opened read-only). Call backends_close()
 * either way. Probing a raw image prints QEMU's warning. */
int backends_open(struct backends *b, const struct vmm_config *cfg, struct event_loop *loop,
		  void (*failed)(void *opaque), void *opaque);
/* Opens file read-only on the engine as a new CD-ROM medium (QMP
 * blockdev-change-medium; format NULL probes, without the raw warning).
 * The only image open after start-up: it runs in the main thread under the
 * sandbox. 0 or a negative errno with QEMU's "Could not open" text in msg. */
int backends_open_medium(struct backends *b, const char *file, const char *format,
			 struct block_dev **out, char *msg, size_t len);
/* Flushes writable disks (reporting a failed flush), closes everything. */
void backends_close(struct backends *b);

#endif
