/* smp: finds the CPUs in the ACPI MADT (ACPI 6.4 5.2.5 RSDP, 5.2.12 MADT) or
 * else the MP table (MP spec 1.4 chapter 4), starts every AP with
 * INIT-SIPI-SIPI (rt_start_ap), each AP reaches ring 3 and checks in with
 * lock xadd, then all CPUs hammer one counter with locked adds.
 * -append cpus=N: exactly N CPUs must be found and come online. */
#include "rt.h"

#define ADDS_PER_CPU 100000u

static uint32_t apic_ids[RT_MAX_CPUS];
static unsigned ncpus;
static volatile uint32_t online, go, done;
static volatile uint64_t counter;

static int sum8(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s;
}

static const uint8_t *scan(uint64_t start, uint64_t len, const char *sig, size_t chklen)
{
	size_t sl = strlen(sig);
	for (uint64_t a = start; a + 16 <= start + len; a += 16) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)a;
		if (memcmp(p, sig, sl) == 0 && sum8(p, chklen) == 0)
			return p;
	}
	return NULL;
}

/* sig in the first KiB of the EBDA (its segment at 0x40e), where both the
 * RSDP (ACPI 5.2.5.1) and the MP floating pointer (MP 1.4 4.1) may be. */
static const uint8_t *scan_ebda(const char *sig, size_t chklen)
{
	uint64_t ebda = (uint64_t)mmio_read16(0x40e) << 4;
	return ebda >= 0x80000 && ebda < 0xa0000 ? scan(ebda, 1024, sig, chklen) : NULL;
}

static void add_cpu(uint32_t id)
{
	if (ncpus < RT_MAX_CPUS)
		apic_ids[ncpus] = id;
	ncpus++;
}

static int cpus_from_madt(void)
{
	const uint8_t *rsdp = scan_ebda("RSD PTR ", 20);
	if (!rsdp)
		rsdp = scan(0xe0000, 0x20000, "RSD PTR ", 20);
	if (!rsdp)
		return -1;
	uint64_t sdt;
	unsigned esz;
	if (rsdp[15] >= 2 && *(const uint64_t *)(rsdp + 24)) {
		sdt = *(const uint64_t *)(rsdp + 24);
		esz = 8;
	} else {
		sdt = *(const uint32_t *)(rsdp + 16);
		esz = 4;
	}
	if (!sdt || sdt >= 0x100000000ull)
		return -1;
	const uint8_t *t = (const uint8_t *)(uintptr_t)sdt;
	uint32_t tlen = *(const uint32_t *)(t + 4);
	rt_printf("acpi: RSDP at %p, %s at 0x%llx\n", rsdp, esz == 8 ? "XSDT" : "RSDT",
		  (unsigned long long)sdt);
	for (uint32_t o = 36; o + esz <= tlen && o < 4096; o += esz) {
		uint64_t a = esz == 8 ? *(const uint64_t *)(t + o) : *(const uint32_t *)(t + o);
		if (!a || a >= 0x100000000ull)
			continue;
		const uint8_t *m = (const uint8_t *)(uintptr_t)a;
		if (memcmp(m, "APIC", 4) != 0)
			continue;
		uint32_t mlen = *(const uint32_t *)(m + 4);
		RT_CHECK(mlen >= 44 && mlen < 65536);
		RT_CHECK(sum8(m, mlen) == 0);
		for (uint32_t e = 44; e + 2 <= mlen && m[e + 1] >= 2; e += m[e + 1]) {
			if (m[e] == 0 && m[e + 1] >= 8 && (*(const uint32_t *)(m + e + 4) & 1))
				add_cpu(m[e + 3]);
			else if (m[e] == 9 && m[e + 1] >= 16 && (*(const uint32_t *)(m + e + 8) & 1))
				add_cpu(*(const uint32_t *)(m + e + 4));
		}
		return 0;
	}
	return -1;
}

static int cpus_from_mptable(void)
{
	const uint8_t *fp = scan_ebda("_MP_", 16);
	if (!fp)
		fp = scan(0x9fc00, 1024, "_MP_", 16);
	if (!fp)
		fp = scan(0xf0000, 0x10000, "_MP_", 16);
	if (!fp)
		return -1;
	uint32_t ct = *(const uint32_t *)(fp + 4);
	if (!ct)
		return -1;
	const uint8_t *c = (const uint8_t *)(uintptr_t)ct;
	RT_CHECK(memcmp(c, "PCMP", 4) == 0);
	uint16_t len = *(const uint16_t *)(c + 4), count = *(const uint16_t *)(c + 34);
	RT_CHECK(sum8(c, len) == 0);
	rt_printf("mptable: at 0x%x, %u entries\n", ct, count);
	uint32_t o = 44;
	for (unsigned i = 0; i < count && o < len; i++) {
		if (c[o] == 0) {
			if (c[o + 3] & 1)
				add_cpu(c[o + 1]);
			o += 20;
		} else {
			o += 8;
		}
	}
	return 0;
}

static void count_up(void)
{
	while (!go)
		rt_pause();
	for (unsigned i = 0; i < ADDS_PER_CPU; i++)
		__atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);   /* lock add */
	__atomic_fetch_add(&done, 1, __ATOMIC_RELEASE);
}

static void ap_main(unsigned cpu)
{
	RT_CHECK(rt_cpl() == 3);
	if (rt_lapic_id() != apic_ids[cpu])
		rt_fail("cpu %u: LAPIC id %u, the tables said %u", cpu, rt_lapic_id(), apic_ids[cpu]);
	uint32_t n = __atomic_fetch_add(&online, 1, __ATOMIC_SEQ_CST);   /* lock xadd */
	rt_printf("cpu %u online (apic id %u, %u before it)\n", cpu, apic_ids[cpu], n);
	count_up();
}

void rt_main(void)
{
	const char *want = rt_cmdline_arg("cpus");
	if (cpus_from_madt() < 0) {
		rt_puts("acpi: no MADT, trying the MP table\n");
		if (cpus_from_mptable() < 0)
			rt_fail("found neither an ACPI MADT nor an MP table");
	}
	rt_printf("found %u cpus\n", ncpus);
	RT_CHECK(ncpus >= 1 && ncpus <= RT_MAX_CPUS);
	if (want)
		RT_CHECK_EQ(ncpus, rt_strtoull(want, NULL));

	unsigned bsp = rt_lapic_id(), idx = 1, bsp_found = 0;
	uint32_t ids[RT_MAX_CPUS];
	memcpy(ids, apic_ids, sizeof(ids));
	apic_ids[0] = bsp;
	for (unsigned i = 0; i < ncpus; i++) {
		if (ids[i] == bsp)
			bsp_found = 1;
		else if (idx < ncpus)
			apic_ids[idx++] = ids[i];
	}
	if (!bsp_found)
		rt_fail("BSP LAPIC id %u is not in the tables", bsp);
	uint32_t n = __atomic_fetch_add(&online, 1, __ATOMIC_SEQ_CST);
	rt_printf("cpu 0 online (apic id %u, %u before it)\n", bsp, n);

	for (unsigned cpu = 1; cpu < ncpus; cpu++) {
		int r = rt_start_ap(apic_ids[cpu], cpu, ap_main);
		if (r)
			rt_fail("cpu %u (apic id %u) did not reach ring 3: %d", cpu, apic_ids[cpu], r);
	}
	uint64_t t0 = rt_rdtsc();
	while (online != ncpus) {
		if (rt_rdtsc() - t0 > 30000000000ull)
			rt_fail("only %u of %u cpus checked in", online, ncpus);
		rt_pause();
	}
	rt_printf("all %u cpus online\n", ncpus);
	go = 1;
	count_up();
	t0 = rt_rdtsc();
	while (done != ncpus) {
		if (rt_rdtsc() - t0 > 60000000000ull)
			rt_fail("only %u of %u cpus finished counting", done, ncpus);
		rt_pause();
	}
	RT_CHECK_EQ(counter, (uint64_t)ncpus * ADDS_PER_CPU);
	rt_printf("counter %llu = %u cpus x %u locked adds\n", (unsigned long long)counter,
		  ncpus, ADDS_PER_CPU);
	rt_pass();
}
