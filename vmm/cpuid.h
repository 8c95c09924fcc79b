/* The guest's CPUID table: from what KVM supports, apply a CPU model (host or
 * a conservative baseline), the -smp topology (leaves 1, 4, 0xb, 0x80000008,
 * 0x8000001e), the hypervisor bit and KVM's paravirtual leaves 0x40000000/1
 * (Intel SDM vol. 2A "CPUID"; AMD APM vol. 3 appendix E; Linux
 * Documentation/virt/kvm/x86/cpuid.rst). Pure functions: no KVM here. */
#ifndef VMM_CPUID_H
#define VMM_CPUID_H

#include <stdint.h>

/* Layout-compatible with the fields of struct kvm_cpuid_entry2 we use. */
struct cpuid_entry {
	uint32_t function, index, flags;   /* flags: CPUID_FLAG_SIGNIFICANT_INDEX */
	uint32_t eax, ebx, ecx, edx;
};
#define CPUID_FLAG_SIGNIFICANT_INDEX 1u

enum cpu_model {
	CPU_MODEL_HOST,      /* everything KVM supports */
	CPU_MODEL_BASELINE,  /* hides XSAVE, AVX*, BMI*, POPCNT, SSE4.x, ... */
};

/* "host" -> HOST; "baseline", "qemu64", "kvm64" -> BASELINE. 0 or -EINVAL. */
int cpuid_model_parse(const char *name, enum cpu_model *out);
/* Comma-separated list of accepted names, for error messages. */
const char *cpuid_model_names(void);

/* Removes the features the model hides, in place (drops leaf 0xd entirely
 * for the baseline). Returns the new number of entries. */
unsigned cpuid_apply_model(struct cpuid_entry *e, unsigned n, enum cpu_model model);

/* Sets the topology of vCPU `index` (APIC id == index) of `ncpus` (one
 * package, one thread per core), the hypervisor bit and the KVM leaves.
 * `e` has room for `cap` entries; leaves that are added (0x40000000/1) need
 * room. Returns the new count or -ENOSPC. */
int cpuid_set_vcpu(struct cpuid_entry *e, unsigned n, unsigned cap,
		   unsigned index, unsigned ncpus);

/* Entry for (function, index) or NULL; index is ignored for leaves
 * without CPUID_FLAG_SIGNIFICANT_INDEX. */
struct cpuid_entry *cpuid_find(struct cpuid_entry *e, unsigned n,
			       uint32_t function, uint32_t index);

#endif
