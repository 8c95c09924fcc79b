/* isa-debugcon, as QEMU's (hw/char/debugcon.c): bytes the guest writes to
 * one I/O port (0x402 for SeaBIOS, 0xe9 for Bochs-style guests) go to a host
 * chardev; a read returns QEMU's readback value 0xe9, which is how SeaBIOS
 * (src/hw/serialio.c qemu_debug_preinit) decides its debug port is there.
 * `-debugcon file:PATH` (docs/usage.md). */
#ifndef VMM_DEVICES_DEBUGCON_H
#define VMM_DEVICES_DEBUGCON_H

#include <stddef.h>
#include <stdint.h>

struct bus;
struct debugcon;

#define DEBUGCON_DEFAULT_IOBASE 0x402   /* SeaBIOS's CONFIG_DEBUG_IO port */
#define DEBUGCON_READBACK       0xe9    /* QEMU's default readback value */

/* Output sink: signature of chardev_write(). */
typedef void (*debugcon_tx_fn)(void *opaque, const uint8_t *buf, size_t len);

/* Registers one port at iobase on pio. Returns 0, -ENOMEM or the bus
 * error (-EEXIST when the port is taken). */
int debugcon_create(struct debugcon **out, struct bus *pio, uint16_t iobase,
		    debugcon_tx_fn tx, void *tx_opaque);
void debugcon_destroy(struct debugcon *d);

#endif
