/* Guest-physical layout of the vmm PC board: every address constant lives here.
 * RAM fills 0..3 GiB, the PCI hole spans 3..4 GiB (MMIO BARs, ECAM, IOAPIC,
 * LAPIC, firmware), and RAM above 3 GiB is relocated to start at 4 GiB.
 * The low 1 MiB follows the PC convention (Linux boot protocol, boot.rst
 * "Memory layout"; MP spec 1.4 section 4; ACPI 6.4 section 5.2.5.1). */
#ifndef VMM_BOOT_LAYOUT_H
#define VMM_BOOT_LAYOUT_H

#define LAYOUT_KiB 0x400ULL
#define LAYOUT_MiB 0x100000ULL
#define LAYOUT_GiB 0x40000000ULL

/* --- RAM --------------------------------------------------------------- */
#define LAYOUT_LOWMEM_END        0xC0000000ULL   /* RAM below the PCI hole ends here */
#define LAYOUT_HIGHMEM_START     0x100000000ULL  /* RAM beyond LOWMEM_END continues here */
#define LAYOUT_MIN_RAM           (8 * LAYOUT_MiB)

/* Low memory (first MiB): reserved areas reported in e820. */
#define LAYOUT_REALMODE_IVT      0x00000000ULL
#define LAYOUT_BOOT_GDT          0x00000500ULL   /* 64-bit boot GDT (4 entries) */
#define LAYOUT_BOOT_IDT          0x00000520ULL   /* empty IDT for the boot CPU */
#define LAYOUT_ZERO_PAGE         0x00007000ULL   /* Linux boot_params / multiboot info */
#define LAYOUT_PVH_START_INFO    0x00006000ULL   /* hvm_start_info + memmap */
#define LAYOUT_BOOT_STACK        0x00008ff0ULL   /* initial rsp for 64-bit entries */
#define LAYOUT_PML4              0x00009000ULL   /* identity page tables: PML4 */
#define LAYOUT_PDPT              0x0000a000ULL   /* PDPT; PDs follow at 0xb000..0xefff */
#define LAYOUT_PD                0x0000b000ULL   /* 4 PDs map 0..4 GiB with 2 MiB pages */
#define LAYOUT_CMDLINE           0x00020000ULL   /* kernel command line */
#define LAYOUT_CMDLINE_MAX       0x00010000ULL
#define LAYOUT_MB_MODULES        0x00030000ULL   /* multiboot module list + strings */
#define LAYOUT_EBDA_START        0x0009fc00ULL   /* MP floating pointer + table live here */
#define LAYOUT_EBDA_END          0x000a0000ULL
#define LAYOUT_VGA_START         0x000a0000ULL   /* 0xa0000-0xfffff reserved (VGA, ROMs, BIOS) */
#define LAYOUT_BIOS_AREA_START   0x000e0000ULL   /* ACPI RSDP searched here; legacy BIOS window */
#define LAYOUT_ACPI_RSDP         0x000e0000ULL
#define LAYOUT_ACPI_TABLES       0x000e0100ULL   /* RSDT, XSDT, MADT, FADT, DSDT, MCFG ... */
#define LAYOUT_ACPI_TABLES_END   0x000f0000ULL
#define LAYOUT_MPTABLE_HIGH      0x000f0000ULL   /* MP config table when it outgrows the EBDA (kernel boot only) */
#define LAYOUT_MPTABLE_HIGH_END  0x00100000ULL
#define LAYOUT_BIOS_AREA_END     0x00100000ULL
#define LAYOUT_KERNEL_LOAD       0x00100000ULL   /* protected-mode kernel default load address */

/* --- PCI hole (3 GiB .. 4 GiB) ----------------------------------------- */
#define LAYOUT_PCI_MMIO_START    0xC0000000ULL   /* 32-bit BAR window */
#define LAYOUT_PCI_MMIO_END      0xE0000000ULL
#define LAYOUT_PCI_ECAM_START    0xE0000000ULL   /* PCIe ECAM, buses 0..255 (256 MiB) */
#define LAYOUT_PCI_ECAM_SIZE     0x10000000ULL
#define LAYOUT_IOAPIC            0xFEC00000ULL
#define LAYOUT_HPET              0xFED00000ULL
#define LAYOUT_LAPIC             0xFEE00000ULL
#define LAYOUT_FIRMWARE_END      0x100000000ULL  /* firmware image ends at 4 GiB */
#define LAYOUT_TSS_ADDR          0xFFFBD000ULL   /* KVM_SET_TSS_ADDR: 3 pages below firmware */
#define LAYOUT_IDENTITY_MAP_ADDR 0xFFFBC000ULL   /* KVM_SET_IDENTITY_MAP_ADDR: 1 page */

/* --- Port I/O ----------------------------------------------------------- */
#define LAYOUT_PORT_COM1         0x3f8
#define LAYOUT_PORT_COM2         0x2f8
#define LAYOUT_PORT_I8042_DATA   0x60
#define LAYOUT_PORT_I8042_CMD    0x64
#define LAYOUT_PORT_RTC          0x70
#define LAYOUT_PORT_A20_RESET    0x92
#define LAYOUT_PORT_DEBUG_EXIT   0xf4
#define LAYOUT_PORT_PCI_CONFIG   0xcf8
#define LAYOUT_PORT_FW_CFG       0x510
#define LAYOUT_PORT_ACPI_PM      0x600           /* ACPI PM block (devices/acpi_pm.c): */
#define LAYOUT_ACPI_PM1A_EVT     0x600           /*   PM1a status (2) + enable (2) */
#define LAYOUT_ACPI_PM1A_CNT     0x604           /*   PM1a control (2): SCI_EN, SLP_TYP, SLP_EN */
#define LAYOUT_ACPI_PM_TMR       0x608           /*   PM timer (4), 3.579545 MHz, 24-bit */
#define LAYOUT_ACPI_PM_LEN       0x10
#define LAYOUT_ACPI_SLP_TYP_S5   5               /* _S5 value the DSDT declares */
#define LAYOUT_PORT_RESET_CF9    0xcf9           /* Reset Control Register, FADT RESET_REG */

/* --- Interrupt lines (GSI == ISA IRQ for 0..15) ------------------------- */
#define LAYOUT_IRQ_COM1          4
#define LAYOUT_IRQ_COM2          3
#define LAYOUT_IRQ_RTC           8
#define LAYOUT_IRQ_ACPI_SCI      9
#define LAYOUT_IRQ_PCI_FIRST     16              /* PCI INTx lines: GSI 16..23 on the IOAPIC */
#define LAYOUT_IOAPIC_PINS       24

#endif
