/* Unit tests for vmm/bus.c: registration overlap rules, dispatch offsets,
 * all-ones for unclaimed reads, straddling accesses, and unregistration. */
#include "vmm/bus.h"
#include "tests/check.h"

#include <errno.h>

struct dev {
	uint64_t last_off, last_val;
	unsigned last_size, writes;
	uint8_t regs[16];
};

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
	struct dev *d = opaque;
	uint64_t v = 0;
	memcpy(&v, d->regs + off, size);
	return v;
}

static void dev_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct dev *d = opaque;
	d->last_off = off, d->last_size = size, d->last_val = val, d->writes++;
	memcpy(d->regs + off, &val, size);
}

static const struct bus_ops ops = { dev_read, dev_write };

int main(void)
{
	struct bus bus;
	struct dev a = { 0 }, b = { 0 };
	CHECK_EQ(bus_init(&bus, "pio"), 0);
	CHECK_EQ(bus_register(&bus, 0x3f8, 8, &ops, &a, "serial"), 0);
	CHECK_EQ(bus_register(&bus, 0x3f0, 9, &ops, &b, "x"), -EEXIST);
	CHECK_EQ(bus_register(&bus, 0x3ff, 1, &ops, &b, "x"), -EEXIST);
	CHECK_EQ(bus_register(&bus, 0x3f7, 1, &ops, &b, "x"), 0);
	CHECK_EQ(bus_register(&bus, 0x400, 0, &ops, &b, "x"), -EINVAL);
	CHECK_EQ(bus_register(&bus, UINT64_MAX, 2, &ops, &b, "x"), -EINVAL);

	uint32_t v = 0x11223344;
	CHECK_EQ(bus_write(&bus, 0x3fa, &v, 2), 0);
	CHECK_EQ(a.last_off, 2);
	CHECK_EQ(a.last_size, 2);
	CHECK_EQ(a.last_val, 0x3344);
	uint8_t r8 = 0;
	CHECK_EQ(bus_read(&bus, 0x3fb, &r8, 1), 0);
	CHECK_EQ(r8, 0x33);

	uint32_t r32 = 0;
	CHECK_EQ(bus_read(&bus, 0x1234, &r32, 4), -ENOENT);
	CHECK_EQ(r32, 0xffffffff);
	CHECK(bus.unclaimed_reads > 0);
	CHECK_EQ(bus_write(&bus, 0x1234, &v, 4), -ENOENT);
	CHECK(bus.unclaimed_writes > 0);

	/* 4-byte access at 0x3fe straddles serial's end: bytes 0x3fe, 0x3ff to
	 * serial, 0x400/0x401 unclaimed (read as 0xff). */
	a.regs[6] = 0xaa, a.regs[7] = 0xbb;
	CHECK_EQ(bus_read(&bus, 0x3fe, &r32, 4), 0);
	CHECK_EQ(r32, 0xffffbbaa);
	CHECK_STR(bus_lookup_name(&bus, 0x3f7), "x");

	CHECK_EQ(bus_unregister(&bus, 0x3f8, &b), -ENOENT);  /* wrong owner */
	CHECK_EQ(bus_unregister(&bus, 0x3f8, &a), 0);
	CHECK_EQ(bus_read(&bus, 0x3f8, &r8, 1), -ENOENT);
	CHECK_EQ(bus_register(&bus, 0x3f8, 8, &ops, &b, "moved"), 0);
	CHECK_STR(bus_lookup_name(&bus, 0x3f9), "moved");

	/* The per-thread last hit (the exit fast path) never outlives a
	 * registration change: hit b's range, move it to a, hit again. */
	b.regs[1] = 0xb1, a.regs[1] = 0xa1;
	CHECK_EQ(bus_read(&bus, 0x3f9, &r8, 1), 0);
	CHECK_EQ(r8, 0xb1);
	CHECK_EQ(bus_read(&bus, 0x3f9, &r8, 1), 0);   /* from the cached hit */
	CHECK_EQ(r8, 0xb1);
	CHECK_EQ(bus_unregister(&bus, 0x3f8, &b), 0);
	CHECK_EQ(bus_read(&bus, 0x3f9, &r8, 1), -ENOENT);
	CHECK_EQ(r8, 0xff);
	CHECK_EQ(bus_register(&bus, 0x3f8, 8, &ops, &a, "back"), 0);
	CHECK_EQ(bus_read(&bus, 0x3f9, &r8, 1), 0);
	CHECK_EQ(r8, 0xa1);
	bus_destroy(&bus);

	/* A new bus at the same address starts with a generation no thread
	 * has cached. */
	CHECK_EQ(bus_init(&bus, "pio"), 0);
	CHECK_EQ(bus_read(&bus, 0x3f9, &r8, 1), -ENOENT);
	CHECK_EQ(bus_register(&bus, 0x3f8, 8, &ops, &b, "b"), 0);
	CHECK_EQ(bus_read(&bus, 0x3f9, &r8, 1), 0);
	CHECK_EQ(r8, 0xb1);
	bus_destroy(&bus);
	return check_done();
}
