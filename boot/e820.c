/* e820 memory map of the vmm PC board (boot/layout.h), as Linux, PVH and
 * multiboot guests receive it. ECAM is reported reserved so that Linux trusts
 * the ACPI MCFG (arch/x86/pci/mmconfig-shared.c checks e820 for it). */
#include "boot/e820.h"
#include "boot/boot.h"
#include "boot/layout.h"
#include "vmm/memory.h"

uint64_t e820_low_ram_end(const struct guest_memory *mem)
{
	uint64_t low = guest_memory_low_size(mem);
	if (low > LAYOUT_LOWMEM_END)
		low = LAYOUT_LOWMEM_END;
	return low;
}

static int add(struct e820_entry *out, unsigned max, unsigned *n,
	       uint64_t addr, uint64_t size, uint32_t type)
{
	if (size == 0)
		return 0;
	if (*n >= max)
		return -BOOT_ERR_NO_ROOM;
	out[*n].addr = addr;
	out[*n].size = size;
	out[*n].type = type;
	(*n)++;
	return 0;
}

int e820_build(const struct guest_memory *mem, struct e820_entry *out, unsigned max)
{
	uint64_t low = e820_low_ram_end(mem);
	uint64_t high = guest_memory_high_size(mem);
	unsigned n = 0;
	int r = 0;

	if (low < LAYOUT_KERNEL_LOAD + 0x1000)
		return -BOOT_ERR_NO_ROOM;
	r |= add(out, max, &n, 0, LAYOUT_EBDA_START, E820_TYPE_RAM);
	r |= add(out, max, &n, LAYOUT_EBDA_START, LAYOUT_BIOS_AREA_END - LAYOUT_EBDA_START,
		 E820_TYPE_RESERVED);
	r |= add(out, max, &n, LAYOUT_KERNEL_LOAD, low - LAYOUT_KERNEL_LOAD, E820_TYPE_RAM);
	r |= add(out, max, &n, LAYOUT_PCI_ECAM_START, LAYOUT_PCI_ECAM_SIZE, E820_TYPE_RESERVED);
	r |= add(out, max, &n, LAYOUT_IOAPIC, 0x1000, E820_TYPE_RESERVED);
	r |= add(out, max, &n, LAYOUT_HPET, 0x1000, E820_TYPE_RESERVED);
	r |= add(out, max, &n, LAYOUT_LAPIC, 0x1000, E820_TYPE_RESERVED);
	/* KVM's TSS and identity-map pages, then the firmware window to 4 GiB. */
	r |= add(out, max, &n, LAYOUT_IDENTITY_MAP_ADDR,
		 LAYOUT_FIRMWARE_END - LAYOUT_IDENTITY_MAP_ADDR, E820_TYPE_RESERVED);
	r |= add(out, max, &n, LAYOUT_HIGHMEM_START, high, E820_TYPE_RAM);
	if (r)
		return -BOOT_ERR_NO_ROOM;
	return (int)n;
}
