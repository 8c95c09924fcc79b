/* TSC frequency for the ring-3 benchmark guests (virtio_blk_bench.c,
 * bench/guests/exit_path.c): counted between two ticks of the CMOS RTC's
 * seconds register (MC146818: register 0x0a bit 7 is update-in-progress),
 * which vmm and QEMU both emulate from host time. Takes one to two seconds. */
#ifndef VMM_GUEST_BENCH_CLOCK_H
#define VMM_GUEST_BENCH_CLOCK_H

#include "rt.h"

static inline uint8_t bench_cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

/* Waits for the RTC's seconds to change and returns the TSC then. */
static inline uint64_t bench_next_second(void)
{
	uint8_t s0;

	while (bench_cmos(0x0a) & 0x80)
		;
	s0 = bench_cmos(0x00);
	for (;;) {
		while (bench_cmos(0x0a) & 0x80)
			;
		if (bench_cmos(0x00) != s0)
			return rt_rdtsc();
	}
}

/* TSC ticks per second. */
static inline uint64_t bench_tsc_hz(void)
{
	uint64_t t0 = bench_next_second();

	return bench_next_second() - t0;
}

/* A decimal or 0x number from the command line's key=, or def. */
static inline unsigned long bench_arg(const char *key, unsigned long def)
{
	const char *v = rt_cmdline_arg(key);

	return v && *v ? (unsigned long)rt_strtoull(v, NULL) : def;
}

#endif
