/* isa-debugcon (QEMU hw/char/debugcon.c): one port, writes are output bytes
 * (the low byte of each access, as QEMU), reads return the readback value
 * DEBUGCON_READBACK so that SeaBIOS enables its debug output. */
#include "devices/debugcon.h"

#include <errno.h>
#include <stdlib.h>

#include "vmm/bus.h"

struct debugcon {
	struct bus *pio;
	uint16_t iobase;
	debugcon_tx_fn tx;
	void *tx_opaque;
};

static uint64_t debugcon_read(void *opaque, uint64_t offset, unsigned size)
{
	return DEBUGCON_READBACK;
}

static void debugcon_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct debugcon *d = opaque;
	uint8_t c = (uint8_t)value;
	if (d->tx)
		d->tx(d->tx_opaque, &c, 1);
}

static const struct bus_ops debugcon_ops = { debugcon_read, debugcon_write };

int debugcon_create(struct debugcon **out, struct bus *pio, uint16_t iobase,
		    debugcon_tx_fn tx, void *tx_opaque)
{
	struct debugcon *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	*d = (struct debugcon){ pio, iobase, tx, tx_opaque };
	int ret = bus_register(pio, iobase, 1, &debugcon_ops, d, "isa-debugcon");
	if (ret < 0) {
		free(d);
		return ret;
	}
	*out = d;
	return 0;
}

void debugcon_destroy(struct debugcon *d)
{
	if (!d)
		return;
	bus_unregister(d->pio, d->iobase, d);
	free(d);
}
