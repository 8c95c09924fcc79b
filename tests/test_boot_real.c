/* boot/: the loaders on the real test kernel built by guest-tests/linux/
 * build.sh (vmlinux with CONFIG_PVH, bzImage, initramfs): PVH entry at
 * pvh_start_xen, forced 64-bit entry at startup_64, bzImage at pref_address
 * + 0x200, initrd placed. Exits 77 (skipped) when the kernel is not built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/check.h"
#include "boot/boot.h"
#include "boot/layout.h"
#include "vmm/memory.h"

#define KERNEL_MAP 0xffffffff80000000ULL

static char vmlinux[4300], bzimage[4300], initrd[4300];

static int get_paths(void)
{
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "sh %s/guest-tests/linux/build.sh --paths 2>/dev/null", VMM_SOURCE_DIR);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	char line[4200];
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "VMLINUX=", 8)) snprintf(vmlinux, sizeof(vmlinux), "%s", line + 8);
		if (!strncmp(line, "BZIMAGE=", 8)) snprintf(bzimage, sizeof(bzimage), "%s", line + 8);
		if (!strncmp(line, "INITRD=", 7)) snprintf(initrd, sizeof(initrd), "%s", line + 7);
	}
	return pclose(p) == 0 ? 0 : -1;
}

/* Physical address of a kernel symbol, from nm. */
static uint64_t symbol_phys(const char *name)
{
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "nm %s 2>/dev/null", vmlinux);
	FILE *p = popen(cmd, "r");
	unsigned long long addr = 0, found = 0;
	char line[512], sym[256], type[8];
	while (p && fgets(line, sizeof(line), p))
		if (sscanf(line, "%llx %7s %255s", &addr, type, sym) == 3 && !strcmp(sym, name)) {
			found = addr - KERNEL_MAP;
			break;
		}
	if (p)
		pclose(p);
	return found;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int main(void)
{
	if (get_paths() < 0) {
		printf("SKIP: test kernel not built (guest-tests/linux/build.sh)\n");
		return 77;
	}
	struct guest_memory mem;
	if (guest_memory_init(&mem, 256 << 20) < 0)
		return 2;
	struct boot_cpu_state cpu;
	const char *failed;
	struct boot_config cfg = { .kernel = vmlinux, .initrd = initrd, .cmdline = "console=ttyS0",
				   .ncpus = 2, .pci = 1 };

	CHECK_EQ(boot_load(&mem, &cfg, &cpu, &failed), 0);
	uint64_t pvh = symbol_phys("pvh_start_xen");
	CHECK(pvh != 0);
	CHECK_EQ(cpu.mode, BOOT_CPU_PROT32);
	CHECK_EQ(cpu.rip, pvh);
	CHECK_EQ(cpu.rbx, LAYOUT_PVH_START_INFO);
	uint8_t *si = guest_memory_ptr(&mem, LAYOUT_PVH_START_INFO, 56);
	CHECK_EQ(*(uint32_t *)si, 0x336ec578);
	CHECK_EQ(*(uint32_t *)(si + 12), 1);

	cfg.elf_entry = BOOT_ELF_64BIT;
	CHECK_EQ(boot_load(&mem, &cfg, &cpu, &failed), 0);
	CHECK_EQ(cpu.mode, BOOT_CPU_LONG64);
	CHECK_EQ(cpu.rip, symbol_phys("startup_64"));
	uint8_t *zp = guest_memory_ptr(&mem, LAYOUT_ZERO_PAGE, 4096);
	CHECK_EQ(*(uint32_t *)(zp + 0x21c), file_size(initrd));

	cfg.kernel = bzimage;
	cfg.elf_entry = BOOT_ELF_AUTO;
	CHECK_EQ(boot_load(&mem, &cfg, &cpu, &failed), 0);
	CHECK_EQ(cpu.mode, BOOT_CPU_LONG64);
	CHECK_EQ(cpu.rip, 0x1000000 + 0x200);
	CHECK(*(uint16_t *)(zp + 0x206) >= 0x020c);
	CHECK_EQ(*(uint32_t *)(zp + 0x21c), file_size(initrd));
	uint32_t init_size = *(uint32_t *)(zp + 0x260);
	CHECK(*(uint32_t *)(zp + 0x218) >= 0x1000000 + init_size);
	guest_memory_destroy(&mem);
	return check_done();
}
