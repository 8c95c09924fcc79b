/* Unit tests for the MC146818 RTC and CMOS RAM (devices/rtc.c): host UTC
 * time in BCD, binary and 12-hour forms, guest-set time, UIP, register C
 * flags and clear-on-read, the memory-size fields and the checksum. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "devices/rtc.h"
#include "tests/check.h"
#include "vmm/bus.h"

static struct bus pio;

static uint8_t cmos_read(uint8_t idx)
{
	uint8_t v = 0;
	bus_write(&pio, 0x70, &idx, 1);
	bus_read(&pio, 0x71, &v, 1);
	return v;
}

static void cmos_write(uint8_t idx, uint8_t v)
{
	bus_write(&pio, 0x70, &idx, 1);
	bus_write(&pio, 0x71, &v, 1);
}

static int bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

/* Reads the clock as firmware does (wait for !UIP, read until stable) and
 * returns it as seconds since the epoch, decoding per mode. */
static time_t read_clock(int binary, int h12)
{
	uint8_t r[10], again[10];
	do {
		while (cmos_read(0x0a) & 0x80)
			;
		for (int i = 0; i < 10; i++)
			r[i] = cmos_read((uint8_t)i);
		for (int i = 0; i < 10; i++)
			again[i] = cmos_read((uint8_t)i);
	} while (memcmp(r, again, sizeof(r)));
	uint8_t cent = cmos_read(0x32);
	int (*dec)(uint8_t) = bcd;
	int hour;
	struct tm tm = { 0 };
	if (binary) {
		tm.tm_sec = r[0]; tm.tm_min = r[2]; tm.tm_mday = r[7];
		tm.tm_mon = r[8] - 1; tm.tm_year = cent * 100 + r[9] - 1900;
		hour = r[4] & 0x7f;
	} else {
		tm.tm_sec = dec(r[0]); tm.tm_min = dec(r[2]); tm.tm_mday = dec(r[7]);
		tm.tm_mon = dec(r[8]) - 1; tm.tm_year = dec(cent) * 100 + dec(r[9]) - 1900;
		hour = dec(r[4] & 0x7f);
	}
	if (h12) {
		CHECK(hour >= 1 && hour <= 12);
		hour %= 12;
		if (r[4] & 0x80)
			hour += 12;
	}
	tm.tm_hour = hour;
	time_t t = timegm(&tm);
	struct tm check;
	gmtime_r(&t, &check);
	CHECK_EQ(binary ? r[6] : bcd(r[6]), check.tm_wday + 1);
	return t;
}

static void test_time(void)
{
	/* Defaults: 24 h, BCD, 32.768 kHz divider, VRT. */
	CHECK_EQ(cmos_read(0x0b), 0x02);
	CHECK_EQ(cmos_read(0x0a) & 0x7f, 0x26);
	CHECK_EQ(cmos_read(0x0d), 0x80);

	time_t t = read_clock(0, 0);
	CHECK(labs((long)(t - time(NULL))) <= 2);
	uint8_t sec = cmos_read(0x00);
	CHECK((sec & 0x0f) <= 9 && (sec >> 4) <= 5); /* really BCD */

	cmos_write(0x0b, 0x06);          /* binary, 24 h */
	t = read_clock(1, 0);
	CHECK(labs((long)(t - time(NULL))) <= 2);
	CHECK(cmos_read(0x32) >= 20 && cmos_read(0x32) <= 21);

	cmos_write(0x0b, 0x04);          /* binary, 12 h */
	t = read_clock(1, 1);
	CHECK(labs((long)(t - time(NULL))) <= 2);
	cmos_write(0x0b, 0x00);          /* BCD, 12 h */
	t = read_clock(0, 1);
	CHECK(labs((long)(t - time(NULL))) <= 2);
	cmos_write(0x0b, 0x02);
	/* The NMI mask bit in the index port does not change the register. */
	CHECK_EQ(cmos_read(0x8d), 0x80);
	CHECK_EQ(cmos_read(0x8b), 0x02);
}

static void test_set_time(void)
{
	cmos_write(0x0b, 0x82);          /* SET: stop updates */
	cmos_write(0x09, 0x99);
	cmos_write(0x08, 0x12);
	cmos_write(0x07, 0x31);
	cmos_write(0x04, 0x23);
	cmos_write(0x02, 0x59);
	cmos_write(0x00, 0x10);
	cmos_write(0x32, 0x19);
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0); /* no UIP while SET */
	CHECK_EQ(cmos_read(0x00), 0x10);
	cmos_write(0x0b, 0x02);          /* run from 1999-12-31 23:59:10 */
	time_t t = read_clock(0, 0);
	struct tm want = { .tm_year = 99, .tm_mon = 11, .tm_mday = 31,
			   .tm_hour = 23, .tm_min = 59, .tm_sec = 10 };
	time_t w = timegm(&want);
	CHECK(t >= w && t <= w + 2);
	CHECK_EQ(cmos_read(0x06), 6);    /* a Friday, derived not stored */
	/* While SET, the registers are storage; an invalid date does not
	 * move the clock when it restarts. */
	cmos_write(0x0b, 0x82);
	cmos_write(0x08, 0x13);
	CHECK_EQ(cmos_read(0x08), 0x13);
	cmos_write(0x0b, 0x02);
	t = read_clock(0, 0);
	CHECK(t >= w && t <= w + 3);
	/* Years past what the clock can hold are refused, not overflowed. */
	cmos_write(0x0b, 0x82);
	cmos_write(0x32, 0x99);
	cmos_write(0x0b, 0x02);
	CHECK_EQ(cmos_read(0x32), 0x19);
	cmos_write(0x32, 0x22);
	CHECK_EQ(cmos_read(0x32), 0x19);
	/* A field written while the clock runs changes just that field. */
	cmos_write(0x02, 0x30);
	CHECK_EQ(cmos_read(0x02), 0x30);
	CHECK_EQ(cmos_read(0x09) == 0x99 || cmos_read(0x09) == 0x00, 1);
	cmos_write(0x04, 0x24);          /* invalid hour: ignored */
	CHECK(cmos_read(0x04) != 0x24);
	/* Back to the host's time for the other tests. */
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	cmos_write(0x0b, 0x86);          /* binary while setting */
	cmos_write(0x32, (uint8_t)((tm.tm_year + 1900) / 100));
	cmos_write(0x09, (uint8_t)(tm.tm_year % 100));
	cmos_write(0x08, (uint8_t)(tm.tm_mon + 1));
	cmos_write(0x07, (uint8_t)tm.tm_mday);
	cmos_write(0x04, (uint8_t)tm.tm_hour);
	cmos_write(0x02, (uint8_t)tm.tm_min);
	cmos_write(0x00, (uint8_t)tm.tm_sec);
	cmos_write(0x0b, 0x06);
	CHECK(labs((long)(read_clock(1, 0) - time(NULL))) <= 2);
	cmos_write(0x0b, 0x02);
}

static void test_register_c(void)
{
	int uip = 0, cleared = 0;
	(void)cmos_read(0x0c);
	/* UIP is set during the 244 us before each update. Polling cannot be
	 * relied on to land in that window on a loaded host, so judge only the
	 * updates seen tightly: when the seconds register changed between two
	 * polls that together took under 200 us, the earlier poll's register A
	 * read lay inside the window and must have shown UIP. */
	struct timespec start, now;
	int64_t prev_start = 0;
	int prev_uip = 0, prev_sec = -1, tight = 0, tight_uip = 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int a = cmos_read(0x0a) & 0x80;
		int sec = cmos_read(0x00);
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t t0_ns = t0.tv_sec * 1000000000LL + t0.tv_nsec;
		int64_t end_ns = now.tv_sec * 1000000000LL + now.tv_nsec;
		if (a)
			uip++;
		if (prev_sec >= 0 && sec != prev_sec && end_ns - prev_start < 200000) {
			tight++;
			tight_uip += prev_uip != 0;
		}
		prev_sec = sec;
		prev_uip = a;
		prev_start = t0_ns;
		int64_t elapsed = end_ns - (start.tv_sec * 1000000000LL + start.tv_nsec);
		if (elapsed > 5000000000LL || (tight >= 2 && elapsed > 1100000000LL))
			break;
	}
	CHECK_EQ(tight_uip, tight);
	if (tight == 0)
		printf("note: no update observed tightly (loaded host); UIP timing not judged\n");
	uint8_t c = cmos_read(0x0c);
	CHECK_EQ(c & 0xf0, 0x10 | 0x40); /* UF and PF (1024 Hz), IRQF off: nothing enabled */
	for (int i = 0; i < 3; i++)
		if ((cmos_read(0x0c) & 0x10) == 0)
			cleared++;
	CHECK(cleared > 0);              /* read clears */

	/* Enabled flags set IRQF; alarm on the next second, minutes and
	 * hours "don't care". */
	while (cmos_read(0x0a) & 0x80)
		;
	int next = (bcd(cmos_read(0x00)) + 1) % 60;
	cmos_write(0x01, (uint8_t)(((next / 10) << 4) | (next % 10)));
	cmos_write(0x03, 0xc0);
	cmos_write(0x05, 0xff);
	cmos_write(0x0b, 0x02 | 0x20);   /* AIE */
	(void)cmos_read(0x0c);
	usleep(1100000);
	c = cmos_read(0x0c);
	CHECK_EQ(c & 0xb0, 0x80 | 0x20 | 0x10);
	/* An alarm hours away never matches within a second. */
	uint8_t hour = (uint8_t)bcd(cmos_read(0x04));
	hour = (uint8_t)((hour + 2) % 24);
	cmos_write(0x05, (uint8_t)(((hour / 10) << 4) | (hour % 10)));
	(void)cmos_read(0x0c);
	usleep(1100000);
	c = cmos_read(0x0c);
	CHECK_EQ(c & 0xb0, 0x10);        /* UF only, no AF, no IRQF */

	/* Periodic interrupt flag at 1024 Hz with PIE; off with RS=0. */
	cmos_write(0x0b, 0x02 | 0x40);
	(void)cmos_read(0x0c);
	usleep(5000);
	CHECK_EQ(cmos_read(0x0c) & 0xc0, 0xc0);
	cmos_write(0x0a, 0x20);
	(void)cmos_read(0x0c);
	usleep(5000);
	CHECK_EQ(cmos_read(0x0c) & 0xc0, 0);
	cmos_write(0x0a, 0x26);
	cmos_write(0x0b, 0x02);
	/* C and D are read-only. */
	cmos_write(0x0d, 0x00);
	CHECK_EQ(cmos_read(0x0d), 0x80);
}

static unsigned cmos16(uint8_t lo)
{
	return cmos_read(lo) | (unsigned)cmos_read((uint8_t)(lo + 1)) << 8;
}

static void check_checksum(void)
{
	unsigned sum = 0;
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += cmos_read((uint8_t)i);
	CHECK_EQ((unsigned)cmos_read(0x2e) << 8 | cmos_read(0x2f), sum & 0xffff);
}

static void test_cmos_memory(struct rtc *r)
{
	/* 512 MiB: all below the PCI hole. */
	rtc_cmos_set_memory(r, 512ULL << 20, 0);
	CHECK_EQ(cmos16(0x15), 640);
	CHECK_EQ(cmos16(0x17), 0xffff);   /* 511 MiB in KiB, clamped */
	CHECK_EQ(cmos16(0x30), 0xffff);
	CHECK_EQ(cmos16(0x34), (512 - 16) * 16);
	CHECK_EQ(cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16, 0);
	check_checksum();

	/* 6 GiB: 3 GiB low, 3 GiB from 4 GiB up. */
	rtc_cmos_set_memory(r, 3ULL << 30, 3ULL << 30);
	CHECK_EQ(cmos16(0x34), (3072 - 16) * 16);
	CHECK_EQ(cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16, 3 * 16384);
	CHECK_EQ(cmos_read(0x5d), 0);
	check_checksum();

	/* 8 MiB: extended memory fits, nothing above 16 MiB. */
	rtc_cmos_set_memory(r, 8ULL << 20, 0);
	CHECK_EQ(cmos16(0x17), 7 * 1024);
	CHECK_EQ(cmos16(0x34), 0);
	check_checksum();

	/* Host-set bytes, and the checksum follows the covered range only. */
	unsigned before = (unsigned)cmos_read(0x2e) << 8 | cmos_read(0x2f);
	rtc_cmos_set(r, 0x20, 0x11);
	CHECK_EQ(cmos_read(0x20), 0x11);
	CHECK_EQ((unsigned)cmos_read(0x2e) << 8 | cmos_read(0x2f), before + 0x11);
	rtc_cmos_set(r, 0x5f, 3);
	CHECK_EQ(cmos_read(0x5f), 3);
	check_checksum();
	rtc_cmos_set(r, 0x00, 0x42);      /* outside RAM: ignored */
	CHECK(cmos_read(0x00) != 0x42 || bcd(cmos_read(0x00)) == 42);
	/* Guest writes to RAM stick. */
	cmos_write(0x70, 0xa5);
	CHECK_EQ(cmos_read(0x70), 0xa5);
	uint8_t v = 0;
	bus_read(&pio, 0x70, &v, 1);
	CHECK_EQ(v, 0xff);                /* index port is write-only */
}

/* Random guest writes to every register (bad BCD, SET toggles, odd
 * formats) never crash or overflow (UBSan), and the clock stays readable. */
static void test_random(void)
{
	unsigned seed = 777;
	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		uint8_t idx = (uint8_t)(seed >> 8), v = (uint8_t)(seed >> 16);
		if (idx % 3 == 0)
			idx &= 0x0f;             /* mostly the clock registers */
		if (idx == 0x0a || (idx & 0x7f) == 0x0a)
			v &= 0x7f;
		cmos_write(idx, v);
		(void)cmos_read((uint8_t)(seed >> 24));
	}
	cmos_write(0x0a, 0x26);
	cmos_write(0x0b, 0x06);
	uint8_t sec = cmos_read(0x00);
	CHECK(sec < 60);
}

int main(void)
{
	struct rtc *r = NULL;
	bus_init(&pio, "pio");
	CHECK_EQ(rtc_create(&r, &pio, NULL, 8), 0);
	test_time();
	test_set_time();
	test_register_c();
	test_cmos_memory(r);
	test_random();
	rtc_destroy(r);
	CHECK(bus_lookup_name(&pio, 0x71) == NULL);
	bus_destroy(&pio);
	return check_done();
}
