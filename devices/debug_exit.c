/* isa-debug-exit: QEMU's test device (hw/misc/debugexit.c). Any write of
 * value v to [iobase, iobase + iosize) ends the VM with exit status
 * (v << 1) | 1, so a guest can never report plain success by accident. */
#include "devices/debug_exit.h"

#include <errno.h>
#include <stdlib.h>

#include "devices/vm_control.h"
#include "vmm/bus.h"

struct debug_exit {
	struct bus *pio;
	uint16_t iobase;
	const struct vm_control *ctl;
};

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static void debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct debug_exit *d = opaque;
	uint32_t v = (uint32_t)value;

	if (size < 4)
		v &= (1u << (8 * size)) - 1;
	/* Computed unsigned so a 32-bit value cannot overflow int; the process
	 * keeps only the low 8 bits of the status anyway. */
	d->ctl->exit(d->ctl->opaque, (int)((v << 1) | 1));
}

static const struct bus_ops debug_exit_ops = { debug_exit_read, debug_exit_write };

int debug_exit_create(struct debug_exit **out, struct bus *pio, uint16_t iobase,
		      uint16_t iosize, const struct vm_control *ctl)
{
	if (iosize == 0 || (uint32_t)iobase + iosize > 0x10000)
		return -EINVAL;
	struct debug_exit *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->pio = pio;
	d->iobase = iobase;
	d->ctl = ctl;
	int ret = bus_register(pio, iobase, iosize, &debug_exit_ops, d, "isa-debug-exit");
	if (ret < 0) {
		free(d);
		return ret;
	}
	*out = d;
	return 0;
}

void debug_exit_destroy(struct debug_exit *d)
{
	if (!d)
		return;
	bus_unregister(d->pio, d->iobase, d);
	free(d);
}
