/* Fuzz target: kernel image loading (boot/boot.c dispatch, bzImage per the
 * Linux boot protocol boot.rst, ELF64 vmlinux with PVH notes, multiboot 1/2):
 * the input is the -kernel file; a 1-byte prefix picks the ELF entry mode and
 * whether an initrd and a command line are given. Guest RAM is 32 MiB so that
 * placement limits are reached by small inputs too. */
#include "fuzz/fuzz.h"
#include "boot/boot.h"
#include "vmm/memory.h"

static struct guest_memory mem;
static char *initrd;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct boot_config cfg = { .ncpus = 1 };
	struct boot_cpu_state cpu;
	const char *failed;
	unsigned mode;

	if (!mem.nregions) {
		static const uint8_t rd[4096] = { 0x1f, 0x8b };

		if (guest_memory_init(&mem, 32u << 20) != 0)
			abort();
		initrd = strdup(fuzz_write_file("initrd", rd, sizeof(rd)));
	}
	mode = (unsigned)fuzz_take(&in, 1);
	cfg.kernel = fuzz_write_file("kernel", in.p, in.n);
	cfg.elf_entry = (int)(mode % 3);
	cfg.initrd = (mode & 4) ? initrd : NULL;
	cfg.cmdline = (mode & 8) ? "console=ttyS0 root=/dev/vda" : NULL;
	cfg.ncpus = 1 + ((mode >> 4) & 3);
	cfg.pci = (mode >> 6) & 1;
	boot_load(&mem, &cfg, &cpu, &failed);
	return 0;
}
