/* hello: the smallest test guest. Proves the runtime's path to ring 3 (CPL
 * from CS must be 3, IOPL 3 lets it print on COM1) and the debug-exit pass. */
#include "rt.h"

void rt_main(void)
{
	unsigned cpl = rt_cpl();
	uint64_t rflags;
	__asm__ volatile("pushfq; popq %0" : "=r"(rflags));
	rt_printf("Hello from ring %u\n", cpl);
	rt_printf("iopl=%u ram=%lluM cmdline=\"%s\"\n", (unsigned)(rflags >> 12) & 3,
		  (unsigned long long)(rt_ram_bytes() >> 20), rt_cmdline());
	RT_CHECK(cpl == 3);
	RT_CHECK(((rflags >> 12) & 3) == 3);
	/* The allocator hands out zeroed, aligned, distinct pages. */
	uint8_t *a = rt_alloc_pages(2), *b = rt_alloc_pages(1);
	RT_CHECK(((uintptr_t)a & 0xfff) == 0 && b >= a + 2 * 4096);
	for (int i = 0; i < 3 * 4096 - 4096; i++)
		RT_CHECK(a[i] == 0);
	/* printf formatting the other guests rely on. */
	char buf[64];
	rt_snprintf(buf, sizeof(buf), "%05d|%-3s|%x|%llu|%c%%", -42, "ab", 0xbeefu, 1ull << 40, 'z');
	RT_CHECK(strcmp(buf, "-0042|ab |beef|1099511627776|z%") == 0);
	const char *v = rt_cmdline_arg("hello");
	if (v) {
		rt_printf("hello=%s\n", v);
		RT_CHECK(strcmp(v, "world") == 0);
	}
	if (rt_cmdline_arg("fail"))
		rt_fail("asked to fail");
	if (rt_cmdline_arg("fault"))
		*(volatile int *)(uintptr_t)0x200000000ull = 1;   /* above 4 GiB, unmapped: #PF */
	rt_pass();
}
