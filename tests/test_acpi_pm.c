/* Unit tests for the ACPI PM block (devices/acpi_pm.c): S5 powers off and
 * other sleep types do not, the power button raises the SCI until the status
 * bit is written back, SCI_EN gates it, the PM timer runs at 3.58 MHz, and
 * 0xcf9 resets only with RST_CPU. */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "boot/layout.h"
#include "devices/acpi_pm.h"
#include "devices/irq.h"
#include "devices/vm_control.h"
#include "tests/check.h"
#include "tests/test_util.h"
#include "vmm/bus.h"

/* The SCI line as the device last set it. */
struct sci_rec {
	int level, calls;
	uint32_t gsi;
};

static struct test_ctl_rec rec;
static struct sci_rec sci;
static int sci_set_line(void *o, uint32_t gsi, int level)
{
	struct sci_rec *r = o;
	r->gsi = gsi;
	r->level = level;
	r->calls++;
	return 0;
}
static int sci_send_msi(void *o, uint64_t addr, uint32_t data) { return -1; }

static const struct vm_control ctl = TEST_CTL(&rec);
static const struct vmm_irq irq = { sci_set_line, sci_send_msi, &sci };
static struct bus pio;

#define inw(port) ((uint16_t)test_pio_in(&pio, (port), 2))
#define outw(port, v) test_pio_out(&pio, (port), 2, (v))
#define inl(port) ((uint32_t)test_pio_in(&pio, (port), 4))

static double secs_between(const struct timespec *t0, const struct timespec *t1)
{
	return (double)(t1->tv_sec - t0->tv_sec) + (double)(t1->tv_nsec - t0->tv_nsec) / 1e9;
}

static struct acpi_pm *fresh(void)
{
	struct acpi_pm *pm = NULL;
	rec = (struct test_ctl_rec){ 0 };
	sci = (struct sci_rec){ 0 };
	CHECK_EQ(acpi_pm_create(&pm, &pio, &irq, LAYOUT_IRQ_ACPI_SCI, &ctl), 0);
	return pm;
}

static uint16_t slp(unsigned typ)
{
	return (uint16_t)(ACPI_PM1_CNT_SCI_EN | (typ << ACPI_PM1_CNT_SLP_TYP_SHIFT) | ACPI_PM1_CNT_SLP_EN);
}

static void test_sleep(void)
{
	struct acpi_pm *pm = fresh();
	CHECK_EQ(inw(LAYOUT_ACPI_PM1A_CNT) & ACPI_PM1_CNT_SCI_EN, ACPI_PM1_CNT_SCI_EN);
	/* SLP_TYP alone, without SLP_EN, does nothing. */
	outw(LAYOUT_ACPI_PM1A_CNT, ACPI_PM1_CNT_SCI_EN | (LAYOUT_ACPI_SLP_TYP_S5 << 10));
	CHECK_EQ(rec.poweroffs, 0);
	CHECK_EQ(inw(LAYOUT_ACPI_PM1A_CNT), ACPI_PM1_CNT_SCI_EN | (LAYOUT_ACPI_SLP_TYP_S5 << 10));
	/* Other sleep types are not power-off; the guest sees itself woken. */
	for (unsigned t = 0; t < 8; t++) {
		if (t == LAYOUT_ACPI_SLP_TYP_S5)
			continue;
		outw(LAYOUT_ACPI_PM1A_CNT, slp(t));
	}
	CHECK_EQ(rec.poweroffs, 0);
	CHECK_EQ(inw(LAYOUT_ACPI_PM1A_EVT) & ACPI_PM1_WAK_STS, ACPI_PM1_WAK_STS);
	CHECK_EQ(inw(LAYOUT_ACPI_PM1A_CNT) & ACPI_PM1_CNT_SLP_EN, 0); /* reads as 0 */
	outw(LAYOUT_ACPI_PM1A_EVT, ACPI_PM1_WAK_STS);
	CHECK_EQ(inw(LAYOUT_ACPI_PM1A_EVT) & ACPI_PM1_WAK_STS, 0);
	/* S5: exactly one power-off, also as a byte write of the high half
	 * (which holds both SLP_TYP and SLP_EN). */
	outw(LAYOUT_ACPI_PM1A_CNT, slp(LAYOUT_ACPI_SLP_TYP_S5));
	CHECK_EQ(rec.poweroffs, 1);
	uint8_t hi = (uint8_t)(slp(LAYOUT_ACPI_SLP_TYP_S5) >> 8);
	bus_write(&pio, LAYOUT_ACPI_PM1A_CNT + 1, &hi, 1);
	CHECK_EQ(rec.poweroffs, 2);
	CHECK_EQ(rec.resets + rec.exits, 0);
	acpi_pm_destroy(pm);
}

static void test_power_button(void)
{
	struct acpi_pm *pm = fresh();
	/* Not enabled: status set, no SCI. */
	acpi_pm_power_button(pm);
	CHECK_EQ(inw(LAYOUT_ACPI_PM1A_EVT) & ACPI_PM1_PWRBTN_STS, ACPI_PM1_PWRBTN_STS);
	CHECK_EQ(sci.level, 0);
	/* Enabling with the status pending raises it. */
	outw(LAYOUT_ACPI_PM1A_EVT + 2, ACPI_PM1_PWRBTN_EN);
	CHECK_EQ(inw(LAYOUT_ACPI_PM1A_EVT + 2), ACPI_PM1_PWRBTN_EN);
	CHECK_EQ(sci.level, 1);
	CHECK_EQ(sci.gsi, LAYOUT_IRQ_ACPI_SCI);
	/* Writing 0 to the status changes nothing; 1 clears. */
	outw(LAYOUT_ACPI_PM1A_EVT, 0);
	CHECK_EQ(sci.level, 1);
	outw(LAYOUT_ACPI_PM1A_EVT, ACPI_PM1_PWRBTN_STS);
	CHECK_EQ(sci.level, 0);
	CHECK_EQ(inw(LAYOUT_ACPI_PM1A_EVT) & ACPI_PM1_PWRBTN_STS, 0);
	/* A second press with the enable set raises the SCI at once. */
	int calls = sci.calls;
	acpi_pm_power_button(pm);
	CHECK_EQ(sci.level, 1);
	CHECK_EQ(sci.calls, calls + 1);
	acpi_pm_power_button(pm);       /* no change of level: no call */
	CHECK_EQ(sci.calls, calls + 1);
	/* SCI_EN gates the line. */
	outw(LAYOUT_ACPI_PM1A_CNT, 0);
	CHECK_EQ(sci.level, 0);
	outw(LAYOUT_ACPI_PM1A_CNT, ACPI_PM1_CNT_SCI_EN);
	CHECK_EQ(sci.level, 1);
	outw(LAYOUT_ACPI_PM1A_EVT + 2, 0);
	CHECK_EQ(sci.level, 0);
	CHECK_EQ(rec.poweroffs, 0);       /* the button only asks the guest */
	acpi_pm_destroy(pm);
}

static void test_timer(void)
{
	struct acpi_pm *pm = fresh();
	uint32_t a = inl(LAYOUT_ACPI_PM_TMR);
	usleep(10000);
	uint32_t b = inl(LAYOUT_ACPI_PM_TMR);
	CHECK(a <= 0xffffff && b <= 0xffffff);
	uint32_t d = (b - a) & 0xffffff;
	/* 10 ms is 35795 ticks; allow for a slow, loaded machine. */
	CHECK(d >= 35000 && d < 3579545);
	/* The rate, bracketed: each timer read lies between two clock reads, so
	 * the time between the two timer reads is within [t2 - t1, t3 - t0]. A
	 * loaded machine widens the bracket but cannot move 3.579545 MHz out of
	 * it; a wrong rate falls out of the first narrow one (< 5% wide). */
	int narrow = 0;
	for (int i = 0; i < 20 && !narrow; i++) {
		struct timespec t[4];
		clock_gettime(CLOCK_MONOTONIC, &t[0]);
		a = inl(LAYOUT_ACPI_PM_TMR);
		clock_gettime(CLOCK_MONOTONIC, &t[1]);
		usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &t[2]);
		b = inl(LAYOUT_ACPI_PM_TMR);
		clock_gettime(CLOCK_MONOTONIC, &t[3]);
		double ticks = (b - a) & 0xffffff;
		double lo = ticks / secs_between(&t[0], &t[3]), hi = ticks / secs_between(&t[1], &t[2]);
		CHECK(lo < 3579545 * 1.001 && hi > 3579545 * 0.999);
		narrow = hi - lo < 3579545 * 0.05;
	}
	/* The timer is read-only. */
	uint32_t z = 0;
	bus_write(&pio, LAYOUT_ACPI_PM_TMR, &z, 4);
	CHECK(((inl(LAYOUT_ACPI_PM_TMR) - b) & 0xffffff) < 3579545);
	CHECK_EQ(inw(LAYOUT_ACPI_PM1A_EVT) & ACPI_PM1_TMR_STS, 0); /* bit 23 not yet toggled */
	acpi_pm_destroy(pm);
}

static void test_reset_reg(void)
{
	struct acpi_pm *pm = fresh();
	uint8_t v = 0x02;
	acpi_pm_cf9_ops.write(pm, 0, 1, v);
	CHECK_EQ(rec.resets, 0);
	acpi_pm_cf9_ops.write(pm, 0, 1, 0x06);
	CHECK_EQ(rec.resets, 1);
	acpi_pm_cf9_ops.write(pm, 0, 1, 0x0e);
	CHECK_EQ(rec.resets, 2);
	CHECK_EQ(acpi_pm_cf9_ops.read(pm, 0, 1), 0);
	CHECK_EQ(rec.poweroffs, 0);
	acpi_pm_destroy(pm);
	CHECK(bus_lookup_name(&pio, LAYOUT_ACPI_PM1A_CNT) == NULL);
}

static void test_busy(void)
{
	static const struct bus_ops none = { NULL, NULL };
	struct acpi_pm *pm = NULL;
	CHECK_EQ(bus_register(&pio, LAYOUT_ACPI_PM_TMR, 4, &none, &pio, "other"), 0);
	CHECK_EQ(acpi_pm_create(&pm, &pio, &irq, LAYOUT_IRQ_ACPI_SCI, &ctl), -EEXIST);
	CHECK(pm == NULL);
	bus_unregister(&pio, LAYOUT_ACPI_PM_TMR, &pio);
}

int main(void)
{
	bus_init(&pio, "pio");
	test_sleep();
	test_power_button();
	test_timer();
	test_reset_reg();
	test_busy();
	bus_destroy(&pio);
	return check_done();
}
