/* Flat GDT, empty IDT and 0..4 GiB identity page tables for the boot CPU
 * (Linux boot.rst "64-bit Boot Protocol"; Intel SDM vol. 3A 3.4.5 segment
 * descriptors, 4.5 4-level paging with PS=1 2 MiB pages). */
#include <string.h>

#include "boot/pagetables.h"
#include "boot/boot.h"
#include "boot/layout.h"
#include "vmm/memory.h"

/* Descriptor: base 0, limit 0xfffff with G=1, present, DPL 0, S=1. */
#define DESC_FLAT(type, l, db) \
	(0x0000ffffULL | (0xfULL << 48) | ((uint64_t)(type) << 40) | (1ULL << 44) | \
	 (1ULL << 47) | ((uint64_t)(l) << 53) | ((uint64_t)(db) << 54) | (1ULL << 55))

int boot_setup_gdt(struct guest_memory *mem, struct boot_cpu_state *cpu)
{
	uint64_t gdt[BOOT_GDT_ENTRIES] = {
		0,
		DESC_FLAT(0xb, 0, 1),   /* 0x08: 32-bit code, execute/read, accessed */
		DESC_FLAT(0xb, 1, 0),   /* 0x10: 64-bit code */
		DESC_FLAT(0x3, 0, 1),   /* 0x18: data, read/write, accessed */
	};
	if (guest_memory_write(mem, LAYOUT_BOOT_GDT, gdt, sizeof(gdt)) < 0)
		return -BOOT_ERR_NO_ROOM;
	/* An IDT limit of 0: any exception before the kernel loads its own IDT
	 * becomes a triple fault the VMM reports, instead of a jump to garbage. */
	uint64_t idt[2] = { 0, 0 };
	if (guest_memory_write(mem, LAYOUT_BOOT_IDT, idt, sizeof(idt)) < 0)
		return -BOOT_ERR_NO_ROOM;
	cpu->gdt_base = LAYOUT_BOOT_GDT;
	cpu->gdt_limit = sizeof(gdt) - 1;
	cpu->idt_base = LAYOUT_BOOT_IDT;
	cpu->idt_limit = 0;
	cpu->cs_sel = cpu->mode == BOOT_CPU_LONG64 ? BOOT_SEL_CODE64 : BOOT_SEL_CODE32;
	cpu->ds_sel = BOOT_SEL_DATA;
	return 0;
}

int boot_enter_prot32(struct guest_memory *mem, struct boot_cpu_state *cpu, uint64_t info_gpa,
		      const void *info, size_t len, uint64_t entry)
{
	int ret;

	if (guest_memory_write(mem, info_gpa, info, len) < 0)
		return -BOOT_ERR_NO_ROOM;
	cpu->mode = BOOT_CPU_PROT32;
	ret = boot_setup_gdt(mem, cpu);
	if (ret < 0)
		return ret;
	cpu->rip = entry;
	cpu->rbx = info_gpa;
	return 0;
}

int boot_setup_identity_map(struct guest_memory *mem, struct boot_cpu_state *cpu)
{
	uint64_t table[512];

	memset(table, 0, sizeof(table));
	table[0] = LAYOUT_PDPT | 0x3;              /* present, writable */
	if (guest_memory_write(mem, LAYOUT_PML4, table, sizeof(table)) < 0)
		return -BOOT_ERR_NO_ROOM;
	memset(table, 0, sizeof(table));
	for (unsigned i = 0; i < 4; i++)
		table[i] = (LAYOUT_PD + i * 0x1000ULL) | 0x3;
	if (guest_memory_write(mem, LAYOUT_PDPT, table, sizeof(table)) < 0)
		return -BOOT_ERR_NO_ROOM;
	for (unsigned pd = 0; pd < 4; pd++) {
		for (unsigned i = 0; i < 512; i++)
			table[i] = ((uint64_t)pd * LAYOUT_GiB + (uint64_t)i * 0x200000ULL) | 0x83; /* P, RW, PS */
		if (guest_memory_write(mem, LAYOUT_PD + pd * 0x1000ULL, table, sizeof(table)) < 0)
			return -BOOT_ERR_NO_ROOM;
	}
	cpu->cr3 = LAYOUT_PML4;
	return 0;
}
