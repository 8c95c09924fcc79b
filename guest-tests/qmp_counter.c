/* qmp_counter: the guest the QMP tests drive (tests/qmp/). In ring 3 it
 * counts and prints "count N" about every 50 ms of TSC time, and polls the
 * ACPI PM1a status register (ACPI 6.4 section 4.8.3.1.1): when PWRBTN_STS is
 * set it prints "power button", clears it and enters S5 through PM1a_CNT
 * (SLP_TYP 5 as the DSDT's \_S5 declares, SLP_EN) unless the command line
 * says "ignore_button". With "idle" it never reaches ring 3: it halts with
 * interrupts off in ring 0 (no CPU use; for the many-VM test). */
#include "rt.h"

#define PM1A_STS 0x600
#define PM1A_CNT 0x604
#define PWRBTN_STS 0x0100
#define SLP_TYP_S5 5
#define SLP_EN 0x2000

/* Ring 0 code: general registers only (the runtime's rule, rt.h). */
__attribute__((target("general-regs-only")))
static int has_word(const char *s, const char *w)
{
	for (; *s; s++) {
		size_t i = 0;
		while (w[i] && s[i] == w[i])
			i++;
		if (!w[i] && (s[i] == '\0' || s[i] == ' '))
			return 1;
	}
	return 0;
}

__attribute__((target("general-regs-only")))
void rt_ring0_hook(void)
{
	/* Multiboot info (identity mapped): flags bit 2 says cmdline is valid. */
	const uint32_t *mbi = (const uint32_t *)(uintptr_t)rt_mb_info;
	if (!rt_mb_info || !(mbi[0] & 4) || !has_word((const char *)(uintptr_t)mbi[4], "idle"))
		return;
	rt_puts("qmp_counter idle\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}

void rt_main(void)
{
	int ignore = rt_cmdline_arg("ignore_button") != 0;
	rt_printf("qmp_counter start\n");
	uint64_t last = rt_rdtsc(), count = 0;
	for (;;) {
		uint16_t sts = inw(PM1A_STS);
		if (sts & PWRBTN_STS) {
			outw(PM1A_STS, PWRBTN_STS);      /* write 1 to clear */
			rt_printf("power button%s\n", ignore ? " ignored" : "");
			if (!ignore)
				outw(PM1A_CNT, (uint16_t)((SLP_TYP_S5 << 10) | SLP_EN));
		}
		uint64_t now = rt_rdtsc();
		if (now - last > 100000000ull) {   /* ~50 ms at 2 GHz */
			last = now;
			rt_printf("count %llu\n", (unsigned long long)++count);
		}
		for (volatile int i = 0; i < 1000; i++)
			;
	}
}
