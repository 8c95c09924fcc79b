/* Unit tests for vmm/memory.c: layout split around the PCI hole and the
 * range checks of guest_memory_ptr (ends, overflow, gaps). */
#include "vmm/memory.h"
#include "boot/layout.h"
#include "tests/check.h"

#include <errno.h>
#include <stdint.h>

int main(void)
{
	struct guest_memory m;

	CHECK_EQ(guest_memory_init(&m, 4 * LAYOUT_MiB), -EINVAL);   /* below minimum */
	CHECK_EQ(guest_memory_init(&m, 64 * LAYOUT_MiB + 1), -EINVAL);

	CHECK_EQ(guest_memory_init(&m, 64 * LAYOUT_MiB), 0);
	CHECK_EQ(m.nregions, 1);
	CHECK_EQ(guest_memory_low_size(&m), 64 * LAYOUT_MiB);
	CHECK_EQ(guest_memory_high_size(&m), 0);
	uint8_t *p = guest_memory_ptr(&m, 0, 64 * LAYOUT_MiB);
	CHECK(p != NULL);
	CHECK(guest_memory_ptr(&m, 64 * LAYOUT_MiB - 8, 8) == p + 64 * LAYOUT_MiB - 8);
	CHECK(guest_memory_ptr(&m, 64 * LAYOUT_MiB - 8, 9) == NULL);     /* crosses the end */
	CHECK(guest_memory_ptr(&m, 64 * LAYOUT_MiB, 1) == NULL);
	CHECK(guest_memory_ptr(&m, 16, UINT64_MAX) == NULL);              /* wraps */
	CHECK(guest_memory_ptr(&m, UINT64_MAX - 1, 4) == NULL);
	uint32_t v = 0xdeadbeef, r = 0;
	CHECK_EQ(guest_memory_write(&m, 0x1000, &v, 4), 0);
	CHECK_EQ(guest_memory_read(&m, 0x1000, &r, 4), 0);
	CHECK_EQ(r, 0xdeadbeef);
	CHECK_EQ(guest_memory_read(&m, 64 * LAYOUT_MiB - 2, &r, 4), -EFAULT);
	guest_memory_destroy(&m);
	CHECK_EQ(m.nregions, 0);

	/* 4 GiB of RAM: 3 GiB low, 1 GiB from 4 GiB; nothing in the hole. */
	CHECK_EQ(guest_memory_init(&m, 4 * LAYOUT_GiB), 0);
	CHECK_EQ(m.nregions, 2);
	CHECK_EQ(guest_memory_low_size(&m), LAYOUT_LOWMEM_END);
	CHECK_EQ(guest_memory_high_size(&m), LAYOUT_GiB);
	CHECK(guest_memory_ptr(&m, LAYOUT_LOWMEM_END, 1) == NULL);
	CHECK(guest_memory_ptr(&m, LAYOUT_LOWMEM_END - 1, 2) == NULL);    /* into the hole */
	CHECK(guest_memory_ptr(&m, LAYOUT_IOAPIC, 4) == NULL);
	CHECK(guest_memory_ptr(&m, LAYOUT_HIGHMEM_START, 4096) != NULL);
	CHECK(guest_memory_ptr(&m, LAYOUT_HIGHMEM_START + LAYOUT_GiB - 1, 2) == NULL);
	guest_memory_destroy(&m);

	/* Caller-owned regions: overlap refused. */
	static uint8_t a[4096], b[4096];
	struct guest_memory t = { 0 };
	CHECK_EQ(guest_memory_add_region(&t, 0x10000, sizeof(a), a), 0);
	CHECK_EQ(guest_memory_add_region(&t, 0x10800, sizeof(b), b), -EINVAL);
	CHECK_EQ(guest_memory_add_region(&t, UINT64_MAX - 10, sizeof(b), b), -EINVAL);
	CHECK(guest_memory_ptr(&t, 0x10ffc, 4) == a + 0xffc);
	guest_memory_destroy(&t);
	return check_done();
}
