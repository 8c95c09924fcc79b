/* ACPI tables for the vmm PC board (ACPI 6.4 chapter 5): RSDP, RSDT, XSDT,
 * FADT, FACS, DSDT (AML: PCI0 with _CRS/_PRT, power button, _S5), MADT (LAPIC per
 * CPU, IOAPIC, overrides IRQ0->GSI2 and SCI 9 level/high) and MCFG.
 * Addresses and ports come from boot/layout.h. */
#ifndef VMM_BOOT_ACPI_H
#define VMM_BOOT_ACPI_H

#include <stddef.h>
#include <stdint.h>

struct guest_memory;

struct acpi_config {
	unsigned ncpus;   /* one MADT Local APIC entry each, APIC IDs 0..ncpus-1 */
	int pci;          /* nonzero: MCFG and the PCI0 host bridge in the DSDT */
};

/* Writes the RSDP at LAYOUT_ACPI_RSDP and the tables from LAYOUT_ACPI_TABLES.
 * Returns 0, or -BOOT_ERR_NO_ROOM when they do not fit below
 * LAYOUT_ACPI_TABLES_END or the memory is not RAM there. */
int acpi_build(struct guest_memory *mem, const struct acpi_config *cfg);

#endif
