/* Unit tests for vmm/cpuid.c over a synthetic "everything supported" table:
 * the baseline model hides exactly the listed features, host hides nothing,
 * topology and the KVM paravirtual leaves are set per vCPU. No /dev/kvm. */
#include "tests/check.h"
#include "vmm/cpuid.h"

#include <errno.h>

#define B(n) (1u << (n))

static unsigned fill(struct cpuid_entry *e)
{
	unsigned n = 0;
	e[n++] = (struct cpuid_entry){ 0, 0, 0, 0xd, 0x68747541, 0x444d4163, 0x69746e65 };
	e[n++] = (struct cpuid_entry){ 1, 0, 0, 0x00a00f11, 0x00000800, 0xffffffffu & ~B(31), 0xffffffffu };
	e[n++] = (struct cpuid_entry){ 4, 0, CPUID_FLAG_SIGNIFICANT_INDEX, 0x121, 0, 0, 0 };   /* L1d */
	e[n++] = (struct cpuid_entry){ 4, 1, CPUID_FLAG_SIGNIFICANT_INDEX, 0x163, 0, 0, 0 };   /* L3 */
	e[n++] = (struct cpuid_entry){ 7, 0, CPUID_FLAG_SIGNIFICANT_INDEX, 1, 0xffffffffu, 0xffffffffu, 0xffffffffu };
	e[n++] = (struct cpuid_entry){ 7, 1, CPUID_FLAG_SIGNIFICANT_INDEX, 0xffffffffu, 0, 0, 0 };
	e[n++] = (struct cpuid_entry){ 0xb, 0, CPUID_FLAG_SIGNIFICANT_INDEX, 1, 2, 0x100, 7 };
	e[n++] = (struct cpuid_entry){ 0xb, 1, CPUID_FLAG_SIGNIFICANT_INDEX, 4, 16, 0x201, 7 };
	e[n++] = (struct cpuid_entry){ 0xb, 2, CPUID_FLAG_SIGNIFICANT_INDEX, 0, 0, 2, 7 };
	e[n++] = (struct cpuid_entry){ 0xd, 0, CPUID_FLAG_SIGNIFICANT_INDEX, 7, 0x340, 0x340, 0 };
	e[n++] = (struct cpuid_entry){ 0xd, 1, CPUID_FLAG_SIGNIFICANT_INDEX, 0xf, 0, 0, 0 };
	e[n++] = (struct cpuid_entry){ 0x40000001, 0, 0, 0x01007afb, 0, 0, 0 };
	e[n++] = (struct cpuid_entry){ 0x80000001, 0, 0, 0, 0, 0xffffffffu, 0xffffffffu };
	e[n++] = (struct cpuid_entry){ 0x80000008, 0, 0, 0x3030, 0, 0x700f, 0 };
	return n;
}

static void test_models(void)
{
	enum cpu_model m = CPU_MODEL_HOST;
	CHECK_EQ(cpuid_model_parse("baseline", &m), 0);
	CHECK_EQ(m, CPU_MODEL_BASELINE);
	CHECK_EQ(cpuid_model_parse("host", &m), 0);
	CHECK_EQ(m, CPU_MODEL_HOST);
	CHECK_EQ(cpuid_model_parse("qemu64", &m), 0);
	CHECK_EQ(m, CPU_MODEL_BASELINE);
	CHECK_EQ(cpuid_model_parse("kvm64", &m), 0);
	CHECK_EQ(m, CPU_MODEL_BASELINE);
	CHECK_EQ(cpuid_model_parse("Host", &m), -EINVAL);
	CHECK_EQ(cpuid_model_parse("", &m), -EINVAL);
}

static void test_host_keeps_everything(void)
{
	struct cpuid_entry e[32], orig[32];
	unsigned n = fill(e);
	memcpy(orig, e, sizeof(e));
	CHECK_EQ(cpuid_apply_model(e, n, CPU_MODEL_HOST), n);
	CHECK_MEM(e, orig, n * sizeof(e[0]));
}

static void test_baseline(void)
{
	struct cpuid_entry e[32];
	unsigned n0 = fill(e);
	unsigned n = cpuid_apply_model(e, n0, CPU_MODEL_BASELINE);
	CHECK_EQ(n, n0 - 2);                         /* both 0xd subleaves gone */
	CHECK(cpuid_find(e, n, 0xd, 0) == NULL);
	CHECK(cpuid_find(e, n, 0xd, 1) == NULL);

	struct cpuid_entry *l1 = cpuid_find(e, n, 1, 0);
	CHECK(l1 != NULL);
	if (l1) {
		const unsigned hidden[] = { 1, 9, 12, 19, 20, 22, 23, 25, 26, 27, 28, 29, 30 };
		for (unsigned i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
			CHECK_EQ(l1->ecx & B(hidden[i]), 0);
		CHECK(l1->ecx & B(0));       /* SSE3 stays */
		CHECK(l1->ecx & B(13));      /* CMPXCHG16B stays */
		CHECK(l1->ecx & B(21));      /* x2APIC stays */
		CHECK_EQ(l1->edx, 0xffffffffu);   /* SSE/SSE2/... stay */
	}
	struct cpuid_entry *l7 = cpuid_find(e, n, 7, 0);
	CHECK(l7 != NULL);
	if (l7) {
		/* FSGSBASE BMI1 AVX2 SMEP BMI2 ERMS INVPCID AVX512F/DQ RDSEED ADX SMAP SHA ... */
		const unsigned ebx[] = { 0, 3, 5, 7, 8, 9, 10, 16, 17, 18, 19, 20, 21, 26, 27, 28, 29, 30, 31 };
		for (unsigned i = 0; i < sizeof(ebx) / sizeof(ebx[0]); i++)
			CHECK_EQ(l7->ebx & B(ebx[i]), 0);
		CHECK(l7->ebx & B(1));       /* TSC_ADJUST stays */
		CHECK_EQ(l7->ecx & (B(2) | B(3) | B(16) | B(22)), 0);   /* UMIP PKU LA57 RDPID */
		CHECK_EQ(l7->edx & B(4), 0);                            /* FSRM */
		CHECK_EQ(l7->eax, 1);
	}
	struct cpuid_entry *l71 = cpuid_find(e, n, 7, 1);
	CHECK(l71 && (l71->eax & (B(4) | B(5))) == 0);
	struct cpuid_entry *x1 = cpuid_find(e, n, 0x80000001, 0);
	CHECK(x1 != NULL);
	if (x1) {
		CHECK_EQ(x1->ecx & B(5), 0);   /* ABM/LZCNT */
		CHECK(x1->ecx & B(0));         /* LAHF_LM stays */
		CHECK(x1->edx & B(29));        /* LM stays */
	}
	/* order preserved and untouched leaves identical */
	CHECK_EQ(e[0].function, 0);
	CHECK_EQ(e[0].ebx, 0x68747541);
}

static void test_topology(void)
{
	struct cpuid_entry e[32];
	unsigned n = fill(e);
	int r = cpuid_set_vcpu(e, n, 32, 2, 3);
	CHECK_EQ(r, (int)n + 1);          /* 0x40000000 added, 0x40000001 existed */
	unsigned m = r > 0 ? (unsigned)r : 0;
	struct cpuid_entry *l1 = cpuid_find(e, m, 1, 0);
	CHECK(l1 && (l1->ebx >> 24) == 2);                  /* APIC id */
	CHECK(l1 && ((l1->ebx >> 16) & 0xff) == 4);         /* logical count, pow2 */
	CHECK(l1 && (l1->ebx & 0xffff) == 0x0800);          /* CLFLUSH size kept */
	CHECK(l1 && (l1->ecx & B(31)));                     /* hypervisor */
	CHECK(l1 && (l1->edx & B(28)));                     /* HTT with >1 CPU */
	struct cpuid_entry *c4 = cpuid_find(e, m, 4, 0);
	CHECK(c4 && (c4->eax >> 26) == 3);
	CHECK(c4 && ((c4->eax >> 14) & 0xfff) == 0);        /* L1 per core */
	struct cpuid_entry *c43 = cpuid_find(e, m, 4, 1);
	CHECK(c43 && ((c43->eax >> 14) & 0xfff) == 3);      /* L3 shared */
	struct cpuid_entry *b0 = cpuid_find(e, m, 0xb, 0), *b1 = cpuid_find(e, m, 0xb, 1),
			   *b2 = cpuid_find(e, m, 0xb, 2);
	CHECK(b0 && b0->eax == 0 && b0->ebx == 1 && b0->ecx == 0x100 && b0->edx == 2);
	CHECK(b1 && b1->eax == 2 && b1->ebx == 3 && b1->ecx == 0x201 && b1->edx == 2);
	CHECK(b2 && b2->eax == 0 && b2->ebx == 0 && b2->ecx == 2 && b2->edx == 2);
	struct cpuid_entry *x8 = cpuid_find(e, m, 0x80000008, 0);
	CHECK(x8 && (x8->ecx & 0xff) == 2 && ((x8->ecx >> 12) & 0xf) == 2);
	struct cpuid_entry *k0 = cpuid_find(e, m, 0x40000000, 0);
	CHECK(k0 != NULL);
	if (k0) {
		char sig[13] = { 0 };
		memcpy(sig, &k0->ebx, 4);
		memcpy(sig + 4, &k0->ecx, 4);
		memcpy(sig + 8, &k0->edx, 4);
		CHECK_STR(sig, "KVMKVMKVM");
		CHECK_EQ(k0->eax, 0x40000001);
	}
	struct cpuid_entry *k1 = cpuid_find(e, m, 0x40000001, 0);
	CHECK(k1 && k1->eax == 0x01007afb);

	/* single CPU: no HTT, count 1 */
	n = fill(e);
	r = cpuid_set_vcpu(e, n, 32, 0, 1);
	l1 = cpuid_find(e, (unsigned)r, 1, 0);
	CHECK(l1 && (l1->edx & B(28)) == 0 && ((l1->ebx >> 16) & 0xff) == 1 && (l1->ebx >> 24) == 0);

	/* no room for the KVM leaves */
	n = fill(e);
	CHECK_EQ(cpuid_set_vcpu(e, n, n, 0, 1), -ENOSPC);
}

int main(void)
{
	test_models();
	test_host_keeps_everything();
	test_baseline();
	test_topology();
	return check_done();
}
