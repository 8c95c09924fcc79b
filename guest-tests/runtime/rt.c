/* Ring-3 half of the guest runtime: start-up from the multiboot information
 * (multiboot 0.6.96 section 3.3), COM1 console, exits through isa-debug-exit,
 * the page allocator, the command line, PCI mechanism #1 (PCI 3.0 3.2.2.3.2)
 * and AP start-up by INIT-SIPI-SIPI (Intel SDM vol. 3A 8.4.4.1, 10.6.1 ICR). */
#include "rt.h"
#include "rt_asm.h"

extern char _end[];
extern char rt_ap_tramp_start[], rt_ap_tramp_end[];
extern volatile uint32_t rt_ap_boot_cpu;
void rt_user_entry(unsigned cpu);
void rt_console_unlock(void);

static char cmdline[4096];
static char args[4096];                 /* cmdline split into NUL-separated words */
static unsigned nargs_bytes;
static uint64_t ram_bytes;
static uint64_t heap_next, heap_end;
static void (*volatile ap_fn[RT_MAX_CPUS])(unsigned);
static volatile uint32_t ap_online[RT_MAX_CPUS];
static volatile uint32_t console_lock;

/* ---- console ---- */

void rt_putc(char c)
{
	for (unsigned i = 0; i < 100000 && !(inb(RT_COM1 + 5) & 0x20); i++)
		rt_pause();
	outb(RT_COM1, (uint8_t)c);
}

static void console_acquire(void)
{
	/* Bounded: a CPU that died holding the lock must not silence the others. */
	for (unsigned i = 0; i < 10000000; i++) {
		if (!__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
			return;
		rt_pause();
	}
}

void rt_console_unlock(void)
{
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

void rt_puts(const char *s)
{
	console_acquire();
	while (*s)
		rt_putc(*s++);
	rt_console_unlock();
}

int rt_vprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = rt_vsnprintf(buf, sizeof(buf), fmt, ap);
	rt_puts(buf);
	if (n >= (int)sizeof(buf))
		rt_puts("...");
	return n;
}

int rt_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = rt_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

/* ---- exits ---- */

_Noreturn void rt_exit(uint8_t v)
{
	outb(RT_DEBUG_EXIT_PORT, v);
	/* A VMM may let this CPU run on a little while it stops the VM. */
	rt_delay_us(2000000);
	rt_puts("rt: isa-debug-exit did not stop the machine\n");
	for (;;)
		rt_pause();
}

_Noreturn void rt_pass(void)
{
	rt_puts("PASS\n");
	rt_exit(0);
}

_Noreturn void rt_fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	rt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rt_printf("FAIL: %s\n", buf);
	rt_exit(1);
}

/* ---- environment ---- */

const char *rt_cmdline(void)
{
	return cmdline;
}

const char *rt_cmdline_arg(const char *key)
{
	size_t kl = strlen(key);
	for (unsigned i = 0; i < nargs_bytes; i += strlen(args + i) + 1) {
		const char *w = args + i;
		if (strncmp(w, key, kl) == 0 && (w[kl] == '=' || w[kl] == 0))
			return w[kl] == '=' ? w + kl + 1 : w + kl;
	}
	return NULL;
}

uint64_t rt_ram_bytes(void)
{
	return ram_bytes;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Reads the multiboot information (anything it points to may later be
 * overwritten by the heap or the AP trampoline, so copy what we keep). */
static void env_init(void)
{
	uint64_t image_end = align_up((uint64_t)(uintptr_t)_end, RT_PAGE_SIZE);
	heap_next = image_end;
	heap_end = 0;
	if (rt_mb_magic == 0x2badb002u && rt_mb_info) {
		const volatile uint32_t *mbi = (const volatile uint32_t *)(uintptr_t)rt_mb_info;
		uint32_t flags = mbi[0];
		if (flags & 0x1) {
			ram_bytes = (uint64_t)(mbi[1] + mbi[2]) * 1024;
			heap_end = 0x100000 + (uint64_t)mbi[2] * 1024;
		}
		if ((flags & 0x4) && mbi[4]) {
			const char *s = (const char *)(uintptr_t)mbi[4];
			size_t i;
			for (i = 0; i + 1 < sizeof(cmdline) && s[i]; i++)
				cmdline[i] = s[i];
			cmdline[i] = 0;
		}
		if ((flags & 0x8) && mbi[5] && mbi[6]) {
			const volatile uint32_t *mod = (const volatile uint32_t *)(uintptr_t)mbi[6];
			for (uint32_t m = 0; m < mbi[5] && m < 256; m++, mod += 4)
				if (mod[1] > heap_next)
					heap_next = align_up(mod[1], RT_PAGE_SIZE);
		}
		if (flags & 0x40) {
			uint64_t total = 0, p = mbi[12], end = (uint64_t)mbi[12] + mbi[11];
			while (p + 24 <= end) {
				const volatile uint8_t *e = (const volatile uint8_t *)(uintptr_t)p;
				uint32_t size = *(const volatile uint32_t *)e;
				uint64_t base = *(const volatile uint64_t *)(e + 4);
				uint64_t len = *(const volatile uint64_t *)(e + 12);
				uint32_t type = *(const volatile uint32_t *)(e + 20);
				if (type == 1) {
					total += len;
					if (base <= image_end && image_end < base + len)
						heap_end = base + len;
				}
				p += (uint64_t)size + 4;
			}
			if (total)
				ram_bytes = total;
		}
	}
	if (heap_end == 0 || heap_end > 0xc0000000u)
		heap_end = heap_end ? 0xc0000000u : image_end + 16 * 0x100000;
	/* Split the command line into words for rt_cmdline_arg(). */
	unsigned o = 0;
	for (const char *s = cmdline; *s && o + 1 < sizeof(args);) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		while (*s && *s != ' ' && o + 1 < sizeof(args))
			args[o++] = *s++;
		args[o++] = 0;
	}
	nargs_bytes = o;
}

void *rt_alloc_pages(size_t npages)
{
	uint64_t bytes = (uint64_t)npages * RT_PAGE_SIZE;
	uint64_t p = __atomic_fetch_add(&heap_next, bytes, __ATOMIC_RELAXED);
	if (npages > (1ull << 20) || p + bytes > heap_end)
		rt_fail("rt_alloc_pages(%zu): out of memory (heap ends at 0x%llx)", npages,
			(unsigned long long)heap_end);
	memset((void *)(uintptr_t)p, 0, bytes);
	return (void *)(uintptr_t)p;
}

static void serial_init(void)
{
	outb(RT_COM1 + 1, 0x00);        /* no interrupts: we poll */
	outb(RT_COM1 + 3, 0x80);        /* DLAB: 115200 baud */
	outb(RT_COM1 + 0, 0x01);
	outb(RT_COM1 + 1, 0x00);
	outb(RT_COM1 + 3, 0x03);        /* 8N1 */
	outb(RT_COM1 + 2, 0x07);        /* FIFO on, cleared */
	outb(RT_COM1 + 4, 0x03);        /* DTR, RTS; OUT2 off */
}

/* First C code in ring 3, on every CPU (entry.S). */
void rt_user_entry(unsigned cpu)
{
	if (cpu == 0) {
		serial_init();
		env_init();
		rt_main();
		rt_pass();
	}
	void (*fn)(unsigned) = ap_fn[cpu];
	__atomic_store_n(&ap_online[cpu], 1, __ATOMIC_RELEASE);
	if (fn)
		fn(cpu);
	for (;;)
		rt_pause();
}

/* ---- SMP ---- */

void rt_delay_us(uint64_t us)
{
	uint64_t t0 = rt_rdtsc(), n = us * 3000;   /* a TSC up to 3 GHz waits long enough */
	while (rt_rdtsc() - t0 < n)
		rt_pause();
}

static void lapic_icr(uint32_t apic_id, uint32_t lo)
{
	mmio_write32(RT_LAPIC_BASE + 0x310, apic_id << 24);
	mmio_write32(RT_LAPIC_BASE + 0x300, lo);
	for (unsigned i = 0; i < 1000000 && (mmio_read32(RT_LAPIC_BASE + 0x300) & (1u << 12)); i++)
		rt_pause();
}

int rt_start_ap(unsigned apic_id, unsigned cpu, void (*fn)(unsigned cpu))
{
	static int tramp_copied;
	if (cpu == 0 || cpu >= RT_MAX_CPUS)
		return -2;
	if (!tramp_copied) {
		memcpy((void *)(uintptr_t)RT_AP_TRAMPOLINE, rt_ap_tramp_start,
		       (size_t)(rt_ap_tramp_end - rt_ap_tramp_start));
		tramp_copied = 1;
	}
	ap_fn[cpu] = fn;
	ap_online[cpu] = 0;
	rt_ap_boot_cpu = cpu;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	lapic_icr(apic_id, 0x4500);                         /* INIT, level assert */
	rt_delay_us(10000);
	for (int i = 0; i < 2 && !ap_online[cpu]; i++) {
		lapic_icr(apic_id, 0x4600 | (RT_AP_TRAMPOLINE >> 12));  /* start-up */
		rt_delay_us(200);
	}
	/* The AP's way to ring 3 runs at CPL0, which may be emulated (slow). */
	uint64_t t0 = rt_rdtsc();
	while (!__atomic_load_n(&ap_online[cpu], __ATOMIC_ACQUIRE)) {
		if (rt_rdtsc() - t0 > 20000000000ull)
			return -1;
		rt_pause();
	}
	return 0;
}

/* ---- PCI configuration mechanism #1 ---- */

static void pci_addr(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	outl(0xcf8, 0x80000000u | (bus & 0xff) << 16 | (dev & 0x1f) << 11 | (fn & 7) << 8 | (off & 0xfc));
}

uint32_t pci_cfg_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	pci_addr(bus, dev, fn, off);
	return inl(0xcfc);
}

uint16_t pci_cfg_read16(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	pci_addr(bus, dev, fn, off);
	return inw(0xcfc + (off & 2));
}

uint8_t pci_cfg_read8(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	pci_addr(bus, dev, fn, off);
	return inb(0xcfc + (off & 3));
}

void pci_cfg_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
	pci_addr(bus, dev, fn, off);
	outl(0xcfc, v);
}

void pci_cfg_write16(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint16_t v)
{
	pci_addr(bus, dev, fn, off);
	outw(0xcfc + (off & 2), v);
}

void pci_cfg_write8(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint8_t v)
{
	pci_addr(bus, dev, fn, off);
	outb(0xcfc + (off & 3), v);
}
