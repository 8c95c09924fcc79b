/* boot/elf.c: a synthetic ELF64 vmlinux is loaded at p_paddr with its bss
 * zeroed; with the XEN_ELFNOTE_PHYS32_ENTRY note it is entered through PVH
 * (hvm_start_info with cmdline, initrd module and memmap), otherwise through
 * the 64-bit entry with a zero page; forced choices and malformed headers. */
#include "tests/check.h"
#include "tests/test_boot_synth.h"
#include "boot/layout.h"

#define MEM_SIZE (64ULL << 20)
#define INITRD_SIZE 5000

static struct guest_memory mem;
static char *initrd_path;
static uint8_t initrd_data[INITRD_SIZE];

static uint8_t *gp(uint64_t gpa, uint64_t len)
{
	return guest_memory_ptr(&mem, gpa, len);
}

static int load_elf(const struct synth *s, int elf_entry, const char *cmdline, const char *initrd,
		    struct boot_cpu_state *cpu, const char **failed)
{
	struct boot_config cfg = { .initrd = initrd, .cmdline = cmdline,
				   .ncpus = 4, .pci = 1, .elf_entry = elf_entry };
	return synth_load(&mem, s, cfg, 0x1000000, 0x400000, cpu, failed, NULL);
}

static void check_segments(const struct synth *s)
{
	CHECK_MEM(gp(SYNTH_ELF_TEXT, 0x2000), s->buf + 0x1000, 0x2000);
	CHECK_MEM(gp(SYNTH_ELF_DATA, 0x1000), s->buf + 0x3000, 0x1000);
	uint8_t zero[0x2000] = { 0 };
	CHECK_MEM(gp(SYNTH_ELF_DATA + 0x1000, 0x2000), zero, 0x2000);
	CHECK_EQ(*gp(SYNTH_ELF_DATA + 0x3000, 1), 0xee);
	CHECK_EQ(*gp(SYNTH_ELF_TEXT + 0x2000, 1), 0xee);
}

static void test_64bit(void)
{
	struct boot_cpu_state cpu;
	const char *failed = NULL;
	struct synth s = synth_elf64(0, SYNTH_ELF_ENTRY);

	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, "console=ttyS0", initrd_path, &cpu, &failed), 0);
	CHECK_EQ(cpu.mode, BOOT_CPU_LONG64);
	CHECK_EQ(cpu.rip, SYNTH_ELF_ENTRY);
	CHECK_EQ(cpu.rsi, LAYOUT_ZERO_PAGE);
	CHECK_EQ(cpu.rsp, LAYOUT_BOOT_STACK);
	CHECK_EQ(cpu.cr3, LAYOUT_PML4);
	CHECK_EQ(cpu.cs_sel, 0x10);
	check_segments(&s);
	const uint8_t *zp = gp(LAYOUT_ZERO_PAGE, 4096);
	CHECK_EQ(sget16(zp + 0x1fe), 0xAA55);
	CHECK_MEM(zp + 0x202, "HdrS", 4);
	CHECK_EQ(zp[0x210], 0xff);
	CHECK_EQ(sget32(zp + 0x228), LAYOUT_CMDLINE);
	CHECK_STR((const char *)gp(LAYOUT_CMDLINE, 1), "console=ttyS0");
	CHECK_EQ(sget32(zp + 0x21c), INITRD_SIZE);
	CHECK_EQ(sget32(zp + 0x218), (MEM_SIZE - INITRD_SIZE) & ~0xfffULL);
	CHECK_MEM(gp(sget32(zp + 0x218), INITRD_SIZE), initrd_data, INITRD_SIZE);
	CHECK_EQ(zp[0x1e8], 8);
	CHECK_EQ(sget64(zp + 0x2d0 + 40), 0x100000);

	/* A virtual e_entry is translated through its segment. */
	sput64(s.buf + 24, 0xffffffff81000100ULL);
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), 0);
	CHECK_EQ(cpu.rip, SYNTH_ELF_ENTRY);
	/* An entry outside every segment is refused. */
	sput64(s.buf + 24, 0x5000000);
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	CHECK_STR(failed, "KERNEL");
	sput64(s.buf + 24, SYNTH_ELF_ENTRY);
	/* PVH forced on a kernel without the note. */
	CHECK_EQ(load_elf(&s, BOOT_ELF_PVH, NULL, NULL, &cpu, &failed), -BOOT_ERR_UNSUPPORTED);
	free(s.buf);
}

static void test_pvh(void)
{
	struct boot_cpu_state cpu;
	const char *failed = NULL;
	struct synth s = synth_elf64(1, SYNTH_ELF_ENTRY);

	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, "console=hvc0 quiet", initrd_path, &cpu, &failed), 0);
	CHECK_EQ(cpu.mode, BOOT_CPU_PROT32);
	CHECK_EQ(cpu.rip, SYNTH_ELF_PVH);
	CHECK_EQ(cpu.rbx, LAYOUT_PVH_START_INFO);
	CHECK_EQ(cpu.cs_sel, 0x08);
	CHECK_EQ(cpu.ds_sel, 0x18);
	CHECK_EQ(cpu.gdt_base, LAYOUT_BOOT_GDT);
	check_segments(&s);
	const uint8_t *si = gp(LAYOUT_PVH_START_INFO, 56);
	CHECK_EQ(sget32(si), 0x336ec578);
	CHECK_EQ(sget32(si + 4), 1);
	CHECK_EQ(sget32(si + 12), 1);                     /* nr_modules */
	CHECK_EQ(sget64(si + 32), LAYOUT_ACPI_RSDP);      /* rsdp_paddr */
	CHECK_MEM(gp(LAYOUT_ACPI_RSDP, 8), "RSD PTR ", 8);
	CHECK_STR((const char *)gp(sget64(si + 24), 1), "console=hvc0 quiet");
	const uint8_t *mod = gp(sget64(si + 16), 32);
	CHECK_EQ(sget64(mod) % 4096, 0);
	CHECK_EQ(sget64(mod + 8), INITRD_SIZE);
	CHECK(sget64(mod) >= SYNTH_ELF_DATA + 0x3000);
	CHECK_MEM(gp(sget64(mod), INITRD_SIZE), initrd_data, INITRD_SIZE);
	uint32_t n = sget32(si + 48);
	CHECK_EQ(n, 8);
	const uint8_t *mm = gp(sget64(si + 40), 24ULL * n);
	CHECK(mm != NULL);
	CHECK(sget64(si + 40) >= LAYOUT_PVH_START_INFO + 56);
	CHECK_EQ(sget64(mm), 0);
	CHECK_EQ(sget64(mm + 8), 0x9fc00);
	CHECK_EQ(sget32(mm + 16), 1);
	CHECK_EQ(sget64(mm + 48), 0x100000);
	CHECK_EQ(sget64(mm + 48 + 8), MEM_SIZE - 0x100000);
	CHECK_EQ(sget32(mm + 72 + 16), 2);                /* ECAM reserved */

	/* No initrd: no modules. */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), 0);
	CHECK_EQ(sget32(gp(LAYOUT_PVH_START_INFO + 12, 4)), 0);
	/* Forced 64-bit entry despite the note. */
	CHECK_EQ(load_elf(&s, BOOT_ELF_64BIT, NULL, NULL, &cpu, &failed), 0);
	CHECK_EQ(cpu.mode, BOOT_CPU_LONG64);
	CHECK_EQ(cpu.rip, SYNTH_ELF_ENTRY);
	/* PVH entry outside the loaded image, or above 4 GiB. */
	sput64(s.buf + 0x400 + 16, 0x3000000);
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	sput64(s.buf + 0x400 + 16, 0x100000000ULL + 0x40);
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	sput64(s.buf + 0x400 + 16, SYNTH_ELF_PVH);
	/* 4-byte descriptor also accepted; other sizes refused. */
	sput32(s.buf + 0x400 + 4, 4);
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), 0);
	CHECK_EQ(cpu.rip, SYNTH_ELF_PVH);
	sput32(s.buf + 0x400 + 4, 2);
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	sput32(s.buf + 0x400 + 4, 0x1000);                /* note runs past its segment */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_TRUNCATED);
	free(s.buf);
}

static void test_bad(void)
{
	struct boot_cpu_state cpu;
	const char *failed = NULL;
	struct synth s = synth_elf64(0, SYNTH_ELF_ENTRY);
	uint8_t *ph1 = s.buf + 64 + 56;

	sput64(ph1 + 32, 0x4000);                         /* p_filesz > p_memsz */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	sput64(ph1 + 32, 0x2000);                         /* past EOF */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_TRUNCATED);
	sput64(ph1 + 32, 0x1000);
	sput64(ph1 + 8, 0xffffffffffffff00ULL);           /* offset overflows */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_TRUNCATED);
	sput64(ph1 + 8, 0x3000);
	sput64(ph1 + 24, 0x10000000);                     /* beyond RAM */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	sput64(ph1 + 24, 0xfffffffffffff000ULL);          /* wraps */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	sput64(ph1 + 24, 0x80000);                        /* over the low-memory tables */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	sput64(ph1 + 24, MEM_SIZE - 0x1000);              /* straddles the end of RAM */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	sput64(ph1 + 24, SYNTH_ELF_DATA);
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), 0);

	sput16(s.buf + 56, 0);                            /* no program headers */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	sput16(s.buf + 56, 2);
	sput64(s.buf + 32, 0x3fc0);                       /* program headers past EOF */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_TRUNCATED);
	sput64(s.buf + 32, 64);
	sput16(s.buf + 54, 20);                           /* phentsize too small */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	sput16(s.buf + 54, 56);
	sput16(s.buf + 16, 3);                            /* ET_DYN */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	sput16(s.buf + 16, 2);
	s.buf[5] = 2;                                     /* big-endian: not x86 */
	CHECK_EQ(load_elf(&s, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_FORMAT);
	s.buf[5] = 1;
	struct synth t = s;
	t.len = 40;                                       /* ELF header cut */
	CHECK_EQ(load_elf(&t, BOOT_ELF_AUTO, NULL, NULL, &cpu, &failed), -BOOT_ERR_TRUNCATED);
	CHECK_EQ(load_elf(&s, 7, NULL, NULL, &cpu, &failed), -BOOT_ERR_UNSUPPORTED);
	free(s.buf);
}

static void test_corrupt(void)
{
	struct boot_config cfg = { .initrd = initrd_path, .cmdline = "a=b", .ncpus = 1 };
	struct synth s = synth_elf64(0, SYNTH_ELF_ENTRY);
	CHECK_EQ(synth_corrupt_loop(&s, &cfg, 2000, 4), 0);
	free(s.buf);
	s = synth_elf64(1, SYNTH_ELF_ENTRY);
	CHECK_EQ(synth_corrupt_loop(&s, &cfg, 2000, 5), 0);
	free(s.buf);
}

int main(void)
{
	if (guest_memory_init(&mem, MEM_SIZE) < 0) {
		perror("guest_memory_init");
		return 2;
	}
	initrd_path = synth_initrd(initrd_data, INITRD_SIZE, 11, 3);
	test_64bit();
	test_pvh();
	test_bad();
	test_corrupt();
	synth_remove_file(initrd_path);
	guest_memory_destroy(&mem);
	return check_done();
}
