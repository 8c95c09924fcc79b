/* Exit-path benchmark guest (issue 8): from ring 3, n port-I/O writes to the
 * 16550 scratch register (COM1 + 7, no side effect in vmm and QEMU), n MMIO
 * reads of a virtio-pci common-config register (num_queues, virtio 1.2
 * section 4.1.4.3) of the first virtio-rng-pci function, and n CPUIDs (handled
 * inside KVM: the cost of a guest exit that never reaches the VMM). Timed with
 * the TSC, calibrated against the CMOS RTC (bench_clock.h). Command line:
 * n=<count per phase> (default 1000000). Prints "EXIT tsc_hz=<hz>", one line
 * "EXIT <phase> n=<n> ticks=<tsc ticks>" per phase and "EXIT done";
 * bench/exit_path.py parses them. */
#include "rt.h"
#include "vdrv.h"
#include "bench_clock.h"

#define SCRATCH_PORT (RT_COM1 + 7)
#define VIRTIO_ID_RNG 4
#define COMMON_NUM_QUEUES 0x12

static void report(const char *phase, unsigned long n, uint64_t ticks)
{
	rt_printf("EXIT %s n=%lu ticks=%llu\n", phase, n, (unsigned long long)ticks);
}

static void bench_pio(unsigned long n)
{
	uint64_t t0 = rt_rdtsc(), t1;

	for (unsigned long i = 0; i < n; i++)
		outb(SCRATCH_PORT, (uint8_t)i);
	t1 = rt_rdtsc();
	/* The register kept the last value: the writes reached the device. */
	RT_CHECK_EQ(inb(SCRATCH_PORT), (uint8_t)(n - 1));
	report("pio", n, t1 - t0);
}

static void bench_mmio(unsigned long n)
{
	struct vdrv_dev d;
	int slot = vdrv_find(VIRTIO_ID_RNG, 0), ret;
	uint64_t pa, t0, t1;
	uint16_t want, bad = 0;

	if (slot < 0)
		rt_fail("no virtio-rng-pci function on bus 0 (-device virtio-rng-pci)");
	ret = vdrv_init(&d, (unsigned)slot, 0);
	if (ret)
		rt_fail("virtio-rng init: step %d", ret);
	pa = (uint64_t)(uintptr_t)(d.common + COMMON_NUM_QUEUES);
	want = mmio_read16(pa);
	RT_CHECK(want >= 1);
	t0 = rt_rdtsc();
	for (unsigned long i = 0; i < n; i++)
		bad |= mmio_read16(pa) ^ want;
	t1 = rt_rdtsc();
	RT_CHECK_EQ(bad, 0);
	report("mmio", n, t1 - t0);
}

static void bench_cpuid(unsigned long n)
{
	uint32_t r[4];
	uint64_t t0 = rt_rdtsc(), t1;

	for (unsigned long i = 0; i < n; i++)
		rt_cpuid(0, 0, r);
	t1 = rt_rdtsc();
	RT_CHECK(r[0] >= 1);
	report("cpuid", n, t1 - t0);
}

void rt_main(void)
{
	unsigned long n = bench_arg("n", 1000000);

	if (n < 1)
		rt_fail("n=%lu", n);
	rt_printf("EXIT tsc_hz=%llu\n", (unsigned long long)bench_tsc_hz());
	bench_pio(n);
	bench_mmio(n);
	bench_cpuid(n);
	rt_printf("EXIT done\n");
	rt_pass();
}
