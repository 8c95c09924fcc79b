/* ACPI tables of the vmm PC board (ACPI 6.4 chapter 5: RSDP 5.2.5, RSDT 5.2.7,
 * XSDT 5.2.8, FADT rev 6 5.2.9, FACS 5.2.10, DSDT 5.2.11.1, MADT 5.2.12; PCI
 * Firmware Spec 3.2 4.1.2 MCFG). One builder writes them either at their fixed
 * guest addresses (acpi_build) or as fw_cfg files plus QEMU's table-loader
 * commands (acpi_build_blob); it records every pointer it writes for the latter. */
#include "boot/acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/aml.h"
#include "boot/boot.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "vmm/memory.h"

#define TABLES_CAP   (LAYOUT_ACPI_TABLES_END - LAYOUT_ACPI_TABLES)
#define HDR_LEN      36
#define RSDP_LEN     36
#define FADT_LEN     276
#define FACS_LEN     64
#define MAX_PTRS     16
#define MAX_TABLES   8

struct pointer {
	int in_rsdp;           /* the field lives in the RSDP file, else in the tables */
	uint32_t offset;       /* of the field */
	uint8_t size;          /* 4 or 8 */
};

struct builder {
	uint8_t *buf;          /* the tables, buf[0] at guest address base */
	size_t len;
	uint64_t base;
	int overflow;
	uint8_t rsdp[RSDP_LEN];
	struct pointer ptrs[MAX_PTRS];
	unsigned nptrs;
	uint32_t tables[MAX_TABLES];   /* offsets of checksummed tables */
	unsigned ntables;
};


/* Reserves n zeroed bytes aligned to align; returns the offset (0 on overflow,
 * which is also flagged; offset 0 is the first table, so callers check overflow). */
static size_t reserve(struct builder *b, size_t n, size_t align)
{
	size_t off = (b->len + align - 1) & ~(align - 1);
	if (b->overflow || off > TABLES_CAP || n > TABLES_CAP - off) {
		b->overflow = 1;
		return 0;
	}
	memset(b->buf + b->len, 0, off + n - b->len);
	b->len = off + n;
	return off;
}

static void header(struct builder *b, size_t off, const char *sig, uint32_t len, uint8_t rev)
{
	uint8_t *h = b->buf + off;
	memcpy(h, sig, 4);
	boot_put_le(h + 4, len, 4);
	h[8] = rev;
	memcpy(h + 10, "VMM   ", 6);            /* OEMID */
	memcpy(h + 16, "VMM-", 4);              /* OEM Table ID: VMM-<sig> */
	memcpy(h + 20, sig, 4);
	boot_put_le(h + 24, 1, 4);                      /* OEM revision */
	memcpy(h + 28, "VMM ", 4);              /* Creator ID */
	boot_put_le(h + 32, 1, 4);                      /* Creator revision */
	if (b->ntables < MAX_TABLES)
		b->tables[b->ntables++] = (uint32_t)off;
	else
		b->overflow = 1;
}

/* A table of len bytes (16-byte aligned) with its header: its address, and
 * its offset in *off; NULL when out of room (overflow flagged). */
static uint8_t *table_begin(struct builder *b, const char *sig, size_t len, uint8_t rev, size_t *off)
{
	*off = reserve(b, len, 16);
	if (b->overflow)
		return NULL;
	header(b, *off, sig, (uint32_t)len, rev);
	return b->buf + *off;
}

/* Writes the guest address of table offset target into a field of the tables
 * (or of the RSDP) and remembers it for the table-loader. */
static void pointer(struct builder *b, int in_rsdp, size_t field, unsigned size, size_t target)
{
	if (b->overflow)
		return;
	if (b->nptrs >= MAX_PTRS) {
		b->overflow = 1;
		return;
	}
	boot_put_le((in_rsdp ? b->rsdp : b->buf) + field, b->base + target, size);
	b->ptrs[b->nptrs++] = (struct pointer){ in_rsdp, (uint32_t)field, (uint8_t)size };
}

static void gas_io(uint8_t *g, uint16_t port, unsigned bytes, uint8_t access)
{
	g[0] = 1;                               /* System I/O */
	g[1] = (uint8_t)(bytes * 8);            /* register bit width */
	g[2] = 0;
	g[3] = access;                          /* 1 byte, 2 word, 3 dword */
	boot_put_le(g + 4, port, 8);
}

static size_t build_facs(struct builder *b)
{
	size_t off = reserve(b, FACS_LEN, 64);  /* 64-byte aligned (5.2.10) */
	if (b->overflow)
		return 0;
	memcpy(b->buf + off, "FACS", 4);
	boot_put_le(b->buf + off + 4, FACS_LEN, 4);
	b->buf[off + 32] = 2;                   /* version */
	return off;
}

static void dsdt_pci0(struct aml *a)
{
	aml_device_open(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_integer(a, "_ADR", 0);
	aml_name_integer(a, "_UID", 0);
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", 0);
	aml_name_decl(a, "_CRS");
	aml_buffer_open(a);
	aml_res_word_bus(a, 0, 0xff);
	aml_res_io(a, LAYOUT_PORT_PCI_CONFIG, 8);
	aml_res_word_io(a, 0x0000, LAYOUT_PORT_PCI_CONFIG - 1);
	aml_res_word_io(a, 0x0d00, 0xffff);
	aml_res_dword_mem(a, (uint32_t)LAYOUT_PCI_MMIO_START, (uint32_t)(LAYOUT_PCI_MMIO_END - 1));
	aml_res_end(a);
	aml_close(a);
	/* _PRT (6.2.13): every slot's INTA..INTD to a GSI, no link devices. */
	aml_name_decl(a, "_PRT");
	aml_package_open(a, 32 * 4);
	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			aml_package_open(a, 4);
			aml_integer(a, ((uint64_t)slot << 16) | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, LAYOUT_IRQ_PCI_FIRST + (slot + pin) % 4);
			aml_close(a);
		}
	}
	aml_close(a);
	aml_close(a);

	/* ECAM as a motherboard resource, so Linux trusts MCFG (PCI FW spec 4.1.2). */
	aml_device_open(a, "MRES");
	aml_name_eisaid(a, "_HID", "PNP0C02");
	aml_name_integer(a, "_UID", 1);
	aml_name_decl(a, "_CRS");
	aml_buffer_open(a);
	aml_res_mem32_fixed(a, (uint32_t)LAYOUT_PCI_ECAM_START, (uint32_t)LAYOUT_PCI_ECAM_SIZE);
	aml_res_end(a);
	aml_close(a);
	aml_close(a);
}

/* An ISA device named name with _HID hid, _UID uid (none when uid < 0) and
 * a _CRS of 8 I/O ports at port and one IRQ (edge, active high). */
static void dsdt_isa_device(struct aml *a, const char *name, const char *hid, int uid,
			    uint16_t port, unsigned irq)
{
	aml_device_open(a, name);
	aml_name_eisaid(a, "_HID", hid);
	if (uid >= 0)
		aml_name_integer(a, "_UID", (uint64_t)uid);
	aml_name_decl(a, "_CRS");
	aml_buffer_open(a);
	aml_res_io(a, port, 8);
	aml_res_irq_noflags(a, irq);
	aml_res_end(a);
	aml_close(a);
	aml_close(a);
}

static size_t build_dsdt(struct builder *b, const struct acpi_config *cfg)
{
	size_t off = reserve(b, HDR_LEN, 16);
	if (b->overflow)
		return 0;
	struct aml a;
	aml_init(&a, b->buf + b->len, TABLES_CAP - b->len);
	aml_scope_open(&a, "\\_SB_");
	if (cfg->pci)
		dsdt_pci0(&a);
	dsdt_isa_device(&a, "COM1", "PNP0501", 1, LAYOUT_PORT_COM1, LAYOUT_IRQ_COM1);
	/* The MC146818 RTC/CMOS (devices/rtc.c); no PNP0303 keyboard: the i8042
	 * has nothing behind it, and SeaBIOS then skips its PS/2 probe. */
	dsdt_isa_device(&a, "RTC_", "PNP0B00", -1, LAYOUT_PORT_RTC, LAYOUT_IRQ_RTC);
	aml_close(&a);          /* \_SB */
	/* \_S5: SLP_TYPa, SLP_TYPb, reserved (7.4.2). */
	aml_name_decl(&a, "\\_S5_");
	aml_package_open(&a, 4);
	aml_integer(&a, LAYOUT_ACPI_SLP_TYP_S5);
	aml_integer(&a, LAYOUT_ACPI_SLP_TYP_S5);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_close(&a);
	if (aml_finish(&a) < 0) {
		b->overflow = 1;
		return 0;
	}
	b->len += a.len;
	header(b, off, "DSDT", (uint32_t)(HDR_LEN + a.len), 2);
	return off;
}

/* FADT revision 6 (Table 5.9); ACPI always enabled (SMI_CMD 0). */
static size_t build_fadt(struct builder *b, size_t facs, size_t dsdt)
{
	size_t off;
	uint8_t *f = table_begin(b, "FACP", FADT_LEN, 6, &off);
	if (!f)
		return 0;
	pointer(b, 0, off + 36, 4, facs);       /* FIRMWARE_CTRL */
	pointer(b, 0, off + 40, 4, dsdt);       /* DSDT */
	f[45] = 0;                              /* Preferred_PM_Profile: unspecified */
	boot_put_le(f + 46, LAYOUT_IRQ_ACPI_SCI, 2);    /* SCI_INT */
	boot_put_le(f + 48, 0, 4);                      /* SMI_CMD: no mode switch */
	boot_put_le(f + 56, LAYOUT_ACPI_PM1A_EVT, 4);
	boot_put_le(f + 64, LAYOUT_ACPI_PM1A_CNT, 4);
	boot_put_le(f + 76, LAYOUT_ACPI_PM_TMR, 4);
	f[88] = 4;                              /* PM1_EVT_LEN */
	f[89] = 2;                              /* PM1_CNT_LEN */
	f[91] = 4;                              /* PM_TMR_LEN */
	boot_put_le(f + 96, 0x65, 2);                   /* P_LVL2_LAT > 100: no C2 */
	boot_put_le(f + 98, 0x3e9, 2);                  /* P_LVL3_LAT > 1000: no C3 */
	f[108] = 0x32;                          /* CENTURY: CMOS index (devices/rtc.c) */
	boot_put_le(f + 109, 0x0003, 2);                /* IAPC_BOOT_ARCH: LEGACY_DEVICES | 8042 */
	/* WBINVD | PROC_C1 | SLP_BUTTON | RESET_REG_SUP; no PWR_BUTTON flag: the
	 * power button is the fixed-feature one (PM1 PWRBTN_STS/EN). */
	boot_put_le(f + 112, (1u << 0) | (1u << 2) | (1u << 5) | (1u << 10), 4);
	gas_io(f + 116, LAYOUT_PORT_RESET_CF9, 1, 1);   /* RESET_REG */
	f[128] = 0x06;                          /* RESET_VALUE: RST_CPU | SYS_RST */
	f[131] = 4;                             /* FADT minor version (6.4) */
	pointer(b, 0, off + 140, 8, dsdt);      /* X_DSDT */
	gas_io(f + 148, LAYOUT_ACPI_PM1A_EVT, 4, 2);
	gas_io(f + 172, LAYOUT_ACPI_PM1A_CNT, 2, 2);
	gas_io(f + 208, LAYOUT_ACPI_PM_TMR, 4, 3);
	return off;
}

/* MADT (5.2.12): Local APICs, the IOAPIC, ISA overrides, LINT1 NMI. */
static size_t build_madt(struct builder *b, unsigned ncpus)
{
	size_t len = HDR_LEN + 8 + 8 * (size_t)ncpus + 12 + 2 * 10 + 6;
	size_t off;
	uint8_t *m = table_begin(b, "APIC", len, 5, &off);
	if (!m)
		return 0;
	boot_put_le(m + 36, LAYOUT_LAPIC, 4);
	boot_put_le(m + 40, 1, 4);                      /* PCAT_COMPAT: 8259s present */
	uint8_t *e = m + 44;
	for (unsigned i = 0; i < ncpus; i++, e += 8) {
		e[0] = 0;                       /* Processor Local APIC */
		e[1] = 8;
		e[2] = (uint8_t)i;              /* ACPI processor UID */
		e[3] = (uint8_t)i;              /* APIC ID */
		boot_put_le(e + 4, 1, 4);               /* Enabled */
	}
	e[0] = 1;                               /* I/O APIC */
	e[1] = 12;
	e[2] = (uint8_t)ncpus;
	boot_put_le(e + 4, LAYOUT_IOAPIC, 4);
	boot_put_le(e + 8, 0, 4);                       /* GSI base */
	e += 12;
	e[0] = 2;                               /* Interrupt Source Override */
	e[1] = 10;
	e[2] = 0;                               /* ISA */
	e[3] = 0;                               /* IRQ0 (PIT) ... */
	boot_put_le(e + 4, 2, 4);                       /* ... is GSI 2 */
	boot_put_le(e + 8, 0, 2);                       /* conforms to the bus */
	e += 10;
	e[0] = 2;
	e[1] = 10;
	e[2] = 0;
	e[3] = LAYOUT_IRQ_ACPI_SCI;
	boot_put_le(e + 4, LAYOUT_IRQ_ACPI_SCI, 4);
	boot_put_le(e + 8, 0x000d, 2);                  /* active high (01), level (11 << 2) */
	e += 10;
	e[0] = 4;                               /* Local APIC NMI */
	e[1] = 6;
	e[2] = 0xff;                            /* all processors */
	boot_put_le(e + 3, 0, 2);                       /* conforms */
	e[5] = 1;                               /* LINT1 */
	return off;
}

static size_t build_mcfg(struct builder *b)
{
	size_t len = HDR_LEN + 8 + 16;
	size_t off;
	uint8_t *m = table_begin(b, "MCFG", len, 1, &off);
	if (!m)
		return 0;
	boot_put_le(m + 44, LAYOUT_PCI_ECAM_START, 8);
	boot_put_le(m + 52, 0, 2);                      /* segment */
	m[54] = 0;                              /* start bus */
	m[55] = (uint8_t)(LAYOUT_PCI_ECAM_SIZE / (1 << 20) - 1);   /* 1 MiB per bus */
	return off;
}

static int build(struct builder *b, const struct acpi_config *cfg)
{
	if (cfg->ncpus == 0)
		return -BOOT_ERR_UNSUPPORTED;
	if (cfg->ncpus > ACPI_MAX_CPUS)
		return -BOOT_ERR_NO_ROOM;
	size_t facs = build_facs(b);
	size_t dsdt = build_dsdt(b, cfg);
	size_t fadt = build_fadt(b, facs, dsdt);
	size_t madt = build_madt(b, cfg->ncpus);
	size_t mcfg = cfg->pci ? build_mcfg(b) : 0;
	size_t entries[3] = { fadt, madt, mcfg };
	unsigned n = cfg->pci ? 3 : 2;

	size_t rsdt, xsdt;
	if (table_begin(b, "RSDT", HDR_LEN + 4 * n, 1, &rsdt))
		for (unsigned i = 0; i < n; i++)
			pointer(b, 0, rsdt + HDR_LEN + 4 * i, 4, entries[i]);
	if (table_begin(b, "XSDT", HDR_LEN + 8 * n, 1, &xsdt))
		for (unsigned i = 0; i < n; i++)
			pointer(b, 0, xsdt + HDR_LEN + 8 * i, 8, entries[i]);
	if (b->overflow)
		return -BOOT_ERR_NO_ROOM;

	uint8_t *r = b->rsdp;
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "VMM   ", 6);
	r[15] = 2;                              /* revision: ACPI 2.0+ */
	pointer(b, 1, 16, 4, rsdt);
	boot_put_le(r + 20, RSDP_LEN, 4);
	pointer(b, 1, 24, 8, xsdt);

	for (unsigned i = 0; i < b->ntables; i++) {
		uint8_t *t = b->buf + b->tables[i];
		t[9] = 0;
		t[9] = boot_checksum(t, boot_get32(t + 4));
	}
	r[8] = boot_checksum(r, 20);
	r[32] = boot_checksum(r, RSDP_LEN);
	return b->overflow ? -BOOT_ERR_NO_ROOM : 0;
}

static void builder_free(struct builder *b)
{
	if (b)
		free(b->buf);
	free(b);
}

/* Builds the tables in host memory for guest address base: *out is the
 * builder (free with builder_free) on success, NULL on failure. */
static int build_aside(const struct acpi_config *cfg, uint64_t base, struct builder **out)
{
	struct builder *b = calloc(1, sizeof(*b));
	int ret;

	*out = NULL;
	if (b)
		b->buf = malloc(TABLES_CAP);
	if (!b || !b->buf) {
		builder_free(b);
		return -ENOMEM;
	}
	b->base = base;
	ret = build(b, cfg);
	if (ret < 0)
		builder_free(b);
	else
		*out = b;
	return ret;
}

int acpi_build(struct guest_memory *mem, const struct acpi_config *cfg)
{
	uint8_t *rsdp = guest_memory_ptr(mem, LAYOUT_ACPI_RSDP, RSDP_LEN);
	uint8_t *dst = guest_memory_ptr(mem, LAYOUT_ACPI_TABLES, TABLES_CAP);
	struct builder *b;
	if (!rsdp || !dst)
		return -BOOT_ERR_NO_ROOM;
	/* Built aside and copied, so a failure leaves guest memory untouched. */
	int ret = build_aside(cfg, LAYOUT_ACPI_TABLES, &b);
	if (ret == 0) {
		memcpy(dst, b->buf, b->len);
		memcpy(rsdp, b->rsdp, RSDP_LEN);
	}
	builder_free(b);
	return ret;
}

static void loader_name(uint8_t *p, const char *name)
{
	strncpy((char *)p, name, ACPI_LOADER_FILESZ - 1);
}

static uint8_t *loader_cmd(struct acpi_blob *out, uint32_t cmd)
{
	uint8_t *e = out->loader + out->loader_len;
	out->loader_len += ACPI_LOADER_ENTRY_SIZE;
	memset(e, 0, ACPI_LOADER_ENTRY_SIZE);
	boot_put_le(e, cmd, 4);
	return e + 4;
}

static void loader_checksum(struct acpi_blob *out, const char *file, uint32_t field,
			    uint32_t start, uint32_t len)
{
	uint8_t *c = loader_cmd(out, ACPI_LOADER_ADD_CHECKSUM);
	loader_name(c, file);
	boot_put_le(c + 56, field, 4);
	boot_put_le(c + 60, start, 4);
	boot_put_le(c + 64, len, 4);
}

static void loader_allocate(struct acpi_blob *out, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *c = loader_cmd(out, ACPI_LOADER_ALLOCATE);
	loader_name(c, file);
	boot_put_le(c + 56, align, 4);
	c[60] = zone;
}

int acpi_build_blob(const struct acpi_config *cfg, struct acpi_blob *out)
{
	memset(out, 0, sizeof(*out));
	struct builder *b;
	int ret = build_aside(cfg, 0, &b);
	if (ret < 0)
		return ret;
	const uint8_t *buf = b->buf;
	size_t ncmds = 2 + b->nptrs + b->ntables + 2;
	out->loader = calloc(ncmds, ACPI_LOADER_ENTRY_SIZE);
	out->tables = malloc(b->len);
	if (!out->loader || !out->tables) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(out->tables, buf, b->len);
	out->tables_len = b->len;
	memcpy(out->rsdp, b->rsdp, RSDP_LEN);

	/* The RSDP goes where an OS searches for it (the F-segment), the tables
	 * anywhere in high memory with the FACS's 64-byte alignment kept. */
	loader_allocate(out, ACPI_FILE_RSDP, 16, ACPI_LOADER_ZONE_FSEG);
	loader_allocate(out, ACPI_FILE_TABLES, 64, ACPI_LOADER_ZONE_HIGH);
	for (unsigned i = 0; i < b->nptrs; i++) {
		uint8_t *c = loader_cmd(out, ACPI_LOADER_ADD_POINTER);
		loader_name(c, b->ptrs[i].in_rsdp ? ACPI_FILE_RSDP : ACPI_FILE_TABLES);
		loader_name(c + 56, ACPI_FILE_TABLES);
		boot_put_le(c + 112, b->ptrs[i].offset, 4);
		c[116] = b->ptrs[i].size;
	}
	for (unsigned i = 0; i < b->ntables; i++) {
		uint32_t t = b->tables[i];
		loader_checksum(out, ACPI_FILE_TABLES, t + 9, t, boot_get32(buf + t + 4));
	}
	loader_checksum(out, ACPI_FILE_RSDP, 8, 0, 20);
	loader_checksum(out, ACPI_FILE_RSDP, 32, 0, RSDP_LEN);
out:
	if (ret < 0)
		acpi_blob_free(out);
	builder_free(b);
	return ret;
}

void acpi_blob_free(struct acpi_blob *b)
{
	free(b->tables);
	free(b->loader);
	memset(b, 0, sizeof(*b));
}
