/* Guest loading: given guest memory and the command line's choices, place the
 * kernel (or firmware), initrd, command line and platform tables (e820, ACPI,
 * MP table, page tables, GDT) and return the boot vCPU's initial state.
 * One file per format (linux.c, elf.c/pvh, multiboot.c, firmware.c); tables in
 * e820.c, acpi.c, mptable.c. Loaders never call KVM and never exit. */
#ifndef VMM_BOOT_BOOT_H
#define VMM_BOOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

struct guest_memory;

enum boot_cpu_mode {
	BOOT_CPU_LONG64,   /* 64-bit, paging on (identity map at cr3), flat segments */
	BOOT_CPU_PROT32,   /* 32-bit flat protected mode, paging off (multiboot, PVH) */
	BOOT_CPU_RESET,    /* architectural reset state (firmware at 0xfffffff0) */
};

/* Initial state of the boot CPU; the VMM turns it into KVM registers. */
struct boot_cpu_state {
	enum boot_cpu_mode mode;
	uint64_t rip, rsp, rax, rbx, rsi;
	uint64_t cr3;              /* BOOT_CPU_LONG64 only */
	uint64_t gdt_base;         /* GDT the loader wrote (0: none) */
	uint16_t gdt_limit;
	uint16_t cs_sel, ds_sel;   /* selectors into that GDT */
	uint64_t idt_base;
	uint16_t idt_limit;
};

struct boot_config {
	const char *kernel;        /* -kernel path, NULL for firmware boot */
	const char *initrd;        /* -initrd path or NULL; for multiboot, -initrd "a arg,b" = modules */
	const char *cmdline;       /* -append or NULL */
	const char *firmware;      /* -bios path or NULL */
	unsigned ncpus;            /* -smp */
	int pci;                   /* nonzero: describe the PCI host bridge (ACPI MCFG/_PRT) */
	int elf_entry;             /* ELF64 vmlinux entry: BOOT_ELF_AUTO, _64BIT or _PVH */
};

/* ELF64 kernels: AUTO takes the PVH entry when the XEN_ELFNOTE_PHYS32_ENTRY
 * note exists (as QEMU does), else the 64-bit entry with a zero page (as
 * Firecracker does). A forced choice also skips the multiboot probe. */
enum { BOOT_ELF_AUTO = 0, BOOT_ELF_64BIT = 1, BOOT_ELF_PVH = 2 };

/* Error codes (negative returns); boot_strerror() gives the text. */
enum {
	BOOT_ERR_IO = 1,          /* cannot open or read a file (errno kept in boot_errno) */
	BOOT_ERR_FORMAT,          /* not a bzImage, ELF64 kernel or multiboot image */
	BOOT_ERR_TRUNCATED,       /* file shorter than its headers say */
	BOOT_ERR_BAD_HEADER,      /* header field out of range or inconsistent */
	BOOT_ERR_UNSUPPORTED,     /* valid but needs a feature we do not offer (old protocol, 32-bit-only) */
	BOOT_ERR_NO_ROOM,         /* kernel, initrd or tables do not fit in guest RAM */
	BOOT_ERR_CMDLINE_TOO_LONG,
	BOOT_ERR_NO_FIRMWARE,     /* no -kernel and no firmware loader built in */
	BOOT_ERR_MAX
};

/* Loads everything cfg names into mem and fills *cpu. Returns 0 or -BOOT_ERR_*.
 * On error, which file failed is in *failed_path (cfg->kernel, cfg->initrd, ...). */
int boot_load(struct guest_memory *mem, const struct boot_config *cfg,
	      struct boot_cpu_state *cpu, const char **failed_path);

/* A one-line, lower-case description of a -BOOT_ERR_* code. For
 * -BOOT_ERR_IO it is strerror(boot_errno()), e.g. "No such file or directory". */
const char *boot_strerror(int err);

/* The errno of the last -BOOT_ERR_IO failure in this thread (thread-local). */
int boot_errno(void);

#endif
