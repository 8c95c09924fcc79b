/* Unit tests for the 16550A model (devices/serial.c) on a real port-I/O bus
 * with a recording interrupt line: divisor latch, loopback, FIFO and overrun,
 * IIR priorities, THRE interrupt rules, OUT2 gating, LSR/MSR read effects. */
#include <errno.h>
#include <stdlib.h>

#include "devices/irq.h"
#include "devices/serial.h"
#include "tests/check.h"
#include "tests/test_util.h"
#include "vmm/bus.h"

#define BASE 0x3f8
#define GSI 4
enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
       LSR = 5, MSR = 6, SCR = 7 };

struct irq_rec {
	int level;
	int calls;
	int rises;
	uint32_t gsi;
};

static int rec_set_line(void *opaque, uint32_t gsi, int level)
{
	struct irq_rec *r = opaque;
	r->gsi = gsi;
	if (level && !r->level)
		r->rises++;
	r->level = level;
	r->calls++;
	return 0;
}

static int rec_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	return -1;
}

struct tx_rec {
	uint8_t buf[256];
	size_t len;
};

static void rec_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct tx_rec *t = opaque;
	for (size_t i = 0; i < len && t->len < sizeof(t->buf); i++)
		t->buf[t->len++] = buf[i];
}

static struct bus pio;
static struct irq_rec irec;
static struct vmm_irq irq = { rec_set_line, rec_send_msi, &irec };
static struct tx_rec txrec;

/* UART register reg (an offset from BASE) */
#define inb(reg) ((uint8_t)test_pio_in(&pio, BASE + (reg), 1))
#define outb(reg, v) test_pio_out(&pio, BASE + (reg), 1, (uint8_t)(v))

static struct serial *fresh(void)
{
	struct serial *s = NULL;
	irec = (struct irq_rec){ 0 };
	txrec.len = 0;
	CHECK_EQ(serial_create(&s, &pio, BASE, &irq, GSI, rec_tx, &txrec), 0);
	return s;
}

static void test_reset_state(void)
{
	struct serial *s = fresh();
	CHECK_EQ(inb(LSR), 0x60);       /* THRE | TEMT */
	CHECK_EQ(inb(IIR), 0x01);       /* no interrupt, FIFOs off */
	CHECK_EQ(inb(MSR) & 0xf0, 0xb0); /* CTS, DSR, DCD */
	CHECK_EQ(inb(IER), 0);
	CHECK_EQ(inb(MCR), 0);
	/* A second instance on the same ports is refused. */
	struct serial *t = NULL;
	CHECK_EQ(serial_create(&t, &pio, BASE + 4, &irq, GSI, rec_tx, &txrec), -EEXIST);
	serial_destroy(s);
}

static void test_divisor_latch(void)
{
	struct serial *s = fresh();
	outb(IER, 0x05);
	outb(LCR, 0x83);                /* DLAB, 8N1 */
	outb(DLL, 0x01);
	outb(DLM, 0x02);
	CHECK_EQ(inb(DLL), 0x01);
	CHECK_EQ(inb(DLM), 0x02);
	CHECK_EQ(inb(LCR), 0x83);
	outb(LCR, 0x03);
	CHECK_EQ(inb(IER), 0x05);       /* IER untouched by the DLM write */
	outb(THR, 'x');                 /* THR again, not DLL */
	CHECK_EQ(txrec.len, 1);
	CHECK_EQ(txrec.buf[0], 'x');
	outb(LCR, 0x83);
	CHECK_EQ(inb(DLL), 0x01);
	outb(LCR, 0x03);
	outb(SCR, 0x5a);
	CHECK_EQ(inb(SCR), 0x5a);
	serial_destroy(s);
}

static void test_transmit(void)
{
	struct serial *s = fresh();
	const char *msg = "hello";
	for (const char *p = msg; *p; p++) {
		outb(THR, (uint8_t)*p);
		CHECK_EQ(inb(LSR) & 0x60, 0x60); /* empty again at once */
	}
	CHECK_EQ(txrec.len, 5);
	CHECK_MEM(txrec.buf, msg, 5);
	serial_destroy(s);
}

static void test_loopback_echo(void)
{
	struct serial *s = fresh();
	outb(FCR, 0x07);
	outb(MCR, 0x10);                 /* loopback */
	outb(THR, 'A');
	outb(THR, 'B');
	CHECK_EQ(txrec.len, 0);          /* nothing reaches the line */
	CHECK_EQ(inb(LSR) & 0x01, 1);
	CHECK_EQ(inb(RBR), 'A');
	CHECK_EQ(inb(RBR), 'B');
	CHECK_EQ(inb(LSR) & 0x01, 0);
	/* Host input waits while the receiver is looped back. */
	CHECK_EQ(serial_rx_space(s), 0);
	CHECK_EQ(serial_receive(s, (const uint8_t *)"z", 1), 0);
	/* MCR outputs appear on the MSR inputs, with delta bits. */
	(void)inb(MSR);
	outb(MCR, 0x10 | 0x01 | 0x02); /* DTR, RTS */
	CHECK_EQ(inb(MSR), 0x30 | 0x03); /* DSR, CTS + deltas */
	CHECK_EQ(inb(MSR), 0x30);        /* deltas clear on read */
	outb(MCR, 0x10 | 0x04);          /* OUT1 -> RI */
	CHECK_EQ(inb(MSR) & 0x40, 0x40);
	outb(MCR, 0x10);                 /* RI falls: TERI */
	CHECK_EQ(inb(MSR) & 0x04, 0x04);
	outb(MCR, 0x00);                 /* leave loopback: CTS/DSR/DCD back */
	CHECK_EQ(inb(MSR) & 0xf0, 0xb0);
	CHECK_EQ(serial_rx_space(s), 16);
	outb(THR, 'C');
	CHECK_EQ(txrec.len, 1);
	serial_destroy(s);
}

static void test_fifo_overrun(void)
{
	struct serial *s = fresh();
	outb(FCR, 0x01);
	CHECK_EQ(inb(IIR) & 0xc0, 0xc0);
	outb(MCR, 0x10);
	for (int i = 0; i < 16; i++)
		outb(THR, (uint8_t)('a' + i));
	CHECK_EQ(inb(LSR) & 0x03, 0x01); /* full, no overrun yet */
	outb(THR, 'Z');                  /* 17th character is lost */
	uint8_t lsr = inb(LSR);
	CHECK_EQ(lsr & 0x03, 0x03);
	CHECK_EQ(inb(LSR) & 0x02, 0);    /* OE cleared by the read */
	for (int i = 0; i < 16; i++)
		CHECK_EQ(inb(RBR), 'a' + i);
	CHECK_EQ(inb(LSR) & 0x01, 0);
	/* FCR clear-RX empties the FIFO. */
	outb(THR, '1');
	outb(FCR, 0x03);
	CHECK_EQ(inb(LSR) & 0x01, 0);
	serial_destroy(s);
}

static void test_host_receive(void)
{
	struct serial *s = fresh();
	uint8_t buf[20];
	for (int i = 0; i < 20; i++)
		buf[i] = (uint8_t)i;
	/* FIFOs off: a single holding register. */
	CHECK_EQ(serial_rx_space(s), 1);
	CHECK_EQ(serial_receive(s, buf, 20), 1);
	CHECK_EQ(serial_receive(s, buf + 1, 19), 0);
	CHECK_EQ(inb(RBR), 0);
	outb(FCR, 0x01);
	CHECK_EQ(serial_rx_space(s), 16);
	CHECK_EQ(serial_receive(s, buf, 20), 16);
	CHECK_EQ(serial_rx_space(s), 0);
	CHECK_EQ(inb(LSR) & 0x02, 0);    /* back-pressure, never overrun */
	CHECK_EQ(inb(RBR), 0);
	CHECK_EQ(serial_rx_space(s), 1);
	CHECK_EQ(serial_receive(s, buf + 16, 4), 1);
	for (int i = 1; i <= 16; i++)
		CHECK_EQ(inb(RBR), i);
	CHECK_EQ(inb(LSR) & 0x01, 0);
	serial_destroy(s);
}

static void test_iir_priority(void)
{
	struct serial *s = fresh();
	outb(FCR, 0x81);                 /* FIFO, trigger level 8 */
	outb(MCR, 0x08);                 /* OUT2 */
	outb(IER, 0x0f);
	/* THRE fires on enabling ETBEI with THR empty. */
	CHECK_EQ(inb(IIR), 0xc2);
	CHECK_EQ(inb(IIR), 0xc1);        /* reading IIR cleared it */
	/* Below the trigger level: character timeout. */
	CHECK_EQ(serial_receive(s, (const uint8_t *)"abc", 3), 3);
	CHECK_EQ(inb(IIR), 0xcc);
	CHECK_EQ(serial_receive(s, (const uint8_t *)"defgh", 5), 5);
	CHECK_EQ(inb(IIR), 0xc4);        /* 8 bytes: data available */
	/* A THR write arms THRE, but received data outranks it. */
	outb(THR, '!');
	CHECK_EQ(inb(IIR), 0xc4);
	/* Line status outranks both: overrun in loopback. */
	outb(MCR, 0x18);
	for (int i = 0; i < 9; i++)
		outb(THR, 'x');          /* 8 + 8 = 16, then one lost */
	CHECK_EQ(inb(IIR), 0xc6);
	CHECK_EQ(inb(IIR), 0xc6);        /* IIR read does not clear RLS */
	CHECK_EQ(inb(LSR) & 0x02, 0x02);
	CHECK_EQ(inb(IIR), 0xc4);
	for (int i = 0; i < 16; i++)
		(void)inb(RBR);
	CHECK_EQ(inb(IIR), 0xc2);        /* THRE still pending from the writes */
	CHECK_EQ(inb(IIR), 0xc0 | 0x00); /* then the MSR deltas of entering loopback */
	(void)inb(MSR);
	CHECK_EQ(inb(IIR), 0xc1);
	serial_destroy(s);
}

static void test_thre_rules(void)
{
	struct serial *s = fresh();
	outb(MCR, 0x08);
	outb(IER, 0x02);
	CHECK_EQ(irec.level, 1);
	CHECK_EQ(inb(IIR), 0x02);
	CHECK_EQ(irec.level, 0);         /* cleared by reading IIR */
	CHECK_EQ(inb(IIR), 0x01);
	/* Writing THR: the byte leaves at once and THRE is raised again. */
	outb(THR, 'q');
	CHECK_EQ(irec.level, 1);
	CHECK_EQ(irec.rises, 2);
	CHECK_EQ(inb(IIR), 0x02);
	/* Disabling ETBEI drops the line; re-enabling re-arms. */
	outb(THR, 'r');
	CHECK_EQ(irec.level, 1);
	outb(IER, 0x00);
	CHECK_EQ(irec.level, 0);
	CHECK_EQ(inb(IIR), 0x01);
	outb(IER, 0x02);
	CHECK_EQ(irec.level, 1);
	/* Writing IER with ETBEI already set does not re-arm. */
	CHECK_EQ(inb(IIR), 0x02);
	outb(IER, 0x02);
	CHECK_EQ(irec.level, 0);
	CHECK_EQ(inb(IIR), 0x01);
	CHECK_EQ(irec.gsi, GSI);
	serial_destroy(s);
}

static void test_out2_gating(void)
{
	struct serial *s = fresh();
	outb(IER, 0x01);
	CHECK_EQ(serial_receive(s, (const uint8_t *)"k", 1), 1);
	CHECK_EQ(inb(IIR), 0x04);        /* pending... */
	CHECK_EQ(irec.level, 0);         /* ...but OUT2 is off */
	CHECK_EQ(irec.calls, 0);
	outb(MCR, 0x08);
	CHECK_EQ(irec.level, 1);
	outb(MCR, 0x0b);                 /* no change of level: no call */
	CHECK_EQ(irec.calls, 1);
	outb(MCR, 0x00);
	CHECK_EQ(irec.level, 0);
	outb(MCR, 0x08);
	CHECK_EQ(irec.level, 1);
	CHECK_EQ(inb(RBR), 'k');
	CHECK_EQ(irec.level, 0);
	CHECK_EQ(irec.calls, 4);
	serial_destroy(s);
}

static void test_break_lsr(void)
{
	struct serial *s = fresh();
	outb(FCR, 0x01);
	outb(MCR, 0x10);
	outb(LCR, 0x43);                 /* set break in loopback */
	uint8_t lsr = inb(LSR);
	CHECK_EQ(lsr & 0x11, 0x11);      /* BI + DR */
	CHECK_EQ(lsr & 0x80, 0x80);      /* error in RCVR FIFO */
	CHECK_EQ(inb(LSR) & 0x90, 0);    /* BI cleared by reading LSR */
	CHECK_EQ(inb(RBR), 0);
	outb(LCR, 0x03);
	/* Wider accesses and offsets past the registers do not crash. */
	uint32_t v = 0;
	bus_read(&pio, BASE + 5, &v, 2);
	CHECK_EQ(v & 0xff, 0x60);
	serial_destroy(s);
}

/* Random guest register traffic and host input: never a crash, and the
 * line always equals "IIR shows an interrupt and OUT2 is set". */
static void test_random(void)
{
	struct serial *s = fresh();
	unsigned seed = 12345;
	for (int i = 0; i < 200000; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned r = seed >> 8;
		unsigned reg = r % 8;
		uint8_t v = (uint8_t)(r >> 3);
		switch ((r >> 11) % 4) {
		case 0:
			outb(reg, v);
			break;
		case 1:
			(void)inb(reg);
			break;
		case 2: {
			uint8_t buf[20] = { 0 };
			size_t space = serial_rx_space(s);
			CHECK(space <= 16);
			size_t n = serial_receive(s, buf, (r >> 13) % 20);
			CHECK(n <= space);
			break;
		}
		default: {
			uint32_t w = r;
			bus_write(&pio, BASE + reg % 5, &w, 1u << ((r >> 13) % 3));
			break;
		}
		}
		int level = irec.level;
		uint8_t mcr = inb(MCR);
		uint8_t iir = inb(IIR);
		if (level != (!(iir & 1) && (mcr & 0x08))) {
			CHECK_EQ(level, !(iir & 1) && (mcr & 0x08));
			break;
		}
	}
	CHECK(txrec.len > 0);
	serial_destroy(s);
}

int main(void)
{
	bus_init(&pio, "pio");
	test_reset_state();
	test_divisor_latch();
	test_transmit();
	test_loopback_echo();
	test_fifo_overrun();
	test_host_receive();
	test_iir_priority();
	test_thre_rules();
	test_out2_gating();
	test_break_lsr();
	test_random();
	bus_destroy(&pio);
	return check_done();
}
