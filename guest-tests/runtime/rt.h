/* Guest runtime for the freestanding test guests: the contract between the
 * runtime (guest-tests/runtime/) and the guests (/work/coord/rt-api.md).
 * Multiboot 0.6.96 entry -> long mode -> ring 3 (IOPL=3) -> rt_main() on CPU 0;
 * output on COM1, exit through isa-debug-exit (port 0xf4, status (v<<1)|1). */
#ifndef GUEST_TESTS_RT_H
#define GUEST_TESTS_RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define RT_PAGE_SIZE   4096u
#define RT_MAX_CPUS    16
#define RT_LAPIC_BASE  0xfee00000ull
#define RT_DEBUG_EXIT_PORT 0xf4
#define RT_COM1        0x3f8

/* Provided by the guest: runs in ring 3 on CPU 0. Returning from it passes. */
void rt_main(void);

/* Optional, provided by the guest (weak in the runtime): runs at CPL0 on CPU 0
 * after the GDT/TSS/IDT are loaded, just before the drop to ring 3. Keep it
 * tiny: on some hosts guest kernel mode is emulated (docs/testing.md). */
void rt_ring0_hook(void);

/* Output on COM1, polled. */
void rt_putc(char c);
void rt_puts(const char *s);                  /* no newline added */
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vprintf(const char *fmt, va_list ap);
/* %d %i %u %x %X %o %c %s %p %% with l/ll/z, width, '-' and '0' flags. */
int rt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* Ending the guest (isa-debug-exit: QEMU status = (v << 1) | 1). If no
 * debug-exit device stops the machine, these spin forever. */
_Noreturn void rt_pass(void);                 /* "PASS\n", writes 0 -> status 1 */
_Noreturn void rt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
                                              /* "FAIL: <msg>\n", writes 1 -> status 3 */
_Noreturn void rt_exit(uint8_t v);            /* raw write of v */

#define RT_STR_(x) #x
#define RT_STR(x) RT_STR_(x)
#define RT_CHECK(cond) \
	do { if (!(cond)) rt_fail("%s:%d: %s", __FILE__, __LINE__, #cond); } while (0)
#define RT_CHECK_EQ(a, b) \
	do { unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
	     if (a_ != b_) rt_fail("%s:%d: %s == %s (0x%llx != 0x%llx)", __FILE__, __LINE__, \
	                           #a, #b, a_, b_); } while (0)

/* Port I/O (ring 3 works: IOPL=3). */
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(p)); }

/* MMIO at a physical address (identity mapped, user accessible below 4 GiB).
 * One mov each (inline asm: never split or merged, and no compiler warnings
 * about constant low addresses). */
#define RT_MMIO_RW(bits, type, suffix)                                               \
	static inline type mmio_read##bits(uint64_t pa)                               \
	{                                                                             \
		type v;                                                               \
		__asm__ volatile("mov" suffix " (%1), %0" : "=r"(v) : "r"(pa) : "memory"); \
		return v;                                                             \
	}                                                                             \
	static inline void mmio_write##bits(uint64_t pa, type v)                      \
	{                                                                             \
		__asm__ volatile("mov" suffix " %0, (%1)" : : "r"(v), "r"(pa) : "memory"); \
	}
RT_MMIO_RW(8, uint8_t, "b")
RT_MMIO_RW(16, uint16_t, "w")
RT_MMIO_RW(32, uint32_t, "l")
RT_MMIO_RW(64, uint64_t, "q")

/* Memory: physical == virtual below 4 GiB. */
void *rt_alloc_pages(size_t npages);          /* zeroed, 4 KiB aligned; rt_fail()s when RAM is exhausted */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
/* Parses a decimal or 0x-prefixed hex number; *end (if non-NULL) gets the first unparsed char. */
unsigned long long rt_strtoull(const char *s, const char **end);

/* Environment. */
const char *rt_cmdline(void);                 /* multiboot command line ("" if none) */
const char *rt_cmdline_arg(const char *key);  /* value of key=value ("" for a bare key), or NULL */
uint64_t rt_ram_bytes(void);                  /* RAM from the multiboot memory map / mem_upper */

static inline uint64_t rt_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void rt_pause(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void rt_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
/* CPL from the low bits of CS (3 in rt_main). */
static inline unsigned rt_cpl(void)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}
/* Local APIC id of the calling CPU (xAPIC MMIO at 0xfee00000). */
static inline unsigned rt_lapic_id(void) { return mmio_read32(RT_LAPIC_BASE + 0x20) >> 24; }

/* SMP. rt_start_ap() starts the application processor with local APIC id
 * apic_id through INIT-SIPI-SIPI on the xAPIC (from ring 3: the LAPIC page is
 * user mapped). The AP runs a real-mode trampoline copied to RT_AP_TRAMPOLINE,
 * enters long mode on the runtime's page tables, loads its own TSS and the
 * IDT, drops to ring 3 and calls fn(cpu); when fn returns it spins. Returns 0
 * once the AP is in ring 3, -1 if it did not get there within about a second
 * of TSC time, -2 for a bad cpu index (0 is the BSP; < RT_MAX_CPUS). One AP at
 * a time; call from CPU 0 only. */
#define RT_AP_TRAMPOLINE 0x10000u
int rt_start_ap(unsigned apic_id, unsigned cpu, void (*fn)(unsigned cpu));
/* Busy-waits about us microseconds, assuming a TSC of at least 1 GHz
 * (only for hardware-protocol delays, never to measure). */
void rt_delay_us(uint64_t us);

/* PCI configuration mechanism #1 (0xcf8/0xcfc). */
uint32_t pci_cfg_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off);
uint16_t pci_cfg_read16(unsigned bus, unsigned dev, unsigned fn, unsigned off);
uint8_t pci_cfg_read8(unsigned bus, unsigned dev, unsigned fn, unsigned off);
void pci_cfg_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v);
void pci_cfg_write16(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint16_t v);
void pci_cfg_write8(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint8_t v);

/* Multiboot information as the loader passed it (EBX at entry); 0 if the
 * magic in EAX was wrong. Parsed by the runtime before rt_main. */
extern uint32_t rt_mb_magic, rt_mb_info;

#endif
