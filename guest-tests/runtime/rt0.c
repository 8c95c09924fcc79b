/* Ring-0 half of the guest runtime: GDT with a TSS per CPU, the IDT of
 * exception gates (Intel SDM vol. 3A 6.14 64-bit IDT, 7.7 64-bit TSS) and the
 * fatal-exception report. Runs at CPL0, which some hosts emulate instruction
 * by instruction (docs/testing.md): keep the work here minimal. */
#include "rt.h"
#include "rt_asm.h"

struct tss64 {
	uint32_t rsvd0;
	uint64_t rsp[3];
	uint64_t rsvd1;
	uint64_t ist[7];
	uint64_t rsvd2;
	uint16_t rsvd3;
	uint16_t iomap_base;
} __attribute__((packed));

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, rsvd;
} __attribute__((packed));

struct frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vec, err, rip, cs, rflags, rsp, ss;
};

/* Flat descriptors: code64 L=1; data G=1 D/B=1 limit 4 GiB; code32 D=1. */
uint64_t rt_gdt[RT_GDT_BYTES / 8] __attribute__((aligned(16))) = {
	[SEL_KCODE64 / 8] = 0x00af9a000000ffffull,
	[SEL_KDATA / 8]   = 0x00cf92000000ffffull,
	[SEL_KCODE32 / 8] = 0x00cf9a000000ffffull,
	[SEL_UDATA / 8]   = 0x00cff2000000ffffull,
	[SEL_UCODE64 / 8] = 0x00affa000000ffffull,
};
struct { uint16_t limit; uint64_t base; } __attribute__((packed)) rt_gdtr = {
	RT_GDT_BYTES - 1, (uint64_t)(uintptr_t)rt_gdt
};

static struct tss64 tss[RT_MAX_CPUS] __attribute__((aligned(16)));
static struct idt_gate idt[32] __attribute__((aligned(16)));
static struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr;

uint32_t rt_mb_magic, rt_mb_info;
volatile uint32_t rt_ap_boot_cpu;

extern char rt_exc_stubs[], rt_kstacks[];
extern void rt_ring0_hook(void) __attribute__((weak));
void rt_cpu_setup(unsigned cpu);
_Noreturn void rt_exception(struct frame *f);
void rt_console_unlock(void);

void rt_cpu_setup(unsigned cpu)
{
	if (cpu == 0) {
		for (unsigned v = 0; v < 32; v++) {
			uint64_t a = (uint64_t)(uintptr_t)rt_exc_stubs + 16 * v;
			idt[v].off_lo = a & 0xffff;
			idt[v].sel = SEL_KCODE64;
			idt[v].type = 0x8e;     /* present, DPL0, 64-bit interrupt gate */
			idt[v].off_mid = (a >> 16) & 0xffff;
			idt[v].off_hi = a >> 32;
		}
		idtr.limit = sizeof(idt) - 1;
		idtr.base = (uint64_t)(uintptr_t)idt;
	}
	struct tss64 *t = &tss[cpu];
	t->rsp[0] = (uint64_t)(uintptr_t)rt_kstacks + ((uint64_t)(cpu + 1) << KSTACK_SHIFT);
	t->iomap_base = sizeof(*t);     /* no I/O bitmap: IOPL=3 grants ports */
	uint64_t b = (uint64_t)(uintptr_t)t, lim = sizeof(*t) - 1;
	unsigned d = (SEL_TSS0 + 16 * cpu) / 8;
	rt_gdt[d] = (lim & 0xffff) | ((b & 0xffffff) << 16) | (0x89ull << 40) |
		    (((lim >> 16) & 0xf) << 48) | (((b >> 24) & 0xff) << 56);
	rt_gdt[d + 1] = b >> 32;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS0 + 16 * cpu));
	__asm__ volatile("lidt %0" : : "m"(idtr));
	if (cpu == 0 && rt_ring0_hook)
		rt_ring0_hook();
}

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
	"#TS", "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM",
	"#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC",
	"#SX", "#31",
};

/* Any exception is fatal in a test guest: report it and fail. */
_Noreturn void rt_exception(struct frame *f)
{
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	rt_console_unlock();
	rt_printf("\nFAIL: exception %s (vector %llu) on cpu %u at rip=0x%llx cs=0x%llx err=0x%llx "
		  "rsp=0x%llx rflags=0x%llx cr2=0x%llx\n",
		  f->vec < 32 ? exc_names[f->vec] : "?", (unsigned long long)f->vec,
		  rt_lapic_id(), (unsigned long long)f->rip, (unsigned long long)f->cs,
		  (unsigned long long)f->err, (unsigned long long)f->rsp,
		  (unsigned long long)f->rflags, (unsigned long long)cr2);
	rt_printf("  rax=%llx rbx=%llx rcx=%llx rdx=%llx rsi=%llx rdi=%llx rbp=%llx\n",
		  (unsigned long long)f->rax, (unsigned long long)f->rbx, (unsigned long long)f->rcx,
		  (unsigned long long)f->rdx, (unsigned long long)f->rsi, (unsigned long long)f->rdi,
		  (unsigned long long)f->rbp);
	outb(RT_DEBUG_EXIT_PORT, 1);
	for (;;)
		__asm__ volatile("cli; hlt");
}
