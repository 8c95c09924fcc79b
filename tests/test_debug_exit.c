/* Unit tests for isa-debug-exit (devices/debug_exit.c): QEMU's status
 * convention (v << 1) | 1 for 1/2/4-byte writes, all-ones reads, range. */
#include <errno.h>

#include "devices/debug_exit.h"
#include "devices/vm_control.h"
#include "tests/check.h"
#include "tests/test_util.h"
#include "vmm/bus.h"

static struct test_ctl_rec rec;
static const struct vm_control ctl = TEST_CTL(&rec);

int main(void)
{
	struct bus pio;
	struct debug_exit *d = NULL;
	uint32_t v;

	bus_init(&pio, "pio");
	CHECK_EQ(debug_exit_create(&d, &pio, 0xf4, 4, &ctl), 0);

	uint8_t b = 0x10;
	bus_write(&pio, 0xf4, &b, 1);
	CHECK_EQ(rec.exits, 1);
	CHECK_EQ(rec.status, 0x21);

	uint16_t w = 0x0102;
	bus_write(&pio, 0xf4, &w, 2);
	CHECK_EQ(rec.exits, 2);
	CHECK_EQ(rec.status, 0x0205);

	v = 0x00001234;
	bus_write(&pio, 0xf4, &v, 4);
	CHECK_EQ(rec.exits, 3);
	CHECK_EQ(rec.status, 0x2469);

	b = 0;
	bus_write(&pio, 0xf7, &b, 1);    /* last byte of the range */
	CHECK_EQ(rec.exits, 4);
	CHECK_EQ(rec.status, 1);
	b = 5;
	bus_write(&pio, 0xf8, &b, 1);    /* outside: unclaimed */
	CHECK_EQ(rec.exits, 4);

	v = 0;
	bus_read(&pio, 0xf4, &v, 4);
	CHECK_EQ(v, 0xffffffffu);
	v = 0;
	bus_read(&pio, 0xf4, &v, 1);
	CHECK_EQ(v, 0xff);
	CHECK_EQ(rec.resets + rec.poweroffs, 0);
	debug_exit_destroy(d);
	CHECK(bus_lookup_name(&pio, 0xf4) == NULL);

	/* iosize=1 as QEMU's default device; a range past 0xffff is refused. */
	CHECK_EQ(debug_exit_create(&d, &pio, 0x501, 1, &ctl), 0);
	b = 0x7f;
	bus_write(&pio, 0x501, &b, 1);
	CHECK_EQ(rec.status, 0xff);
	debug_exit_destroy(d);
	struct debug_exit *e = NULL;
	CHECK_EQ(debug_exit_create(&e, &pio, 0xfffe, 4, &ctl), -EINVAL);
	CHECK_EQ(debug_exit_create(&e, &pio, 0xf4, 0, &ctl), -EINVAL);
	CHECK(e == NULL);

	bus_destroy(&pio);
	return check_done();
}
