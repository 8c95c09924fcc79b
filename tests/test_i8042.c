/* Unit tests for the i8042 subset and port 0x92 (devices/i8042.c): each
 * reset path asks vm_control for exactly one reset, the probe commands
 * answer as a PC's controller does, and nothing else resets. */
#include <errno.h>

#include "devices/i8042.h"
#include "devices/vm_control.h"
#include "tests/check.h"
#include "tests/test_util.h"
#include "vmm/bus.h"

static struct bus pio;
static struct test_ctl_rec rec;
static const struct vm_control ctl = TEST_CTL(&rec);

#define inb(port) ((uint8_t)test_pio_in(&pio, (port), 1))
#define outb(port, v) test_pio_out(&pio, (port), 1, (v))

static struct i8042 *fresh(void)
{
	struct i8042 *k = NULL;
	rec = (struct test_ctl_rec){ 0 };
	CHECK_EQ(i8042_create(&k, &pio, &ctl), 0);
	return k;
}

static void test_status_and_commands(void)
{
	struct i8042 *k = fresh();
	uint8_t st = inb(0x64);
	CHECK_EQ(st & 0x04, 0x04);       /* system flag */
	CHECK_EQ(st & 0x01, 0);          /* output buffer empty */
	outb(0x64, 0xaa);
	CHECK_EQ(inb(0x64) & 0x01, 1);
	CHECK_EQ(inb(0x60), 0x55);
	CHECK_EQ(inb(0x64) & 0x01, 0);
	outb(0x64, 0xab);
	CHECK_EQ(inb(0x60), 0x00);
	/* Command byte round trip. */
	outb(0x64, 0x60);
	outb(0x60, 0x45);
	outb(0x64, 0x20);
	CHECK_EQ(inb(0x60), 0x45);
	outb(0x64, 0xad);
	outb(0x64, 0xa7);
	outb(0x64, 0x20);
	CHECK_EQ(inb(0x60), 0x45 | 0x10 | 0x20);
	outb(0x64, 0xae);
	outb(0x64, 0xa8);
	outb(0x64, 0x20);
	CHECK_EQ(inb(0x60), 0x45);
	/* Data for the absent keyboard is dropped, no reply. */
	outb(0x60, 0xff);
	CHECK_EQ(inb(0x64) & 0x01, 0);
	CHECK_EQ(rec.resets, 0);
	/* Port 0x61 stays with KVM's PIT. */
	CHECK(bus_lookup_name(&pio, 0x61) == NULL);
	i8042_destroy(k);
}

static void test_reset_fe(void)
{
	struct i8042 *k = fresh();
	outb(0x64, 0xfe);
	CHECK_EQ(rec.resets, 1);
	outb(0x64, 0xff);                /* pulses nothing */
	CHECK_EQ(rec.resets, 1);
	CHECK_EQ(rec.poweroffs + rec.exits, 0);
	i8042_destroy(k);
}

static void test_reset_d1(void)
{
	struct i8042 *k = fresh();
	outb(0x64, 0xd1);
	outb(0x60, 0x03);                /* reset line high: no reset, A20 on */
	CHECK_EQ(rec.resets, 0);
	outb(0x64, 0xd0);
	CHECK_EQ(inb(0x60) & 0x03, 0x03);
	outb(0x64, 0xd1);
	outb(0x60, 0x02);                /* bit 0 clear: reset */
	CHECK_EQ(rec.resets, 1);
	outb(0x60, 0x00);                /* plain data byte: not an output port write */
	CHECK_EQ(rec.resets, 1);
	i8042_destroy(k);
}

static void test_port92(void)
{
	struct i8042 *k = fresh();
	CHECK_EQ(inb(0x92) & 0x02, 0x02); /* A20 on at power-up */
	outb(0x92, 0x00);
	CHECK_EQ(inb(0x92) & 0x02, 0);
	CHECK_EQ(rec.resets, 0);
	outb(0x92, 0x03);
	CHECK_EQ(rec.resets, 1);
	CHECK_EQ(inb(0x92), 0x02);       /* A20 readable, reset bit not latched */
	outb(0x92, 0x02);
	CHECK_EQ(rec.resets, 1);
	outb(0x92, 0x01);                /* after a reset, the next one works too */
	CHECK_EQ(rec.resets, 2);
	i8042_destroy(k);
	/* Destroy released every port. */
	CHECK(bus_lookup_name(&pio, 0x60) == NULL);
	CHECK(bus_lookup_name(&pio, 0x64) == NULL);
	CHECK(bus_lookup_name(&pio, 0x92) == NULL);
}

static void test_busy_port(void)
{
	static const struct bus_ops none = { NULL, NULL };
	struct i8042 *k = NULL;
	CHECK_EQ(bus_register(&pio, 0x92, 1, &none, &pio, "other"), 0);
	CHECK_EQ(i8042_create(&k, &pio, &ctl), -EEXIST);
	CHECK(bus_lookup_name(&pio, 0x60) == NULL); /* nothing left behind */
	bus_unregister(&pio, 0x92, &pio);
}

int main(void)
{
	bus_init(&pio, "pio");
	test_status_and_commands();
	test_reset_fe();
	test_reset_d1();
	test_port92();
	test_busy_port();
	bus_destroy(&pio);
	return check_done();
}
