/* Intel MultiProcessor Specification 1.4 tables (chapter 4): floating pointer
 * and configuration table in the EBDA (boot/layout.h), one processor entry
 * per vCPU, the ISA bus, the IOAPIC and ISA interrupt assignments. */
#ifndef VMM_BOOT_MPTABLE_H
#define VMM_BOOT_MPTABLE_H

struct guest_memory;

/* The floating pointer is at LAYOUT_EBDA_START; the configuration table
 * follows it in the EBDA while it fits (up to 40 CPUs), else it goes to
 * LAYOUT_MPTABLE_HIGH. APIC IDs 0..ncpus-1, the IOAPIC takes ID ncpus.
 * Returns 0, -BOOT_ERR_NO_ROOM (more than MPTABLE_MAX_CPUS, or no RAM there;
 * guest memory is then untouched) or -BOOT_ERR_UNSUPPORTED for ncpus 0. */
#define MPTABLE_MAX_CPUS 254
int mptable_build(struct guest_memory *mem, unsigned ncpus);

#endif
