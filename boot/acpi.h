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

/* APIC IDs are 8 bits (xAPIC MADT entries) and the IOAPIC takes ID ncpus, so
 * at most 254 CPUs; more gives -BOOT_ERR_NO_ROOM, ncpus 0 -BOOT_ERR_UNSUPPORTED. */
#define ACPI_MAX_CPUS 254

/* The same tables for firmware that places them itself (QEMU's fw_cfg files
 * "etc/acpi/tables", "etc/acpi/rsdp" and "etc/table-loader", the command list
 * of QEMU hw/acpi/bios-linker-loader.c that SeaBIOS src/fw/romfile_loader.c
 * runs): pointers inside the tables hold offsets into etc/acpi/tables, and
 * the loader's ADD_POINTER/ADD_CHECKSUM commands relocate and re-checksum. */
struct acpi_blob {
	uint8_t *tables;       /* etc/acpi/tables (malloc'ed) */
	size_t tables_len;
	uint8_t rsdp[36];      /* etc/acpi/rsdp */
	uint8_t *loader;       /* etc/table-loader: 128-byte commands (malloc'ed) */
	size_t loader_len;
};

/* table-loader commands and zones (bios-linker-loader.c). */
#define ACPI_LOADER_ALLOCATE      1
#define ACPI_LOADER_ADD_POINTER   2
#define ACPI_LOADER_ADD_CHECKSUM  3
#define ACPI_LOADER_ZONE_HIGH     1
#define ACPI_LOADER_ZONE_FSEG     2
#define ACPI_LOADER_ENTRY_SIZE    128
#define ACPI_LOADER_FILESZ        56

#define ACPI_FILE_TABLES "etc/acpi/tables"
#define ACPI_FILE_RSDP   "etc/acpi/rsdp"
#define ACPI_FILE_LOADER "etc/table-loader"

/* Fills *out (zeroed first). Returns 0, -BOOT_ERR_NO_ROOM / -BOOT_ERR_UNSUPPORTED
 * as acpi_build, or -ENOMEM. Free with acpi_blob_free(). */
int acpi_build_blob(const struct acpi_config *cfg, struct acpi_blob *out);
void acpi_blob_free(struct acpi_blob *b);

#endif
