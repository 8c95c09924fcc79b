/* Boot CPU scaffolding that the loaders share: a flat GDT and an empty IDT
 * in low memory, and identity page tables for 0..4 GiB with 2 MiB pages
 * (Intel SDM vol. 3A 4.5, 4-level paging). Addresses from boot/layout.h. */
#ifndef VMM_BOOT_PAGETABLES_H
#define VMM_BOOT_PAGETABLES_H

#include <stddef.h>
#include <stdint.h>

struct guest_memory;
struct boot_cpu_state;

/* GDT selectors written at LAYOUT_BOOT_GDT. 0x10/0x18 are boot.rst's
 * __BOOT_CS/__BOOT_DS for the 64-bit protocol; 0x08 is a 32-bit flat code
 * segment for PVH and multiboot entries (which then use 0x18 for data). */
#define BOOT_SEL_CODE32  0x08
#define BOOT_SEL_CODE64  0x10
#define BOOT_SEL_DATA    0x18
#define BOOT_GDT_ENTRIES 4

/* Writes the GDT and an empty IDT and fills cpu's gdt/idt fields and the
 * selectors for cpu->mode (set mode first). Returns 0 or -BOOT_ERR_NO_ROOM
 * when low memory is not RAM. */
int boot_setup_gdt(struct guest_memory *mem, struct boot_cpu_state *cpu);

/* Writes the boot information block (len bytes of info at guest address
 * info_gpa: PVH start_info, multiboot info) and sets cpu up to enter a
 * 32-bit flat protected-mode entry point at entry with ebx = info_gpa
 * (GDT as boot_setup_gdt). Returns 0 or -BOOT_ERR_NO_ROOM. */
int boot_enter_prot32(struct guest_memory *mem, struct boot_cpu_state *cpu, uint64_t info_gpa,
		      const void *info, size_t len, uint64_t entry);

/* Writes PML4 at LAYOUT_PML4, one PDPT, four PDs identity-mapping 0..4 GiB
 * with 2 MiB pages, and sets cpu->cr3. Returns 0 or -BOOT_ERR_NO_ROOM. */
int boot_setup_identity_map(struct guest_memory *mem, struct boot_cpu_state *cpu);

#endif
