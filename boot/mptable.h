/* Intel MultiProcessor Specification 1.4 tables (chapter 4): floating pointer
 * and configuration table in the EBDA (boot/layout.h), one processor entry
 * per vCPU, the ISA bus, the IOAPIC and ISA interrupt assignments. */
#ifndef VMM_BOOT_MPTABLE_H
#define VMM_BOOT_MPTABLE_H

struct guest_memory;

/* Returns 0 or -BOOT_ERR_NO_ROOM (too many CPUs for the EBDA, or no RAM there). */
int mptable_build(struct guest_memory *mem, unsigned ncpus);

#endif
