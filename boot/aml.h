/* A small AML byte emitter for the DSDT (ACPI 6.4 chapter 20, "ACPI Machine
 * Language Specification"): scopes, devices, named integers, EISA IDs,
 * buffers and packages, plus resource descriptors for _CRS (section 6.4).
 * Writes into a caller's buffer; overflow is sticky and reported at the end. */
#ifndef VMM_BOOT_AML_H
#define VMM_BOOT_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 8

struct aml {
	uint8_t *buf;
	size_t cap, len;
	int overflow;                   /* set once anything did not fit */
	size_t open[AML_MAX_DEPTH];     /* offsets of pending PkgLength fields */
	unsigned depth;
};

void aml_init(struct aml *a, void *buf, size_t cap);
/* 0 when everything fit and every open object was closed, else -1. */
int aml_finish(const struct aml *a);

void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/* NameString: "\\_SB_", "PCI0", "\\_SB_.PCI0" (segments of 1-4 chars, padded with '_'). */
void aml_name(struct aml *a, const char *path);
/* ZeroOp/OneOp/ByteConst/WordConst/DWordConst/QWordConst, the shortest that fits. */
void aml_integer(struct aml *a, uint64_t v);
/* EISAID("PNP0A03") as a DWordConst (always 4 bytes, as iasl does). */
void aml_eisaid(struct aml *a, const char *id);

/* Objects with a PkgLength: open, emit the body, aml_close(). */
void aml_scope_open(struct aml *a, const char *path);
void aml_device_open(struct aml *a, const char *name);
/* Package(n) { ... }: the n elements follow, then aml_close(). */
void aml_package_open(struct aml *a, unsigned nelems);
/* Buffer() { ... }: the BufferSize is filled in by aml_close(). */
void aml_buffer_open(struct aml *a);
void aml_close(struct aml *a);

/* Name(NAME, ...) headers: the value follows. */
void aml_name_decl(struct aml *a, const char *name);
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);

/* Resource descriptors, emitted inside aml_buffer_open()/aml_close();
 * aml_res_end() adds the End Tag (checksum 0). */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq_noflags(struct aml *a, unsigned irq);
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max);
void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len);
void aml_res_end(struct aml *a);

#endif
