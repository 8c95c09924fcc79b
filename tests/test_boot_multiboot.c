/* boot/multiboot.c: multiboot v1 ELF32 and a.out-kludge kernels are loaded
 * where their headers say, the mbi carries mem/cmdline/mods/mmap/loader name,
 * -initrd "file args,file2" becomes page-aligned modules, and malformed
 * headers give their exact error codes. */
#include <errno.h>

#include "tests/check.h"
#include "tests/test_boot_synth.h"
#include "boot/layout.h"

#define MEM_SIZE (64ULL << 20)

static struct guest_memory mem;

static uint8_t *gp(uint64_t gpa, uint64_t len)
{
	return guest_memory_ptr(&mem, gpa, len);
}

static char *kpath;

static int load_mb(const struct synth *s, const char *cmdline, const char *initrd,
		   struct boot_cpu_state *cpu, const char **failed)
{
	struct boot_config cfg = { .initrd = initrd, .cmdline = cmdline, .ncpus = 1 };
	return synth_load(&mem, s, cfg, 0x100000, 0x400000, cpu, failed, &kpath);
}

static void test_elf32(void)
{
	struct synth s = synth_mb_elf32();
	struct boot_cpu_state cpu;
	const char *failed = NULL;
	uint8_t d1[5000], d2[300];
	for (size_t i = 0; i < sizeof(d1); i++)
		d1[i] = (uint8_t)(i * 3);
	memset(d2, 0x77, sizeof(d2));
	char *m1 = synth_write_file(d1, sizeof(d1)), *m2 = synth_write_file(d2, sizeof(d2));
	char mods[256];
	snprintf(mods, sizeof(mods), "%s arg1 arg2,%s", m1, m2);

	CHECK_EQ(load_mb(&s, "console=ttyS0", mods, &cpu, &failed), 0);
	CHECK_EQ(cpu.mode, BOOT_CPU_PROT32);
	CHECK_EQ(cpu.rip, 0x100010);
	CHECK_EQ(cpu.rax, 0x2BADB002);
	CHECK_EQ(cpu.rbx, LAYOUT_ZERO_PAGE);
	CHECK_EQ(cpu.cs_sel, 0x08);
	CHECK_EQ(cpu.ds_sel, 0x18);
	CHECK_EQ(cpu.gdt_base, LAYOUT_BOOT_GDT);
	CHECK_MEM(gp(0x100000, 0x1000), s.buf + 0x1000, 0x1000);
	uint8_t zero[0x1000] = { 0 };
	CHECK_MEM(gp(0x101000, 0x1000), zero, 0x1000);   /* bss */

	const uint8_t *mbi = gp(LAYOUT_ZERO_PAGE, 0x1000);
	CHECK_EQ(sget32(mbi), 0x24d);                     /* mem, cmdline, mods, mmap, name */
	CHECK_EQ(sget32(mbi + 4), 639);
	CHECK_EQ(sget32(mbi + 8), (MEM_SIZE - 0x100000) / 1024);
	char want[512];
	snprintf(want, sizeof(want), "%s console=ttyS0", kpath);
	CHECK_STR((const char *)gp(sget32(mbi + 16), 1), want);
	CHECK_EQ(sget32(mbi + 20), 2);
	uint32_t ml = sget32(mbi + 24);
	CHECK_EQ(ml, LAYOUT_MB_MODULES);
	const uint8_t *e1 = gp(ml, 32), *e2 = e1 + 16;
	CHECK_EQ(sget32(e1), 0x102000);                  /* first page after the bss */
	CHECK_EQ(sget32(e1 + 4), 0x102000 + sizeof(d1));
	CHECK_EQ(sget32(e2), 0x102000 + 0x2000);         /* next page boundary */
	CHECK_EQ(sget32(e2 + 4) - sget32(e2), sizeof(d2));
	CHECK_MEM(gp(sget32(e1), sizeof(d1)), d1, sizeof(d1));
	CHECK_MEM(gp(sget32(e2), sizeof(d2)), d2, sizeof(d2));
	snprintf(want, sizeof(want), "%s arg1 arg2", m1);
	CHECK_STR((const char *)gp(sget32(e1 + 8), 1), want);
	CHECK_STR((const char *)gp(sget32(e2 + 8), 1), m2);
	/* mmap: 24-byte entries whose size field says 20 */
	uint32_t mlen = sget32(mbi + 44), maddr = sget32(mbi + 48);
	CHECK_EQ(mlen, 8 * 24);
	const uint8_t *mm = gp(maddr, mlen);
	CHECK_EQ(sget32(mm), 20);
	CHECK_EQ(sget64(mm + 4), 0);
	CHECK_EQ(sget64(mm + 12), 0x9fc00);
	CHECK_EQ(sget32(mm + 20), 1);
	CHECK_EQ(sget64(mm + 48 + 4), 0x100000);
	CHECK_EQ(sget64(mm + 48 + 12), MEM_SIZE - 0x100000);
	CHECK_STR((const char *)gp(sget32(mbi + 64), 1), "vmm");
	free(kpath);

	/* No -append: just the kernel path. ",," is a literal comma in a name. */
	char comma[64];
	snprintf(comma, sizeof(comma), "%s,x", m2);
	CHECK_EQ(rename(m2, comma), 0);
	snprintf(mods, sizeof(mods), "%s,,x", m2);
	CHECK_EQ(load_mb(&s, NULL, mods, &cpu, &failed), 0);
	CHECK_STR((const char *)gp(LAYOUT_CMDLINE, 1), kpath);
	CHECK_EQ(sget32(mbi + 20), 1);
	CHECK_STR((const char *)gp(sget32(gp(LAYOUT_MB_MODULES, 16) + 8), 1), comma);
	free(kpath);

	/* Missing module: I/O error naming the -initrd list. */
	snprintf(mods, sizeof(mods), "%s,/nonexistent/mod", m1);
	CHECK_EQ(load_mb(&s, NULL, mods, &cpu, &failed), -BOOT_ERR_IO);
	CHECK(failed == mods);
	CHECK_EQ(boot_errno(), ENOENT);
	free(kpath);
	unlink(m1);
	unlink(comma);
	free(m1);
	free(m2);
	free(s.buf);
}

static void test_kludge(void)
{
	struct synth s = synth_mb_kludge();
	struct boot_cpu_state cpu;
	const char *failed = NULL;

	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), 0);
	CHECK_EQ(cpu.mode, BOOT_CPU_PROT32);
	CHECK_EQ(cpu.rip, 0x200100);
	CHECK_EQ(cpu.rax, 0x2BADB002);
	CHECK_MEM(gp(0x200000, 0x1800), s.buf, 0x1800);
	uint8_t zero[0x2800] = { 0 };
	CHECK_MEM(gp(0x201800, 0x2800), zero, 0x2800);
	CHECK_EQ(*gp(0x204000, 1), 0xee);                 /* nothing past bss_end */
	CHECK_EQ(sget32(gp(LAYOUT_ZERO_PAGE + 20, 4)), 0);  /* no modules */
	free(kpath);

	/* load_end_addr 0: to the end of the file; bss_end 0: no bss. */
	sput32(s.buf + 0x40 + 20, 0);
	sput32(s.buf + 0x40 + 24, 0);
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), 0);
	CHECK_MEM(gp(0x200000, 0x2000), s.buf, 0x2000);
	CHECK_EQ(*gp(0x202000, 1), 0xee);
	free(kpath);

	/* The same header inside an ELF64 file: multiboot wins (QEMU's order)
	 * unless an ELF entry is forced. */
	struct synth e = synth_elf64(0, SYNTH_ELF_ENTRY);
	memcpy(e.buf + 0x1000 + 0x40, s.buf + 0x40, 32);
	sput32(e.buf + 0x1000 + 0x40 + 12, 0x200040 + 0x1000);   /* header_addr: file 0 at 0x200000 */
	sput32(e.buf + 0x1000 + 0x40 + 28, 0x200100);
	CHECK_EQ(load_mb(&e, NULL, NULL, &cpu, &failed), 0);
	CHECK_EQ(cpu.mode, BOOT_CPU_PROT32);
	CHECK_EQ(cpu.rip, 0x200100);
	free(kpath);
	kpath = synth_write_file(e.buf, e.len);
	struct boot_config cfg = { .kernel = kpath, .elf_entry = BOOT_ELF_64BIT };
	CHECK_EQ(boot_load(&mem, &cfg, &cpu, &failed), 0);
	CHECK_EQ(cpu.mode, BOOT_CPU_LONG64);
	CHECK_EQ(cpu.rip, SYNTH_ELF_ENTRY);
	unlink(kpath);
	free(kpath);
	free(e.buf);
	free(s.buf);
}

static void test_bad(void)
{
	struct boot_cpu_state cpu;
	const char *failed = NULL;
	struct synth s = synth_mb_kludge();
	uint8_t *h = s.buf + 0x40;

	synth_mb_header(h, 0x00010008);                   /* unknown required bit 3 */
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_UNSUPPORTED);
	CHECK_STR(failed, "KERNEL");
	free(kpath);
	synth_mb_header(h, 0x00010007);                   /* video bit 2 is ignored */
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), 0);
	free(kpath);
	sput32(h + 8, sget32(h + 8) + 1);                 /* bad checksum: no header */
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_FORMAT);
	free(kpath);
	synth_mb_header(h, 0x00010003);

	sput32(h + 16, 0x200044);                         /* load_addr > header_addr */
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	free(kpath);
	sput32(h + 16, 0x1ff000);                         /* would start before the file */
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	free(kpath);
	sput32(h + 16, 0x200000);
	sput32(h + 20, 0x203000);                         /* load_end past EOF */
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_TRUNCATED);
	free(kpath);
	sput32(h + 20, 0x201800);
	sput32(h + 24, 0x201000);                         /* bss_end before load_end */
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	free(kpath);
	sput32(h + 24, 0x204000);
	sput32(h + 28, 0x300000);                         /* entry outside the image */
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	free(kpath);
	sput32(h + 28, 0x200100);
	sput32(h + 24, 0xfffff000);                       /* bss into the PCI hole */
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	free(kpath);
	sput32(h + 24, 0x204000);
	struct synth t = s;
	t.len = 0x50;                                     /* kludge fields cut off */
	CHECK_EQ(load_mb(&t, NULL, NULL, &cpu, &failed), -BOOT_ERR_TRUNCATED);
	free(kpath);
	/* cmdline: kernel path + -append must fit LAYOUT_CMDLINE_MAX. */
	char *line = malloc(LAYOUT_CMDLINE_MAX + 1);
	memset(line, 'b', LAYOUT_CMDLINE_MAX);
	line[LAYOUT_CMDLINE_MAX - 20] = 0;       /* + the 25-byte kernel path */
	CHECK_EQ(load_mb(&s, line, NULL, &cpu, &failed), -BOOT_ERR_CMDLINE_TOO_LONG);
	CHECK_STR(failed, "-append");
	free(kpath);
	free(line);
	free(s.buf);

	/* ELF32 multiboot: segment below 1 MiB, and p_filesz > p_memsz. */
	s = synth_mb_elf32();
	sput32(s.buf + 52 + 12, 0x1000);
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	free(kpath);
	sput32(s.buf + 52 + 12, 0x100000);
	sput32(s.buf + 52 + 20, 0x800);
	CHECK_EQ(load_mb(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	free(kpath);
	free(s.buf);
}

static void test_corrupt(void)
{
	uint8_t d[100] = { 1 };
	char *m = synth_write_file(d, sizeof(d));
	char mods[128];
	snprintf(mods, sizeof(mods), "%s a b,%s", m, m);
	struct boot_config cfg = { .initrd = mods, .cmdline = "x=y", .ncpus = 1 };
	struct synth s = synth_mb_elf32();
	CHECK_EQ(synth_corrupt_loop(&s, &cfg, 2000, 2), 0);
	free(s.buf);
	s = synth_mb_kludge();
	CHECK_EQ(synth_corrupt_loop(&s, &cfg, 2000, 3), 0);
	free(s.buf);
	unlink(m);
	free(m);
}

int main(void)
{
	if (guest_memory_init(&mem, MEM_SIZE) < 0) {
		perror("guest_memory_init");
		return 2;
	}
	test_elf32();
	test_kludge();
	test_bad();
	test_corrupt();
	guest_memory_destroy(&mem);
	return check_done();
}
