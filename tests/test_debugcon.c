/* Unit tests for isa-debugcon (devices/debugcon.c): each write's low byte
 * reaches the sink in order, reads return QEMU's readback 0xe9 (what makes
 * SeaBIOS keep its debug output on), one port only, -EEXIST on a taken port. */
#include <errno.h>
#include <string.h>

#include "devices/debugcon.h"
#include "tests/check.h"
#include "vmm/bus.h"

static uint8_t out[64];
static size_t nout;

static void sink(void *opaque, const uint8_t *buf, size_t len)
{
	CHECK(opaque == (void *)out);
	for (size_t i = 0; i < len && nout < sizeof(out); i++)
		out[nout++] = buf[i];
}

int main(void)
{
	struct bus pio;
	struct debugcon *d = NULL, *d2 = NULL;

	bus_init(&pio, "pio");
	CHECK_EQ(debugcon_create(&d, &pio, DEBUGCON_DEFAULT_IOBASE, sink, out), 0);
	const char *msg = "SeaBIOS\n";
	for (const char *p = msg; *p; p++)
		bus_write(&pio, 0x402, p, 1);
	CHECK_EQ(nout, strlen(msg));
	CHECK_MEM(out, msg, strlen(msg));

	uint16_t w = 0x4142;              /* a wider write: its low byte, as QEMU */
	bus_write(&pio, 0x402, &w, 2);
	CHECK_EQ(nout, strlen(msg) + 1);
	CHECK_EQ(out[nout - 1], 0x42);

	uint8_t b = 0;
	bus_read(&pio, 0x402, &b, 1);
	CHECK_EQ(b, DEBUGCON_READBACK);
	CHECK_EQ(b, 0xe9);

	b = 'x';
	bus_write(&pio, 0x403, &b, 1);     /* next port: not ours */
	CHECK_EQ(nout, strlen(msg) + 1);
	b = 0;
	bus_read(&pio, 0x401, &b, 1);
	CHECK_EQ(b, 0xff);

	CHECK_EQ(debugcon_create(&d2, &pio, 0x402, sink, out), -EEXIST);
	debugcon_destroy(d);
	CHECK(bus_lookup_name(&pio, 0x402) == NULL);
	b = 0;
	bus_read(&pio, 0x402, &b, 1);
	CHECK_EQ(b, 0xff);                  /* gone: SeaBIOS would turn its output off */

	/* No sink (e.g. torn down): writes are dropped, reads still answer. */
	CHECK_EQ(debugcon_create(&d, &pio, 0xe9, NULL, NULL), 0);
	bus_write(&pio, 0xe9, &b, 1);
	bus_read(&pio, 0xe9, &b, 1);
	CHECK_EQ(b, 0xe9);
	debugcon_destroy(d);
	debugcon_destroy(NULL);
	bus_destroy(&pio);
	return check_done();
}
