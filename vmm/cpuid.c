/* CPU models, topology and paravirtual leaves over a plain CPUID array; see
 * cpuid.h. The baseline model exists because hosts whose guest kernel mode is
 * emulated fail on newer instructions a kernel picks from CPUID
 * (shared/HOST-KVM.md); bit positions per Intel SDM vol. 2A table 3-8/3-10.
 * Measured on the PVM build hosts: KVM_SET_CPUID2 only controls the bits that
 * KVM_GET_SUPPORTED_CPUID reports there; the others (SSE4.x, AVX2, BMI, ...)
 * reach the guest from the host CPU, so the baseline cannot hide them there. */
#include "vmm/cpuid.h"

#include <errno.h>
#include <string.h>

#define BIT(n) (1u << (n))

/* Leaf 1 ECX */
#define L1_ECX_HIDE (BIT(1) /* PCLMULQDQ */ | BIT(9) /* SSSE3 */ | BIT(12) /* FMA */ | \
		     BIT(19) /* SSE4.1 */ | BIT(20) /* SSE4.2 */ | BIT(22) /* MOVBE */ | \
		     BIT(23) /* POPCNT */ | BIT(25) /* AES */ | BIT(26) /* XSAVE */ | \
		     BIT(27) /* OSXSAVE */ | BIT(28) /* AVX */ | BIT(29) /* F16C */ | \
		     BIT(30) /* RDRAND */)
#define L1_ECX_HYPERVISOR BIT(31)
#define L1_EDX_HTT BIT(28)
/* Leaf 7.0 EBX */
#define L7_EBX_HIDE (BIT(0) /* FSGSBASE */ | BIT(3) /* BMI1 */ | BIT(5) /* AVX2 */ | \
		     BIT(7) /* SMEP */ | BIT(8) /* BMI2 */ | BIT(9) /* ERMS */ | \
		     BIT(10) /* INVPCID */ | BIT(16) /* AVX512F */ | BIT(17) /* AVX512DQ */ | \
		     BIT(18) /* RDSEED */ | BIT(19) /* ADX */ | BIT(20) /* SMAP */ | \
		     BIT(21) /* AVX512IFMA */ | BIT(26) /* AVX512PF */ | BIT(27) /* AVX512ER */ | \
		     BIT(28) /* AVX512CD */ | BIT(29) /* SHA */ | BIT(30) /* AVX512BW */ | \
		     BIT(31) /* AVX512VL */)
/* Leaf 7.0 ECX */
#define L7_ECX_HIDE (BIT(1) /* AVX512VBMI */ | BIT(2) /* UMIP */ | BIT(3) /* PKU */ | \
		     BIT(4) /* OSPKE */ | BIT(6) /* AVX512VBMI2 */ | BIT(8) /* GFNI */ | \
		     BIT(9) /* VAES */ | BIT(10) /* VPCLMULQDQ */ | BIT(11) /* AVX512VNNI */ | \
		     BIT(12) /* AVX512BITALG */ | BIT(14) /* AVX512VPOPCNTDQ */ | \
		     BIT(16) /* LA57 */ | BIT(22) /* RDPID */)
/* Leaf 7.0 EDX */
#define L7_EDX_HIDE (BIT(2) /* AVX512_4VNNIW */ | BIT(3) /* AVX512_4FMAPS */ | \
		     BIT(4) /* FSRM */ | BIT(8) /* AVX512_VP2INTERSECT */ | \
		     BIT(22) /* AMX-BF16 */ | BIT(23) /* AVX512_FP16 */ | \
		     BIT(24) /* AMX-TILE */ | BIT(25) /* AMX-INT8 */)
/* Leaf 7.1 EAX */
#define L71_EAX_HIDE (BIT(4) /* AVX-VNNI */ | BIT(5) /* AVX512_BF16 */)
/* Leaf 0x80000001 ECX */
#define LX1_ECX_HIDE (BIT(5) /* ABM/LZCNT */ | BIT(6) /* SSE4A */ | BIT(11) /* XOP */ | \
		      BIT(16) /* FMA4 */ | BIT(21) /* TBM */)

static const struct {
	const char *name;
	enum cpu_model model;
} models[] = {
	{ "host", CPU_MODEL_HOST },
	{ "baseline", CPU_MODEL_BASELINE },
	{ "qemu64", CPU_MODEL_BASELINE },
	{ "kvm64", CPU_MODEL_BASELINE },
};

int cpuid_model_parse(const char *name, enum cpu_model *out)
{
	for (unsigned i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (strcmp(name, models[i].name) == 0) {
			*out = models[i].model;
			return 0;
		}
	return -EINVAL;
}

const char *cpuid_model_names(void)
{
	return "host, baseline, qemu64, kvm64";
}

struct cpuid_entry *cpuid_find(struct cpuid_entry *e, unsigned n,
			       uint32_t function, uint32_t index)
{
	for (unsigned i = 0; i < n; i++)
		if (e[i].function == function &&
		    (!(e[i].flags & CPUID_FLAG_SIGNIFICANT_INDEX) || e[i].index == index))
			return &e[i];
	return NULL;
}

unsigned cpuid_apply_model(struct cpuid_entry *e, unsigned n, enum cpu_model model)
{
	if (model == CPU_MODEL_HOST)
		return n;
	unsigned out = 0;
	for (unsigned i = 0; i < n; i++) {
		struct cpuid_entry c = e[i];
		switch (c.function) {
		case 0xd:       /* XSAVE state enumeration: no XSAVE, no leaf */
			continue;
		case 1:
			c.ecx &= ~L1_ECX_HIDE;
			break;
		case 7:
			if (c.index == 0) {
				c.ebx &= ~L7_EBX_HIDE;
				c.ecx &= ~L7_ECX_HIDE;
				c.edx &= ~L7_EDX_HIDE;
			} else if (c.index == 1) {
				c.eax &= ~L71_EAX_HIDE;
			}
			break;
		case 0x80000001:
			c.ecx &= ~LX1_ECX_HIDE;
			break;
		default:
			break;
		}
		e[out++] = c;
	}
	return out;
}

static unsigned order_base2(unsigned n)
{
	unsigned s = 0;
	while ((1u << s) < n)
		s++;
	return s;
}

/* Leaf fn (index 0), appended zeroed at e[*n] when absent; NULL when the
 * table is full (cap entries). */
static struct cpuid_entry *find_or_add(struct cpuid_entry *e, unsigned *n, unsigned cap,
				       uint32_t fn)
{
	struct cpuid_entry *c = cpuid_find(e, *n, fn, 0);

	if (c)
		return c;
	if (*n >= cap)
		return NULL;
	c = &e[(*n)++];
	memset(c, 0, sizeof(*c));
	c->function = fn;
	return c;
}

int cpuid_set_vcpu(struct cpuid_entry *e, unsigned n, unsigned cap,
		   unsigned index, unsigned ncpus)
{
	unsigned shift = order_base2(ncpus);
	struct cpuid_entry *c;

	for (unsigned i = 0; i < n; i++) {
		c = &e[i];
		switch (c->function) {
		case 1:
			c->ebx = (c->ebx & 0x0000ffffu) | (index << 24) | ((1u << shift) << 16);
			c->ecx |= L1_ECX_HYPERVISOR;
			if (ncpus > 1)
				c->edx |= L1_EDX_HTT;
			else
				c->edx &= ~L1_EDX_HTT;
			break;
		case 4:         /* deterministic cache parameters (Intel) */
			if ((c->eax & 0x1f) == 0)
				break;
			c->eax &= 0x3fffu;
			c->eax |= ((1u << shift) - 1) << 26;
			/* L3 (level 3) is shared by the package, L1/L2 per core */
			if (((c->eax >> 5) & 7) == 3)
				c->eax |= ((1u << shift) - 1) << 14;
			break;
		case 0xb:       /* x2APIC topology: SMT level, core level, end */
		case 0x1f:
			c->edx = index;
			if (c->index == 0) {
				c->eax = 0;
				c->ebx = 1;
				c->ecx = (1u << 8) | 0;
			} else if (c->index == 1) {
				c->eax = shift;
				c->ebx = ncpus;
				c->ecx = (2u << 8) | 1;
			} else {
				c->eax = 0;
				c->ebx = 0;
				c->ecx = c->index & 0xff;
			}
			break;
		case 0x80000008:        /* AMD: NC = cores - 1, ApicIdSize */
			c->ecx = (c->ecx & ~0xf0ffu) | (shift << 12) | (ncpus - 1);
			break;
		case 0x8000001e:        /* AMD topology extensions */
			c->eax = index;
			c->ebx = (c->ebx & ~0xffffu) | (index & 0xff);
			c->ecx &= ~0x7ffu;
			break;
		default:
			break;
		}
	}

	/* KVM paravirtual leaves: signature and max leaf, then features. */
	static const char sig[12] = "KVMKVMKVM\0\0\0";
	uint32_t features = 0;
	c = cpuid_find(e, n, 0x40000001, 0);
	if (c)
		features = c->eax;
	c = find_or_add(e, &n, cap, 0x40000000);
	if (!c)
		return -ENOSPC;
	c->eax = 0x40000001;
	memcpy(&c->ebx, sig, 4);
	memcpy(&c->ecx, sig + 4, 4);
	memcpy(&c->edx, sig + 8, 4);
	c = find_or_add(e, &n, cap, 0x40000001);
	if (!c)
		return -ENOSPC;
	c->eax = features;
	c->ebx = c->ecx = c->edx = 0;
	return (int)n;
}
