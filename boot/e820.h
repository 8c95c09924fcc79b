/* The guest's physical memory map in e820 form (ACPI 6.4 section 15, "System
 * Address Map Interfaces"; Linux boot.rst e820_table), built from the RAM
 * actually present and the fixed holes of boot/layout.h. Shared by the Linux
 * zero page, the PVH memmap and the multiboot mmap so that they all agree. */
#ifndef VMM_BOOT_E820_H
#define VMM_BOOT_E820_H

#include <stdint.h>

struct guest_memory;

#define E820_TYPE_RAM       1
#define E820_TYPE_RESERVED  2
#define E820_TYPE_ACPI      3

#define E820_MAX_ENTRIES    16   /* we never produce more than this */

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Fills out[0..max) in ascending address order, non-overlapping:
 *   RAM 0..EBDA, reserved EBDA..1 MiB, RAM 1 MiB..end of low RAM,
 *   reserved ECAM, reserved IOAPIC/HPET/LAPIC page each, reserved KVM TSS /
 *   identity-map pages up to 4 GiB, RAM from 4 GiB for the rest.
 * Returns the number of entries, or -BOOT_ERR_NO_ROOM when max is too small
 * or the memory has less than 1 MiB + a page of low RAM. */
int e820_build(const struct guest_memory *mem, struct e820_entry *out, unsigned max);

/* Top of the RAM that starts at 1 MiB and is contiguous (end of low RAM). */
uint64_t e820_low_ram_end(const struct guest_memory *mem);

#endif
