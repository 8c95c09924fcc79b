/* AML byte emitter (ACPI 6.4 section 20.2 grammar: PkgLength 20.2.4, NameString
 * 20.2.2, data objects 20.2.3; resource descriptors section 6.4). Objects with a
 * PkgLength are written body first and the length inserted on close, so every
 * PkgLength uses the shortest encoding, as iasl emits. */
#include "boot/aml.h"

#include <string.h>

enum { KIND_PLAIN, KIND_BUFFER };

void aml_init(struct aml *a, void *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

int aml_finish(const struct aml *a)
{
	return a->overflow || a->depth ? -1 : 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = 1;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static void name_seg(struct aml *a, const char *s, size_t n)
{
	char seg[4] = { '_', '_', '_', '_' };
	if (n > 4)
		n = 4;
	memcpy(seg, s, n);
	aml_bytes(a, seg, 4);
}

void aml_name(struct aml *a, const char *path)
{
	const char *p = path;
	while (*p == '\\' || *p == '^')
		aml_byte(a, (uint8_t)*p++);
	unsigned nseg = 0;
	for (const char *q = p; *q; q++)
		if (*q == '.')
			nseg++;
	nseg = *p ? nseg + 1 : 0;
	if (nseg == 0)
		aml_byte(a, 0x00);           /* NullName */
	else if (nseg == 2)
		aml_byte(a, 0x2e);           /* DualNamePrefix */
	else if (nseg > 2) {
		aml_byte(a, 0x2f);           /* MultiNamePrefix */
		aml_byte(a, (uint8_t)nseg);
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		name_seg(a, p, n);
		p += n;
		if (*p == '.')
			p++;
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, 0x00);
	else if (v == 1)
		aml_byte(a, 0x01);
	else if (v <= 0xff) {
		aml_byte(a, 0x0a);
		le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b);
		le(a, v, 2);
	} else if (v <= 0xffffffffu) {
		aml_byte(a, 0x0c);
		le(a, v, 4);
	} else {
		aml_byte(a, 0x0e);
		le(a, v, 8);
	}
}

static unsigned hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	/* Three 5-bit letters then four hex digits, stored big-endian. */
	uint8_t b[4] = { 0 };
	if (strlen(id) == 7) {
		unsigned c1 = (unsigned)(id[0] - 0x40) & 0x1f;
		unsigned c2 = (unsigned)(id[1] - 0x40) & 0x1f;
		unsigned c3 = (unsigned)(id[2] - 0x40) & 0x1f;
		b[0] = (uint8_t)((c1 << 2) | (c2 >> 3));
		b[1] = (uint8_t)(((c2 & 7) << 5) | c3);
		b[2] = (uint8_t)((hexval(id[3]) << 4) | hexval(id[4]));
		b[3] = (uint8_t)((hexval(id[5]) << 4) | hexval(id[6]));
	}
	aml_byte(a, 0x0c);
	aml_bytes(a, b, 4);
}

static void open_pkg(struct aml *a, int kind)
{
	if (a->depth >= AML_MAX_DEPTH) {
		a->overflow = 1;
		return;
	}
	/* The low bit of the saved offset marks a Buffer; offsets are shifted. */
	a->open[a->depth++] = (a->len << 1) | (size_t)kind;
}

/* Inserts n bytes at pos, shifting what follows. */
static void insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = 1;
		return;
	}
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, p, n);
	a->len += n;
}

void aml_close(struct aml *a)
{
	if (a->depth == 0) {
		a->overflow = 1;
		return;
	}
	size_t v = a->open[--a->depth];
	size_t pos = v >> 1;
	int kind = (int)(v & 1);
	if (a->overflow)
		return;
	uint8_t hdr[16];
	size_t hn = 0;
	size_t body = a->len - pos;
	uint8_t sz[9];
	size_t szn = 0;
	if (kind == KIND_BUFFER) {
		/* BufferSize integer goes between the PkgLength and the bytes. */
		struct aml t;
		aml_init(&t, sz, sizeof(sz));
		aml_integer(&t, body);
		szn = t.len;
		body += szn;
	}
	size_t n;
	if (body + 1 <= 0x3f)
		n = 1;
	else if (body + 2 < (1u << 12))
		n = 2;
	else if (body + 3 < (1u << 20))
		n = 3;
	else
		n = 4;
	size_t total = body + n;
	if (total >= (1u << 28)) {
		a->overflow = 1;
		return;
	}
	if (n == 1) {
		hdr[hn++] = (uint8_t)total;
	} else {
		hdr[hn++] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			hdr[hn++] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memcpy(hdr + hn, sz, szn);
	hn += szn;
	insert(a, pos, hdr, hn);
}

void aml_scope_open(struct aml *a, const char *path)
{
	aml_byte(a, 0x10);                   /* ScopeOp */
	open_pkg(a, KIND_PLAIN);
	aml_name(a, path);
}

void aml_device_open(struct aml *a, const char *name)
{
	aml_byte(a, 0x5b);                   /* ExtOpPrefix */
	aml_byte(a, 0x82);                   /* DeviceOp */
	open_pkg(a, KIND_PLAIN);
	aml_name(a, name);
}

void aml_package_open(struct aml *a, unsigned nelems)
{
	aml_byte(a, 0x12);                   /* PackageOp */
	open_pkg(a, KIND_PLAIN);
	if (nelems > 255)
		a->overflow = 1;
	aml_byte(a, (uint8_t)nelems);
}

void aml_buffer_open(struct aml *a)
{
	aml_byte(a, 0x11);                   /* BufferOp */
	open_pkg(a, KIND_BUFFER);
}

void aml_name_decl(struct aml *a, const char *name)
{
	aml_byte(a, 0x08);                   /* NameOp */
	aml_name(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_name_decl(a, name);
	aml_integer(a, v);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name_decl(a, name);
	aml_eisaid(a, id);
}

/* --- Resource descriptors (ACPI 6.4 section 6.4) ----------------------- */

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	/* I/O Port Descriptor (6.4.2.5): Decode16, fixed base. */
	aml_byte(a, 0x47);
	aml_byte(a, 0x01);
	le(a, base, 2);
	le(a, base, 2);
	aml_byte(a, 0x01);
	aml_byte(a, len);
}

void aml_res_irq_noflags(struct aml *a, unsigned irq)
{
	/* IRQ Descriptor (6.4.2.1), two-byte mask form: edge, active high. */
	aml_byte(a, 0x22);
	le(a, irq < 16 ? 1u << irq : 0, 2);
}

static void word_space(struct aml *a, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	/* Word Address Space Descriptor (6.4.3.5.3): producer, MinFixed, MaxFixed. */
	aml_byte(a, 0x88);
	le(a, 0x0d, 2);
	aml_byte(a, type);
	aml_byte(a, 0x0c);
	aml_byte(a, tflags);
	le(a, 0, 2);                         /* granularity */
	le(a, min, 2);
	le(a, max, 2);
	le(a, 0, 2);                         /* translation */
	le(a, (uint32_t)max - min + 1, 2);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	word_space(a, 2, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	word_space(a, 1, 0x03, min, max);    /* EntireRange */
}

void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
	/* DWord Address Space Descriptor (6.4.3.5.2): memory, non-cacheable, RW. */
	aml_byte(a, 0x87);
	le(a, 0x17, 2);
	aml_byte(a, 0);
	aml_byte(a, 0x0c);
	aml_byte(a, 0x01);
	le(a, 0, 4);
	le(a, min, 4);
	le(a, max, 4);
	le(a, 0, 4);
	le(a, (uint64_t)max - min + 1, 4);
}

void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len)
{
	/* 32-Bit Fixed Memory Range Descriptor (6.4.3.4), read/write. */
	aml_byte(a, 0x86);
	le(a, 0x09, 2);
	aml_byte(a, 0x01);
	le(a, base, 4);
	le(a, len, 4);
}

void aml_res_end(struct aml *a)
{
	aml_byte(a, 0x79);
	aml_byte(a, 0x00);
}
