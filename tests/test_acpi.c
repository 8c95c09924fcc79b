/* test_acpi: parses what acpi_build() wrote into guest memory (RSDP, RSDT,
 * XSDT, FADT, FACS, MADT, MCFG, DSDT) and checks every checksum, length,
 * pointer and field the board depends on; runs the fw_cfg table-loader
 * commands of acpi_build_blob() as SeaBIOS would and checks the result the
 * same way; disassembles the tables with iasl -d when it is installed. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/boot.h"
#include "boot/layout.h"
#include "tests/check.h"
#include "tests/test_util.h"
#include "vmm/memory.h"

/* A table at gpa: signature, length inside RAM, checksum. NULL on failure. */
static const uint8_t *table(struct guest_memory *mem, uint64_t gpa, const char *sig)
{
	const uint8_t *h = guest_memory_ptr(mem, gpa, 36);
	CHECK(h != NULL);
	if (!h)
		return NULL;
	CHECK_MEM(h, sig, 4);
	uint32_t len = (uint32_t)test_get_le(h + 4, 4);
	CHECK(len >= 36);
	const uint8_t *t = guest_memory_ptr(mem, gpa, len);
	CHECK(t != NULL);
	if (!t)
		return NULL;
	CHECK_EQ(test_sum8(t, len), 0);
	return t;
}

struct found {
	uint64_t fadt, madt, mcfg, dsdt, facs;
};

/* Checks the whole set reachable from the RSDP at rsdp_gpa. */
static void check_set(struct guest_memory *mem, uint64_t rsdp_gpa, unsigned ncpus, int pci,
		      struct found *f)
{
	memset(f, 0, sizeof(*f));
	const uint8_t *r = guest_memory_ptr(mem, rsdp_gpa, 36);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_MEM(r, "RSD PTR ", 8);
	CHECK_EQ(test_sum8(r, 20), 0);
	CHECK_EQ(test_sum8(r, 36), 0);
	CHECK_EQ(r[15], 2);
	CHECK_EQ(test_get_le(r + 20, 4), 36);
	uint64_t rsdt_gpa = test_get_le(r + 16, 4), xsdt_gpa = test_get_le(r + 24, 8);
	const uint8_t *rsdt = table(mem, rsdt_gpa, "RSDT");
	const uint8_t *xsdt = table(mem, xsdt_gpa, "XSDT");
	if (!rsdt || !xsdt)
		return;
	unsigned n = pci ? 3 : 2;
	CHECK_EQ(test_get_le(rsdt + 4, 4), 36 + 4 * n);
	CHECK_EQ(test_get_le(xsdt + 4, 4), 36 + 8 * n);
	for (unsigned i = 0; i < n; i++) {
		uint64_t p32 = test_get_le(rsdt + 36 + 4 * i, 4), p64 = test_get_le(xsdt + 36 + 8 * i, 8);
		CHECK_EQ(p32, p64);
		const uint8_t *h = guest_memory_ptr(mem, p64, 36);
		CHECK(h != NULL);
		if (!h)
			continue;
		if (!memcmp(h, "FACP", 4))
			f->fadt = p64;
		else if (!memcmp(h, "APIC", 4))
			f->madt = p64;
		else if (!memcmp(h, "MCFG", 4))
			f->mcfg = p64;
		else
			CHECK(!"unexpected table in the XSDT");
	}
	CHECK(f->fadt && f->madt);
	CHECK(pci ? f->mcfg != 0 : f->mcfg == 0);

	/* FADT */
	const uint8_t *fa = f->fadt ? table(mem, f->fadt, "FACP") : NULL;
	if (fa) {
		CHECK_EQ(test_get_le(fa + 4, 4), 276);
		CHECK_EQ(fa[8], 6);
		CHECK_EQ(fa[131], 4);
		f->facs = test_get_le(fa + 36, 4);
		f->dsdt = test_get_le(fa + 140, 8);
		CHECK_EQ(test_get_le(fa + 40, 4), f->dsdt);
		CHECK_EQ(test_get_le(fa + 46, 2), LAYOUT_IRQ_ACPI_SCI);
		CHECK_EQ(test_get_le(fa + 48, 4), 0);           /* SMI_CMD: always in ACPI mode */
		CHECK_EQ(test_get_le(fa + 56, 4), LAYOUT_ACPI_PM1A_EVT);
		CHECK_EQ(test_get_le(fa + 64, 4), LAYOUT_ACPI_PM1A_CNT);
		CHECK_EQ(test_get_le(fa + 76, 4), LAYOUT_ACPI_PM_TMR);
		CHECK_EQ(test_get_le(fa + 80, 4), 0);           /* no GPE0 */
		CHECK_EQ(fa[88], 4);
		CHECK_EQ(fa[89], 2);
		CHECK_EQ(fa[91], 4);
		uint32_t flags = (uint32_t)test_get_le(fa + 112, 4);
		CHECK_EQ(flags, (1u << 0) | (1u << 2) | (1u << 5) | (1u << 10));
		CHECK_EQ(flags & (1u << 4), 0);        /* fixed-feature power button */
		CHECK_EQ(flags & (1u << 20), 0);       /* not HW_REDUCED */
		CHECK_EQ(flags & (1u << 8), 0);        /* 24-bit timer, as devices/acpi_pm.c */
		CHECK_EQ(fa[116], 1);                  /* RESET_REG in I/O space */
		CHECK_EQ(fa[117], 8);
		CHECK_EQ(test_get_le(fa + 120, 8), LAYOUT_PORT_RESET_CF9);
		CHECK_EQ(fa[128], 6);
		CHECK_EQ(fa[148], 1);                  /* X_PM1a_EVT_BLK */
		CHECK_EQ(fa[149], 32);
		CHECK_EQ(test_get_le(fa + 152, 8), LAYOUT_ACPI_PM1A_EVT);
		CHECK_EQ(fa[173], 16);                 /* X_PM1a_CNT_BLK */
		CHECK_EQ(test_get_le(fa + 176, 8), LAYOUT_ACPI_PM1A_CNT);
		CHECK_EQ(fa[209], 32);                 /* X_PM_TMR_BLK */
		CHECK_EQ(test_get_le(fa + 212, 8), LAYOUT_ACPI_PM_TMR);
	}
	/* FACS: 64-byte aligned, no checksum */
	const uint8_t *facs = guest_memory_ptr(mem, f->facs, 64);
	CHECK(facs != NULL);
	if (facs) {
		CHECK_MEM(facs, "FACS", 4);
		CHECK_EQ(test_get_le(facs + 4, 4), 64);
		CHECK_EQ(f->facs % 64, 0);
	}
	const uint8_t *dsdt = table(mem, f->dsdt, "DSDT");
	if (dsdt) {
		uint32_t len = (uint32_t)test_get_le(dsdt + 4, 4);
		CHECK_EQ(dsdt[8], 2);
		CHECK(memmem(dsdt, len, "_S5_", 4) != NULL);
		CHECK(memmem(dsdt, len, "COM1", 4) != NULL);
		CHECK(pci ? memmem(dsdt, len, "PCI0", 4) != NULL : memmem(dsdt, len, "PCI0", 4) == NULL);
		CHECK(pci ? memmem(dsdt, len, "_PRT", 4) != NULL : 1);
	}

	/* MADT */
	const uint8_t *m = f->madt ? table(mem, f->madt, "APIC") : NULL;
	if (m) {
		uint32_t len = (uint32_t)test_get_le(m + 4, 4);
		CHECK_EQ(test_get_le(m + 36, 4), LAYOUT_LAPIC);
		CHECK_EQ(test_get_le(m + 40, 4), 1);
		unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
		int irq0_ok = 0, sci_ok = 0;
		for (uint32_t o = 44; o < len;) {
			const uint8_t *e = m + o;
			CHECK(o + 2 <= len && e[1] >= 2 && o + e[1] <= len);
			if (o + 2 > len || e[1] < 2 || o + e[1] > len)
				break;
			switch (e[0]) {
			case 0:
				CHECK_EQ(e[1], 8);
				CHECK_EQ(e[3], lapics);        /* APIC IDs 0..n-1 in order */
				CHECK_EQ(test_get_le(e + 4, 4), 1);
				lapics++;
				break;
			case 1:
				CHECK_EQ(e[1], 12);
				CHECK_EQ(e[2], ncpus);
				CHECK_EQ(test_get_le(e + 4, 4), LAYOUT_IOAPIC);
				CHECK_EQ(test_get_le(e + 8, 4), 0);
				ioapics++;
				break;
			case 2:
				CHECK_EQ(e[1], 10);
				if (e[3] == 0 && test_get_le(e + 4, 4) == 2)
					irq0_ok = 1;
				if (e[3] == 9 && test_get_le(e + 4, 4) == 9 && test_get_le(e + 8, 2) == 0xd)
					sci_ok = 1;
				isos++;
				break;
			case 4:
				CHECK_EQ(e[1], 6);
				CHECK_EQ(e[2], 0xff);
				CHECK_EQ(e[5], 1);
				nmis++;
				break;
			default:
				CHECK(!"unexpected MADT entry type");
			}
			o += e[1];
		}
		CHECK_EQ(lapics, ncpus);
		CHECK_EQ(ioapics, 1);
		CHECK_EQ(isos, 2);
		CHECK_EQ(nmis, 1);
		CHECK(irq0_ok);
		CHECK(sci_ok);
	}
	if (pci && f->mcfg) {
		const uint8_t *mc = table(mem, f->mcfg, "MCFG");
		if (mc) {
			CHECK_EQ(test_get_le(mc + 4, 4), 60);
			CHECK_EQ(test_get_le(mc + 44, 8), LAYOUT_PCI_ECAM_START);
			CHECK_EQ(test_get_le(mc + 52, 2), 0);
			CHECK_EQ(mc[54], 0);
			CHECK_EQ(mc[55], 255);
		}
	}
}

static void check_below_end(struct found *f, struct guest_memory *mem)
{
	uint64_t t[] = { f->fadt, f->madt, f->mcfg, f->dsdt };
	for (unsigned i = 0; i < 4; i++) {
		if (!t[i])
			continue;
		const uint8_t *h = guest_memory_ptr(mem, t[i], 8);
		CHECK(t[i] >= LAYOUT_ACPI_TABLES);
		CHECK(h && t[i] + test_get_le(h + 4, 4) <= LAYOUT_ACPI_TABLES_END);
	}
}

static void test_build(unsigned ncpus, int pci)
{
	struct guest_memory mem;
	CHECK_EQ(guest_memory_init(&mem, 64 * LAYOUT_MiB), 0);
	struct acpi_config cfg = { ncpus, pci };
	CHECK_EQ(acpi_build(&mem, &cfg), 0);
	struct found f;
	check_set(&mem, LAYOUT_ACPI_RSDP, ncpus, pci, &f);
	check_below_end(&f, &mem);
	guest_memory_destroy(&mem);
}

static void test_errors(void)
{
	struct guest_memory mem;
	CHECK_EQ(guest_memory_init(&mem, 64 * LAYOUT_MiB), 0);
	uint8_t *low = guest_memory_ptr(&mem, LAYOUT_ACPI_RSDP, 0x10000);
	memset(low, 0xa5, 0x10000);
	struct acpi_config too_many = { ACPI_MAX_CPUS + 1, 1 };
	CHECK_EQ(acpi_build(&mem, &too_many), -BOOT_ERR_NO_ROOM);
	too_many.ncpus = 100000;
	CHECK_EQ(acpi_build(&mem, &too_many), -BOOT_ERR_NO_ROOM);
	struct acpi_config none = { 0, 1 };
	CHECK_EQ(acpi_build(&mem, &none), -BOOT_ERR_UNSUPPORTED);
	/* a failure leaves guest memory as it was */
	unsigned untouched = 1;
	for (unsigned i = 0; i < 0x10000; i++)
		untouched &= low[i] == 0xa5;
	CHECK(untouched);
	struct acpi_config max = { ACPI_MAX_CPUS, 1 };
	CHECK_EQ(acpi_build(&mem, &max), 0);
	struct found f;
	check_set(&mem, LAYOUT_ACPI_RSDP, ACPI_MAX_CPUS, 1, &f);
	check_below_end(&f, &mem);
	guest_memory_destroy(&mem);

	/* no RAM where the tables go */
	struct guest_memory empty;
	memset(&empty, 0, sizeof(empty));
	struct acpi_config one = { 1, 1 };
	CHECK_EQ(acpi_build(&empty, &one), -BOOT_ERR_NO_ROOM);
}

/* Runs etc/table-loader as SeaBIOS src/fw/romfile_loader.c does, with the
 * tables at `high` and the RSDP at `fseg`. */
static void run_loader(struct guest_memory *mem, const struct acpi_blob *b, uint64_t high, uint64_t fseg)
{
	CHECK_EQ(b->loader_len % ACPI_LOADER_ENTRY_SIZE, 0);
	uint8_t *tables = guest_memory_ptr(mem, high, b->tables_len);
	uint8_t *rsdp = guest_memory_ptr(mem, fseg, 36);
	unsigned allocs = 0, ptrs = 0, sums = 0;
	for (size_t o = 0; o < b->loader_len; o += ACPI_LOADER_ENTRY_SIZE) {
		const uint8_t *e = b->loader + o;
		uint32_t cmd = (uint32_t)test_get_le(e, 4);
		const char *file = (const char *)e + 4;
		int is_rsdp = strcmp(file, ACPI_FILE_RSDP) == 0;
		CHECK(is_rsdp || strcmp(file, ACPI_FILE_TABLES) == 0);
		uint8_t *data = is_rsdp ? rsdp : tables;
		size_t dlen = is_rsdp ? 36 : b->tables_len;
		if (cmd == ACPI_LOADER_ALLOCATE) {
			uint32_t align = (uint32_t)test_get_le(e + 60, 4);
			CHECK_EQ(e[64], is_rsdp ? ACPI_LOADER_ZONE_FSEG : ACPI_LOADER_ZONE_HIGH);
			CHECK_EQ((is_rsdp ? fseg : high) % align, 0);
			memcpy(data, is_rsdp ? b->rsdp : b->tables, dlen);
			allocs++;
		} else if (cmd == ACPI_LOADER_ADD_POINTER) {
			CHECK_STR((const char *)e + 60, ACPI_FILE_TABLES);
			uint32_t off = (uint32_t)test_get_le(e + 116, 4);
			uint8_t size = e[120];
			CHECK(size == 4 || size == 8);
			CHECK(off + size <= dlen);
			if (off + size > dlen)
				continue;
			uint64_t v = test_get_le(data + off, size) + high;
			for (unsigned i = 0; i < size; i++)
				data[off + i] = (uint8_t)(v >> (8 * i));
			ptrs++;
		} else if (cmd == ACPI_LOADER_ADD_CHECKSUM) {
			uint32_t off = (uint32_t)test_get_le(e + 60, 4), start = (uint32_t)test_get_le(e + 64, 4),
				 len = (uint32_t)test_get_le(e + 68, 4);
			CHECK(off < dlen && start <= dlen && len <= dlen - start);
			if (!(off < dlen && start <= dlen && len <= dlen - start))
				continue;
			data[off] = (uint8_t)(data[off] - test_sum8(data + start, len));
			sums++;
		} else {
			CHECK(!"unknown loader command");
		}
	}
	CHECK_EQ(allocs, 2);
	CHECK_EQ(ptrs, 2 + 3 + 3 + 3);          /* RSDP, FADT, RSDT, XSDT (with MCFG) */
	CHECK_EQ(sums, 6 + 2);                  /* DSDT FADT MADT MCFG RSDT XSDT, RSDP x2 */
}

static void test_blob(void)
{
	struct acpi_config cfg = { 4, 1 };
	struct acpi_blob b;
	CHECK_EQ(acpi_build_blob(&cfg, &b), 0);
	CHECK(b.tables_len > 0 && b.tables_len <= LAYOUT_ACPI_TABLES_END - LAYOUT_ACPI_TABLES);
	CHECK_EQ(b.loader_len, (2 + 11 + 8) * ACPI_LOADER_ENTRY_SIZE);
	struct guest_memory mem;
	CHECK_EQ(guest_memory_init(&mem, 64 * LAYOUT_MiB), 0);
	run_loader(&mem, &b, 0x3ff0000, 0xf5a40);
	struct found f;
	check_set(&mem, 0xf5a40, 4, 1, &f);
	CHECK(f.facs >= 0x3ff0000 && f.dsdt > 0x3ff0000 && f.madt > 0x3ff0000);
	guest_memory_destroy(&mem);
	acpi_blob_free(&b);
	CHECK(b.tables == NULL && b.loader == NULL);
	struct acpi_config bad = { 0, 0 };
	CHECK_EQ(acpi_build_blob(&bad, &b), -BOOT_ERR_UNSUPPORTED);
	CHECK(b.tables == NULL && b.loader == NULL);
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(p, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 20);
	if (buf)
		fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static int have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

/* iasl -d: each table disassembles without errors; the DSDT has what we wrote. */
static void test_iasl(void)
{
	if (!have_iasl()) {
		printf("iasl not installed: disassembly checks skipped\n");
		return;
	}
	struct guest_memory mem;
	CHECK_EQ(guest_memory_init(&mem, 64 * LAYOUT_MiB), 0);
	struct acpi_config cfg = { 2, 1 };
	CHECK_EQ(acpi_build(&mem, &cfg), 0);
	struct found f;
	check_set(&mem, LAYOUT_ACPI_RSDP, 2, 1, &f);
	char dir[] = "/tmp/test_acpi.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	struct { const char *name; uint64_t gpa; } t[] = {
		{ "dsdt", f.dsdt }, { "facp", f.fadt }, { "apic", f.madt }, { "mcfg", f.mcfg },
	};
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *h = guest_memory_ptr(&mem, t[i].gpa, 8);
		if (!h)
			continue;
		char path[128], cmd[512];
		snprintf(path, sizeof(path), "%s/%s.dat", dir, t[i].name);
		CHECK_EQ(write_file(path, h, test_get_le(h + 4, 4)), 0);
		snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat >%s.log 2>&1", dir, t[i].name, t[i].name);
		int st = system(cmd);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		snprintf(path, sizeof(path), "%s/%s.log", dir, t[i].name);
		char *log = slurp(path);
		CHECK(log != NULL);
		if (log) {
			int bad = strstr(log, "Error") != NULL || strstr(log, "Invalid") != NULL ||
				  strstr(log, "Warning") != NULL;
			if (bad)
				fprintf(stderr, "iasl -d %s:\n%s\n", t[i].name, log);
			CHECK(!bad);
			free(log);
		}
		snprintf(path, sizeof(path), "%s/%s.dsl", dir, t[i].name);
		char *dsl = slurp(path);
		CHECK(dsl != NULL);
		if (dsl && i == 0) {
			CHECK(strstr(dsl, "Name (\\_S5, Package (0x04)") != NULL);
			CHECK(strstr(dsl, "Device (MRES)") != NULL && strstr(dsl, "0x10000000") != NULL);
			CHECK(strstr(dsl, "Device (PCI0)") != NULL);
			CHECK(strstr(dsl, "EisaId (\"PNP0A08\")") != NULL);
			CHECK(strstr(dsl, "Name (_PRT, Package (0x80)") != NULL);
			CHECK(strstr(dsl, "0x001FFFFF") != NULL);
			CHECK(strstr(dsl, "Device (COM1)") != NULL);
			CHECK(strstr(dsl, "EisaId (\"PNP0501\")") != NULL);
			CHECK(strstr(dsl, "0x03F8") != NULL);
			CHECK(strstr(dsl, "Device (RTC)") != NULL && strstr(dsl, "EisaId (\"PNP0B00\")") != NULL);
			CHECK(strstr(dsl, "IRQNoFlags ()") != NULL);
			CHECK(strstr(dsl, "0xC0000000") != NULL && strstr(dsl, "0xDFFFFFFF") != NULL);
			CHECK(strstr(dsl, "0x0CF7") != NULL && strstr(dsl, "0x0D00") != NULL);
		}
		if (dsl && i == 2) {
			CHECK(strstr(dsl, "Local APIC NMI") != NULL);
			CHECK(strstr(dsl, "Interrupt Source Override") != NULL);
		}
		if (dsl && i == 1)
			CHECK(strstr(dsl, "Reset Register Supported") != NULL);
		free(dsl);
	}
	char cmd[256];
	snprintf(cmd, sizeof(cmd), getenv("KEEP") ? "true %s" : "rm -rf %s", dir);
	CHECK_EQ(system(cmd), 0);
	guest_memory_destroy(&mem);
}

/* Debian's SeaBIOS runs our etc/table-loader under QEMU (TCG, ACPI of its
 * own turned off, our three files given with -fw_cfg) and finds the FADT
 * through the RSDP and XSDT it relocated, then parses our DSDT. */
static void test_seabios_loader(void)
{
	const char *bios = "/usr/share/seabios/bios-256k.bin";
	if (system("command -v qemu-system-x86_64 >/dev/null 2>&1") != 0 || access(bios, R_OK) < 0) {
		printf("qemu-system-x86_64 or SeaBIOS missing: table-loader run skipped\n");
		return;
	}
	struct acpi_config cfg = { 2, 1 };
	struct acpi_blob b;
	CHECK_EQ(acpi_build_blob(&cfg, &b), 0);
	char dir[] = "/tmp/test_acpi_sb.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char t[128], r[128], l[128], log[128];
	snprintf(t, sizeof(t), "%s/tables", dir);
	snprintf(r, sizeof(r), "%s/rsdp", dir);
	snprintf(l, sizeof(l), "%s/loader", dir);
	snprintf(log, sizeof(log), "%s/debugcon", dir);
	CHECK_EQ(write_file(t, b.tables, b.tables_len), 0);
	CHECK_EQ(write_file(r, b.rsdp, sizeof(b.rsdp)), 0);
	CHECK_EQ(write_file(l, b.loader, b.loader_len), 0);
	char a_t[160], a_r[160], a_l[160], a_log[180];
	snprintf(a_t, sizeof(a_t), "name=etc/acpi/tables,file=%s", t);
	snprintf(a_r, sizeof(a_r), "name=etc/acpi/rsdp,file=%s", r);
	snprintf(a_l, sizeof(a_l), "name=etc/table-loader,file=%s", l);
	snprintf(a_log, sizeof(a_log), "file,id=dbg,path=%s", log);
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execlp("qemu-system-x86_64", "qemu-system-x86_64", "-machine", "pc,acpi=off",
		       "-accel", "tcg", "-m", "128", "-display", "none", "-monitor", "none",
		       "-serial", "none", "-bios", bios, "-chardev", a_log,
		       "-device", "isa-debugcon,iobase=0x402,chardev=dbg",
		       "-fw_cfg", a_t, "-fw_cfg", a_r, "-fw_cfg", a_l, (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0);
	char *out = NULL;
	int done = 0;
	/* SeaBIOS gets there in a few seconds; allow a loaded machine 90. */
	for (int i = 0; i < 900 && !done && pid > 0; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		free(out);
		out = slurp(log);
		done = out && (strstr(out, "ACPI: parse DSDT") || strstr(out, "No bootable device"));
		if (waitpid(pid, NULL, WNOHANG) == pid)
			pid = -1;
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	CHECK(out != NULL);
	if (out) {
		int ok = strstr(out, "table(50434146)=") && strstr(out, "(via xsdt)") &&
			 strstr(out, "ACPI: parse DSDT at");
		if (!ok)
			fprintf(stderr, "SeaBIOS debug output:\n%s\n", out);
		CHECK(ok);
	}
	free(out);
	acpi_blob_free(&b);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ(system(cmd), 0);
}

int main(void)
{
	test_build(1, 1);
	test_build(4, 1);
	test_build(64, 1);
	test_build(2, 0);
	test_errors();
	test_blob();
	test_iasl();
	test_seabios_loader();
	return check_done();
}
