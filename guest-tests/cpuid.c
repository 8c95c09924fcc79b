/* cpuid: prints what the CPU model shows the guest (vendor, family/model,
 * the feature bits below, topology; Intel SDM vol. 2A CPUID tables 3-8..3-10,
 * AMD APM vol. 3 E.4) and checks what the command line asks:
 *   absent=f1,f2  present=f3  cpus=N (leaf 0xB level 1, or leaf 1 EBX[23:16])
 *   kvm.<leaf>.<reg>=0xVAL  (KVM_GET_SUPPORTED_CPUID, from the harness):
 *   every checkable feature of that register is present iff KVM supports it. */
#include "rt.h"

enum { EAX, EBX, ECX, EDX };

struct feat {
	const char *name;
	uint32_t leaf, sub;
	uint8_t reg, bit;
	uint8_t dynamic;        /* set by the VMM or the guest's own CR4, not KVM */
};

static const struct feat feats[] = {
	{ "fpu", 1, 0, EDX, 0, 0 }, { "tsc", 1, 0, EDX, 4, 0 }, { "msr", 1, 0, EDX, 5, 0 },
	{ "pae", 1, 0, EDX, 6, 0 }, { "cx8", 1, 0, EDX, 8, 0 }, { "apic", 1, 0, EDX, 9, 1 },
	{ "cmov", 1, 0, EDX, 15, 0 }, { "clflush", 1, 0, EDX, 19, 0 }, { "mmx", 1, 0, EDX, 23, 0 },
	{ "fxsr", 1, 0, EDX, 24, 0 }, { "sse", 1, 0, EDX, 25, 0 }, { "sse2", 1, 0, EDX, 26, 0 },
	{ "htt", 1, 0, EDX, 28, 1 },
	{ "sse3", 1, 0, ECX, 0, 0 }, { "pclmulqdq", 1, 0, ECX, 1, 0 }, { "ssse3", 1, 0, ECX, 9, 0 },
	{ "fma", 1, 0, ECX, 12, 0 }, { "cx16", 1, 0, ECX, 13, 0 }, { "sse4_1", 1, 0, ECX, 19, 0 },
	{ "sse4_2", 1, 0, ECX, 20, 0 }, { "x2apic", 1, 0, ECX, 21, 1 }, { "movbe", 1, 0, ECX, 22, 0 },
	{ "popcnt", 1, 0, ECX, 23, 0 }, { "aes", 1, 0, ECX, 25, 0 }, { "xsave", 1, 0, ECX, 26, 0 },
	{ "osxsave", 1, 0, ECX, 27, 1 }, { "avx", 1, 0, ECX, 28, 0 }, { "f16c", 1, 0, ECX, 29, 0 },
	{ "rdrand", 1, 0, ECX, 30, 0 }, { "hypervisor", 1, 0, ECX, 31, 1 },
	{ "fsgsbase", 7, 0, EBX, 0, 0 }, { "bmi1", 7, 0, EBX, 3, 0 }, { "avx2", 7, 0, EBX, 5, 0 },
	{ "smep", 7, 0, EBX, 7, 0 }, { "bmi2", 7, 0, EBX, 8, 0 }, { "erms", 7, 0, EBX, 9, 0 },
	{ "invpcid", 7, 0, EBX, 10, 0 }, { "avx512f", 7, 0, EBX, 16, 0 }, { "rdseed", 7, 0, EBX, 18, 0 },
	{ "adx", 7, 0, EBX, 19, 0 }, { "smap", 7, 0, EBX, 20, 0 }, { "sha_ni", 7, 0, EBX, 29, 0 },
	{ "umip", 7, 0, ECX, 2, 0 }, { "pku", 7, 0, ECX, 3, 0 }, { "ospke", 7, 0, ECX, 4, 1 },
	{ "fsrm", 7, 0, EDX, 4, 0 },
	{ "lahf_lm", 0x80000001, 0, ECX, 0, 0 }, { "abm", 0x80000001, 0, ECX, 5, 0 },
	{ "sse4a", 0x80000001, 0, ECX, 6, 0 }, { "syscall", 0x80000001, 0, EDX, 11, 0 },
	{ "nx", 0x80000001, 0, EDX, 20, 0 }, { "pdpe1gb", 0x80000001, 0, EDX, 26, 0 },
	{ "rdtscp", 0x80000001, 0, EDX, 27, 0 }, { "lm", 0x80000001, 0, EDX, 29, 0 },
};
#define NFEATS (sizeof(feats) / sizeof(feats[0]))

static uint32_t max_basic, max_ext;
static const char regname[4] = { 'a', 'b', 'c', 'd' };

static uint32_t reg_of(uint32_t leaf, uint32_t sub, unsigned reg)
{
	uint32_t r[4] = { 0, 0, 0, 0 };
	if ((leaf < 0x80000000u && leaf <= max_basic) || (leaf >= 0x80000000u && leaf <= max_ext))
		rt_cpuid(leaf, sub, r);
	return r[reg];
}

static int has(const struct feat *f)
{
	return (reg_of(f->leaf, f->sub, f->reg) >> f->bit) & 1;
}

static const struct feat *lookup(const char *name, size_t len)
{
	for (unsigned i = 0; i < NFEATS; i++)
		if (strlen(feats[i].name) == len && strncmp(feats[i].name, name, len) == 0)
			return &feats[i];
	rt_fail("unknown feature '%.*s'", (int)len, name);
}

/* Checks every name of a comma list is present (want=1) or absent (want=0). */
static unsigned check_list(const char *list, int want)
{
	unsigned bad = 0;
	while (list && *list) {
		const char *c = strchr(list, ',');
		size_t len = c ? (size_t)(c - list) : strlen(list);
		const struct feat *f = lookup(list, len);
		if (has(f) != want) {
			rt_printf("feature %s is %s, expected %s\n", f->name, want ? "absent" : "present",
				  want ? "present" : "absent");
			bad++;
		}
		list = c ? c + 1 : NULL;
	}
	return bad;
}

/* kvm.<leaf hex>.<reg letter>=<value>: compares the checkable bits. */
static unsigned check_supported(void)
{
	unsigned bad = 0, checked = 0;
	char key[32];
	static const uint32_t leaves[] = { 1, 7, 0x80000001 };
	for (unsigned l = 0; l < 3; l++)
		for (unsigned reg = 0; reg < 4; reg++) {
			rt_snprintf(key, sizeof(key), "kvm.%x.%c", leaves[l], regname[reg]);
			const char *v = rt_cmdline_arg(key);
			if (!v)
				continue;
			uint32_t sup = (uint32_t)rt_strtoull(v, NULL);
			for (unsigned i = 0; i < NFEATS; i++) {
				const struct feat *f = &feats[i];
				if (f->leaf != leaves[l] || f->reg != reg || f->dynamic)
					continue;
				checked++;
				int s = (sup >> f->bit) & 1;
				if (has(f) != s) {
					rt_printf("feature %s: guest %d, KVM_GET_SUPPORTED_CPUID %d\n",
						  f->name, has(f), s);
					bad++;
				}
			}
		}
	if (checked)
		rt_printf("checked %u features against KVM_GET_SUPPORTED_CPUID\n", checked);
	return bad;
}

void rt_main(void)
{
	uint32_t r[4];
	char vendor[13];
	rt_cpuid(0, 0, r);
	max_basic = r[0];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	rt_cpuid(0x80000000u, 0, r);
	max_ext = r[0] >= 0x80000000u && r[0] < 0x8000ffffu ? r[0] : 0;
	uint32_t sig = reg_of(1, 0, EAX);
	unsigned fam = (sig >> 8) & 0xf, model = (sig >> 4) & 0xf;
	if (fam == 0xf)
		fam += (sig >> 20) & 0xff;
	if (fam >= 6)
		model |= ((sig >> 16) & 0xf) << 4;
	rt_printf("vendor %s max leaf 0x%x ext 0x%x family %u model %u stepping %u\n",
		  vendor, max_basic, max_ext, fam, model, sig & 0xf);

	char hv[13] = "";
	rt_cpuid(0x40000000u, 0, r);
	memcpy(hv, &r[1], 4);
	memcpy(hv + 4, &r[2], 4);
	memcpy(hv + 8, &r[3], 4);
	hv[12] = 0;
	for (int i = 0; i < 12; i++)
		if (hv[i] && (hv[i] < 0x20 || hv[i] > 0x7e))
			hv[i] = '?';
	rt_printf("hypervisor signature \"%s\"\n", hv);

	rt_puts("features:");
	for (unsigned i = 0; i < NFEATS; i++)
		if (has(&feats[i]))
			rt_printf(" %s", feats[i].name);
	rt_puts("\nabsent:");
	for (unsigned i = 0; i < NFEATS; i++)
		if (!has(&feats[i]))
			rt_printf(" %s", feats[i].name);
	rt_puts("\n");

	unsigned leaf1 = (reg_of(1, 0, EBX) >> 16) & 0xff;
	unsigned leafb = max_basic >= 0xb ? reg_of(0xb, 1, EBX) & 0xffff : 0;
	unsigned apic = reg_of(1, 0, EBX) >> 24;
	rt_printf("topology: leaf1 logical=%u leafB logical=%u apic id=%u\n", leaf1, leafb, apic);

	unsigned bad = check_list(rt_cmdline_arg("absent"), 0);
	bad += check_list(rt_cmdline_arg("present"), 1);
	bad += check_supported();
	const char *cpus = rt_cmdline_arg("cpus");
	if (cpus) {
		unsigned n = (unsigned)rt_strtoull(cpus, NULL);
		/* leaf 0xB is exact; leaf 1 counts addressable IDs (a power of two >= N) */
		unsigned got = leafb ? leafb : leaf1;
		if (leafb ? got != n : got < n) {
			rt_printf("topology reports %u logical processors, expected %u\n", got, n);
			bad++;
		} else {
			rt_printf("cpus: %u\n", n);
		}
	}
	if (bad)
		rt_fail("%u CPUID expectations not met", bad);
	rt_pass();
}
