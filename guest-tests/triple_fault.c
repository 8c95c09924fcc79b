/* triple_fault: from the ring-0 hook, before the drop to ring 3, loads an
 * empty IDT and executes ud2: #UD cannot be delivered (#GP), nor can that
 * (#DF), so the CPU shuts down (Intel SDM vol. 3A 6.15, interrupt 8). The VMM
 * must report the shutdown and exit with status 2; the test never passes
 * from inside. */
#include "rt.h"

void rt_ring0_hook(void)
{
	static const struct { uint16_t limit; uint64_t base; } __attribute__((packed)) null_idt = { 0, 0 };
	rt_puts("triple_fault: empty IDT, then ud2\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(null_idt));
}

void rt_main(void)
{
	rt_fail("still running after the triple fault");
}
