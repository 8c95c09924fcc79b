/* Small helpers for the virtio test guests: polled COM1 output and the
 * isa-debug-exit port, so the guests depend on the runtime only for entry
 * into ring 3 (IOPL=3) and calling main(). */
#ifndef VMM_GUEST_VGUEST_H
#define VMM_GUEST_VGUEST_H

#include <stdint.h>

static inline void vg_outb(uint16_t port, uint8_t v) { __asm__ __volatile__("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t vg_inb(uint16_t port) { uint8_t v; __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline void vg_putc(char c)
{
	for (unsigned i = 0; i < 100000 && !(vg_inb(0x3fd) & 0x20); i++)
		;
	vg_outb(0x3f8, (uint8_t)c);
}

static inline void vg_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			vg_putc('\r');
		vg_putc(*s++);
	}
}

static inline void vg_putx(uint64_t v)
{
	char buf[19];
	int i = 18;

	buf[i] = 0;
	do {
		buf[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v && i > 2);
	buf[--i] = 'x';
	buf[--i] = '0';
	vg_puts(&buf[i]);
}

/* QEMU's isa-debug-exit at 0xf4: the VMM exits with (code << 1) | 1. */
static inline void vg_exit(uint8_t code)
{
	__asm__ __volatile__("outl %0, %1" :: "a"((uint32_t)code), "Nd"((uint16_t)0xf4));
	for (;;)
		__asm__ __volatile__("pause");
}

/* For the standalone entry: main's return value becomes the exit code. */
void vg_exit_c(int code);

#define VG_CHECK(cond, code) do { \
	if (!(cond)) { \
		vg_puts("FAIL: " #cond " (" __FILE__ ":"); vg_putx(__LINE__); vg_puts(")\n"); \
		vg_exit(code); \
	} \
} while (0)

#endif
