/* MC146818A CMOS RTC at 0x70/0x71: the host's UTC time (QEMU's default
 * -rtc base=utc) in BCD or binary, 12/24 h, registers A-D, and CMOS RAM with
 * the memory-size fields and checksum SeaBIOS reads (Motorola MC146818A data
 * sheet; QEMU hw/rtc/mc146818rtc.c and hw/i386/pc.c pc_cmos_init).
 * No interrupts: the update, alarm and periodic flags of register C are
 * computed from the clock when the guest reads it, and GSI 8 is never raised
 * (that would need a timer thread for a feature no supported guest uses). */
#include "devices/rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/layout.h"
#include "vmm/bus.h"

enum { R_SEC = 0, R_SEC_ALARM = 1, R_MIN = 2, R_MIN_ALARM = 3, R_HOUR = 4,
       R_HOUR_ALARM = 5, R_WDAY = 6, R_MDAY = 7, R_MON = 8, R_YEAR = 9,
       R_A = 0x0a, R_B = 0x0b, R_C = 0x0c, R_D = 0x0d, R_CENTURY = 0x32 };

#define A_UIP  0x80
#define A_DV   0x70
#define A_RS   0x0f
#define B_SET  0x80
#define B_PIE  0x40
#define B_AIE  0x20
#define B_UIE  0x10
#define B_DM   0x04 /* 1: binary, 0: BCD */
#define B_24H  0x02
#define C_IRQF 0x80
#define C_PF   0x40
#define C_AF   0x20
#define C_UF   0x10
#define D_VRT  0x80

#define NSEC 1000000000LL
#define UIP_NS 244000LL /* update cycle (1984 us max) flagged 244 us ahead */

struct rtc {
	pthread_mutex_t lock;
	struct bus *pio;
	uint8_t index;
	uint8_t cmos[128];
	int64_t offset_ns;  /* guest clock - host CLOCK_REALTIME */
	int64_t frozen_ns;  /* guest clock while B.SET stops updates */
	int64_t last_c_ns;  /* guest clock when register C was last read */
};

static int64_t host_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

static int64_t rtc_now_ns(const struct rtc *r)
{
	if (r->cmos[R_B] & B_SET)
		return r->frozen_ns;
	return host_now_ns() + r->offset_ns;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

static uint8_t to_reg(const struct rtc *r, int v)
{
	return (r->cmos[R_B] & B_DM) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Decodes a guest-written value; garbage BCD decodes to garbage, as on the
 * chip, but never to anything that could upset timegm(). */
static int from_reg(const struct rtc *r, uint8_t v)
{
	return (r->cmos[R_B] & B_DM) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t hour_to_reg(const struct rtc *r, int hour)
{
	if (r->cmos[R_B] & B_24H)
		return to_reg(r, hour);
	int h12 = hour % 12 ? hour % 12 : 12;
	return to_reg(r, h12) | (hour >= 12 ? 0x80 : 0);
}

static int hour_from_reg(const struct rtc *r, uint8_t v)
{
	if (r->cmos[R_B] & B_24H)
		return from_reg(r, v);
	int h = from_reg(r, v & 0x7f) % 12;
	return (v & 0x80) ? h + 12 : h;
}

static void rtc_tm(int64_t ns, struct tm *tm)
{
	time_t t = (time_t)floor_div(ns, NSEC);
	gmtime_r(&t, tm);
}

/* The time/date register idx as the chip would show it at guest time ns. */
static uint8_t rtc_time_reg(const struct rtc *r, unsigned idx, int64_t ns)
{
	struct tm tm;
	rtc_tm(ns, &tm);
	switch (idx) {
	case R_SEC:     return to_reg(r, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case R_MIN:     return to_reg(r, tm.tm_min);
	case R_HOUR:    return hour_to_reg(r, tm.tm_hour);
	case R_WDAY:    return to_reg(r, tm.tm_wday + 1);
	case R_MDAY:    return to_reg(r, tm.tm_mday);
	case R_MON:     return to_reg(r, tm.tm_mon + 1);
	case R_YEAR:    return to_reg(r, (tm.tm_year + 1900) % 100);
	default:        return to_reg(r, ((tm.tm_year + 1900) / 100) % 100);
	}
}

/* Broken-down time from the raw time registers; -1 if any field is out of
 * range (the clock then keeps its old time rather than guess). Years are
 * 1900..2199, which keeps nanoseconds since 1970 within 64 bits. */
static int rtc_decode_regs(const struct rtc *r, struct tm *tm)
{
	int sec = from_reg(r, r->cmos[R_SEC]), min = from_reg(r, r->cmos[R_MIN]);
	int hour = hour_from_reg(r, r->cmos[R_HOUR]), mday = from_reg(r, r->cmos[R_MDAY]);
	int mon = from_reg(r, r->cmos[R_MON]), year = from_reg(r, r->cmos[R_YEAR]);
	int cent = from_reg(r, r->cmos[R_CENTURY]);

	if (sec > 59 || min > 59 || hour > 23 || mday < 1 || mday > 31 ||
	    mon < 1 || mon > 12 || year > 99 || cent < 19 || cent > 21)
		return -1;
	*tm = (struct tm){ .tm_sec = sec, .tm_min = min, .tm_hour = hour, .tm_mday = mday,
			   .tm_mon = mon - 1, .tm_year = cent * 100 + year - 1900 };
	return 0;
}

/* While B.SET stops the clock, the time registers are plain storage (as on
 * the chip): firmware writes them one by one, in any order, and the clock
 * restarts from all of them together when SET is cleared. */
static void rtc_stop(struct rtc *r)
{
	static const unsigned regs[] = { R_SEC, R_MIN, R_HOUR, R_WDAY, R_MDAY,
					 R_MON, R_YEAR, R_CENTURY };
	r->frozen_ns = rtc_now_ns(r);
	for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		r->cmos[regs[i]] = rtc_time_reg(r, regs[i], r->frozen_ns);
}

static void rtc_restart(struct rtc *r)
{
	struct tm tm;
	int64_t ns = r->frozen_ns;

	if (rtc_decode_regs(r, &tm) == 0)
		ns = (int64_t)timegm(&tm) * NSEC; /* the divider restarts at 0 */
	r->offset_ns = ns - host_now_ns();
	r->last_c_ns = ns;
}

/* A time register written while the clock runs: that field alone changes
 * and the clock runs on from there (an invalid value leaves it alone). */
static void rtc_set_time_reg(struct rtc *r, unsigned idx, uint8_t v)
{
	int64_t now = rtc_now_ns(r);
	int64_t sub = now - floor_div(now, NSEC) * NSEC;
	struct tm tm;

	if (idx == R_WDAY)
		return; /* derived from the date */
	rtc_stop(r);
	r->cmos[idx] = v;
	if (rtc_decode_regs(r, &tm) == 0)
		r->offset_ns = (int64_t)timegm(&tm) * NSEC + sub - host_now_ns();
}

static int alarm_match(uint8_t alarm, uint8_t now)
{
	return (alarm & 0xc0) == 0xc0 || alarm == now; /* 11xxxxxx: don't care */
}

/* Did an update cycle in (from, to] land on the alarm time? UTC has no
 * DST, so the time of day is the epoch seconds modulo a day. */
static int rtc_alarm_hit(const struct rtc *r, int64_t from_s, int64_t to_s)
{
	if (to_s - from_s >= 86400)
		return 1; /* every alarm setting matches once a day */
	for (int64_t s = from_s + 1; s <= to_s; s++) {
		int64_t tod = s - floor_div(s, 86400) * 86400;
		if (alarm_match(r->cmos[R_SEC_ALARM], to_reg(r, (int)(tod % 60))) &&
		    alarm_match(r->cmos[R_MIN_ALARM], to_reg(r, (int)(tod / 60 % 60))) &&
		    alarm_match(r->cmos[R_HOUR_ALARM], hour_to_reg(r, (int)(tod / 3600))))
			return 1;
	}
	return 0;
}

/* Periodic interrupt period for rate select rs (data sheet table 5, 32.768
 * kHz time base), 0 when disabled. */
static int64_t rtc_period_ns(uint8_t rs)
{
	if (rs == 0)
		return 0;
	if (rs < 3)
		rs += 7;
	return ((int64_t)1 << (rs - 1)) * NSEC / 32768;
}

static uint8_t rtc_read_c(struct rtc *r)
{
	int64_t now = rtc_now_ns(r), last = r->last_c_ns;
	uint8_t c = 0;

	if (!(r->cmos[R_B] & B_SET) && (r->cmos[R_A] & A_DV) == 0x20 && now > last) {
		int64_t from_s = floor_div(last, NSEC), to_s = floor_div(now, NSEC);
		if (to_s > from_s)
			c |= C_UF;
		if (to_s > from_s && rtc_alarm_hit(r, from_s, to_s))
			c |= C_AF;
		int64_t p = rtc_period_ns(r->cmos[R_A] & A_RS);
		if (p && floor_div(now, p) > floor_div(last, p))
			c |= C_PF;
	}
	if (c & r->cmos[R_B] & (B_PIE | B_AIE | B_UIE))
		c |= C_IRQF;
	r->last_c_ns = now;
	return c;
}

static uint8_t rtc_read_reg(struct rtc *r, unsigned idx)
{
	int64_t now;

	switch (idx) {
	case R_SEC: case R_MIN: case R_HOUR: case R_WDAY: case R_MDAY:
	case R_MON: case R_YEAR: case R_CENTURY:
		if (r->cmos[R_B] & B_SET)
			return r->cmos[idx];
		return rtc_time_reg(r, idx, rtc_now_ns(r));
	case R_A: {
		uint8_t a = r->cmos[R_A] & ~A_UIP;
		now = rtc_now_ns(r);
		if (!(r->cmos[R_B] & B_SET) && (a & A_DV) == 0x20 &&
		    now - floor_div(now, NSEC) * NSEC >= NSEC - UIP_NS)
			a |= A_UIP;
		return a;
	}
	case R_C:
		return rtc_read_c(r);
	case R_D:
		return D_VRT;
	default:
		return r->cmos[idx];
	}
}

static void rtc_write_reg(struct rtc *r, unsigned idx, uint8_t v)
{
	switch (idx) {
	case R_SEC: case R_MIN: case R_HOUR: case R_WDAY: case R_MDAY:
	case R_MON: case R_YEAR: case R_CENTURY:
		if (r->cmos[R_B] & B_SET)
			r->cmos[idx] = v;
		else
			rtc_set_time_reg(r, idx, v);
		break;
	case R_A:
		r->cmos[R_A] = v & ~A_UIP;
		break;
	case R_B:
		if (!(r->cmos[R_B] & B_SET) && (v & B_SET)) {
			rtc_stop(r);
			r->cmos[R_B] = v & ~B_UIE; /* data sheet: setting SET clears UIE */
		} else if ((r->cmos[R_B] & B_SET) && !(v & B_SET)) {
			r->cmos[R_B] = v; /* decode in the format the guest just chose */
			rtc_restart(r);
		} else {
			r->cmos[R_B] = v;
		}
		break;
	case R_C:
	case R_D:
		break; /* read-only */
	default:
		r->cmos[idx] = v;
		break;
	}
}

static uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rtc *r = opaque;
	uint8_t v;

	if (offset == 0)
		return 0xff; /* the index register is write-only */
	pthread_mutex_lock(&r->lock);
	v = rtc_read_reg(r, r->index);
	pthread_mutex_unlock(&r->lock);
	return v;
}

static void rtc_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	if (offset == 0)
		r->index = (uint8_t)value & 0x7f; /* bit 7 is the NMI mask: ignored */
	else
		rtc_write_reg(r, r->index, (uint8_t)value);
	pthread_mutex_unlock(&r->lock);
}

static const struct bus_ops rtc_ops = { rtc_read, rtc_write };

static void rtc_update_checksum(struct rtc *r)
{
	unsigned sum = 0;
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += r->cmos[i];
	r->cmos[0x2e] = (uint8_t)(sum >> 8);
	r->cmos[0x2f] = (uint8_t)sum;
}

int rtc_create(struct rtc **out, struct bus *pio, const struct vmm_irq *irq, uint32_t gsi)
{
	struct rtc *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	r->pio = pio;
	r->cmos[R_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate select */
	r->cmos[R_B] = B_24H;
	r->cmos[0x14] = 0x06; /* equipment byte: FPU, PS/2 mouse port (as QEMU) */
	r->last_c_ns = rtc_now_ns(r);
	rtc_update_checksum(r);
	int ret = bus_register(pio, LAYOUT_PORT_RTC, 2, &rtc_ops, r, "rtc");
	if (ret < 0) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

void rtc_destroy(struct rtc *r)
{
	if (!r)
		return;
	bus_unregister(r->pio, LAYOUT_PORT_RTC, r);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void rtc_cmos_set(struct rtc *r, uint8_t index, uint8_t value)
{
	if (index < 0x0e || index > 0x7f)
		return;
	pthread_mutex_lock(&r->lock);
	r->cmos[index] = value;
	if (index >= 0x10 && index <= 0x2d)
		rtc_update_checksum(r);
	pthread_mutex_unlock(&r->lock);
}

static uint64_t clamp16(uint64_t v)
{
	return v > 0xffff ? 0xffff : v;
}

/* QEMU pc_cmos_init's convention, which SeaBIOS reads back. */
void rtc_cmos_set_memory(struct rtc *r, uint64_t low_bytes, uint64_t high_bytes)
{
	uint64_t base = low_bytes / LAYOUT_KiB;
	uint64_t ext = low_bytes > LAYOUT_MiB ? clamp16((low_bytes - LAYOUT_MiB) / LAYOUT_KiB) : 0;
	uint64_t above16 = low_bytes > 16 * LAYOUT_MiB ?
			   clamp16((low_bytes - 16 * LAYOUT_MiB) / (64 * LAYOUT_KiB)) : 0;
	uint64_t above4g = high_bytes / (64 * LAYOUT_KiB);

	if (base > 640)
		base = 640;
	if (above4g > 0xffffff)
		above4g = 0xffffff;
	rtc_cmos_set(r, 0x15, (uint8_t)base);
	rtc_cmos_set(r, 0x16, (uint8_t)(base >> 8));
	rtc_cmos_set(r, 0x17, (uint8_t)ext);
	rtc_cmos_set(r, 0x18, (uint8_t)(ext >> 8));
	rtc_cmos_set(r, 0x30, (uint8_t)ext);
	rtc_cmos_set(r, 0x31, (uint8_t)(ext >> 8));
	rtc_cmos_set(r, 0x34, (uint8_t)above16);
	rtc_cmos_set(r, 0x35, (uint8_t)(above16 >> 8));
	rtc_cmos_set(r, 0x5b, (uint8_t)above4g);
	rtc_cmos_set(r, 0x5c, (uint8_t)(above4g >> 8));
	rtc_cmos_set(r, 0x5d, (uint8_t)(above4g >> 16));
}
