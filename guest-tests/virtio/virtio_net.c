/* Test guest: virtio-net (virtio 1.2 section 5.1) in ring 3. Checks the MAC
 * in the config space (mac= on the command line) and link up (STATUS), sends
 * an ARP request for the host (10.0.2.2) and answers ARP and ICMP echo for
 * its own address (10.0.2.15), so frames are proven to cross both ways.
 * Prints "virtio-net: ready" once its receive ring is filled, then passes
 * after it got the host's ARP reply and answered pings=N (default 3) echo
 * requests. Frames: Ethernet II, ARP (RFC 826), IPv4 + ICMP (RFC 791/792). */
#include "rt.h"
#include "vdrv.h"

#define F_MAC     5
#define F_STATUS  16
#define HDR_LEN   12      /* struct virtio_net_hdr with num_buffers (5.1.6) */
#define RX_BUFS   32
#define RX_SIZE   2048

static const uint8_t my_ip[4] = { 10, 0, 2, 15 }, host_ip[4] = { 10, 0, 2, 2 };
static uint8_t my_mac[6];
static struct vdrv_queue rxq, txq;
static uint8_t *rxbuf[RX_BUFS], *txbuf;
static unsigned tx_pending;

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint16_t csum(const uint8_t *p, unsigned len)
{
	uint32_t s = 0;

	for (unsigned i = 0; i + 1 < len; i += 2)
		s += be16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static int head_to_buf[1024];

static void tx_reap(void)
{
	while (vdrv_get_used(&txq, NULL) >= 0)
		tx_pending--;
}

static void send_frame(const uint8_t *frame, unsigned len)
{
	struct vdrv_buf b;
	uint8_t *slot;

	/* One 2 KiB slot per in-flight frame; wait when all are busy. */
	for (unsigned long i = 0; tx_pending >= 8; i++) {
		tx_reap();
		if (i > (1ul << 32))
			rt_fail("tx: the device never used our frames");
	}
	/* The descriptor vdrv_add will take is the free list's head. */
	slot = txbuf + 2048 * (txq.free_head % 64);
	memset(slot, 0, HDR_LEN);
	memcpy(slot + HDR_LEN, frame, len);
	if (len < 60)   /* minimum Ethernet payload */
		memset(slot + HDR_LEN + len, 0, 60 - len), len = 60;
	b = (struct vdrv_buf){ slot, HDR_LEN + len, 0 };
	if (vdrv_submit(&txq, &b, 1) < 0)
		rt_fail("tx ring full");
	tx_pending++;
}

static void arp(uint8_t *f, uint16_t op, const uint8_t *tha, const uint8_t *tpa)
{
	memcpy(f, op == 1 ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff" : tha, 6);
	memcpy(f + 6, my_mac, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);          /* Ethernet */
	put16(f + 16, 0x0800);     /* IPv4 */
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, op);
	memcpy(f + 22, my_mac, 6);
	memcpy(f + 28, my_ip, 4);
	memcpy(f + 32, op == 1 ? (const uint8_t *)"\0\0\0\0\0\0" : tha, 6);
	memcpy(f + 38, tpa, 4);
}

void rt_main(void)
{
	struct vdrv_dev dev;
	const char *want_mac = rt_cmdline_arg("mac");
	const char *pings_arg = rt_cmdline_arg("pings");
	unsigned pings = pings_arg && *pings_arg ? (unsigned)rt_strtoull(pings_arg, NULL) : 3;
	unsigned answered = 0, arp_replies = 0, got_host = 0;
	uint8_t frame[1600];
	char macstr[18];
	int slot, rc;

	slot = vdrv_find(1, 0);
	if (slot < 0)
		rt_fail("no virtio-net device (1af4:1041) on bus 0");
	rc = vdrv_init(&dev, (unsigned)slot, 1ull << F_MAC | 1ull << F_STATUS);
	if (rc)
		rt_fail("virtio-net: init failed at step %d", rc);
	if (!vdrv_has(&dev, F_MAC) || !dev.device)
		rt_fail("virtio-net: MAC not offered");
	for (int i = 0; i < 6; i++)
		my_mac[i] = dev.device[i];
	rt_snprintf(macstr, sizeof(macstr), "%02x:%02x:%02x:%02x:%02x:%02x",
		    my_mac[0], my_mac[1], my_mac[2], my_mac[3], my_mac[4], my_mac[5]);
	if (want_mac && strcmp(want_mac, macstr))
		rt_fail("virtio-net: config MAC %s, want %s", macstr, want_mac);
	if (!vdrv_has(&dev, F_STATUS))
		rt_fail("virtio-net: STATUS not offered");
	if (!(*(volatile uint16_t *)(dev.device + 6) & 1))
		rt_fail("virtio-net: link down (status 0x%x)", *(volatile uint16_t *)(dev.device + 6));
	RT_CHECK_EQ(vdrv_queue_setup(&dev, &rxq, 0, 64, 0), 0);
	RT_CHECK_EQ(vdrv_queue_setup(&dev, &txq, 1, 64, 0), 0);
	RT_CHECK(rxq.size >= RX_BUFS && rxq.size <= 1024);
	txbuf = rt_alloc_pages(32);
	for (unsigned i = 0; i < RX_BUFS; i++) {
		struct vdrv_buf b;
		int head;

		rxbuf[i] = rt_alloc_pages(1);
		b = (struct vdrv_buf){ rxbuf[i], RX_SIZE, 1 };
		head = vdrv_add(&rxq, &b, 1);
		RT_CHECK(head >= 0);
		head_to_buf[head] = (int)i;
	}
	vdrv_driver_ok(&dev);
	vdrv_kick(&rxq);
	rt_printf("virtio-net: mac %s link up\n", macstr);

	/* Who has 10.0.2.2? The host's kernel answers through the tap. */
	arp(frame, 1, NULL, host_ip);
	send_frame(frame, 42);
	rt_printf("virtio-net: ready\n");

	for (uint64_t spins = 0; answered < pings || !got_host; spins++) {
		uint32_t len = 0;
		int head = vdrv_get_used(&rxq, &len), i;
		uint8_t *f;

		tx_reap();
		if (head == -1) {
			rt_pause();
			if (!got_host && spins % (1ul << 26) == (1ul << 26) - 1)
				send_frame((arp(frame, 1, NULL, host_ip), frame), 42);
			continue;
		}
		if (head < 0 || head >= 1024)
			rt_fail("rx: bad used id %d", head);
		i = head_to_buf[head];
		f = rxbuf[i] + HDR_LEN;
		if (len < HDR_LEN + 14 || len > RX_SIZE)
			rt_fail("rx: used length %u", len);
		len -= HDR_LEN;
		if (be16(f + 12) == 0x0806 && len >= 42 && be16(f + 20) == 1 &&
		    !memcmp(f + 38, my_ip, 4)) {
			/* ARP request for us: reply to the sender. */
			uint8_t sha[6], spa[4];

			memcpy(sha, f + 22, 6);
			memcpy(spa, f + 28, 4);
			arp(frame, 2, sha, spa);
			send_frame(frame, 42);
			arp_replies++;
		} else if (be16(f + 12) == 0x0806 && len >= 42 && be16(f + 20) == 2 &&
			   !memcmp(f + 28, host_ip, 4) && !memcmp(f + 32, my_mac, 6)) {
			if (!got_host)
				rt_printf("virtio-net: ARP reply from 10.0.2.2 is-at %02x:%02x:%02x:%02x:%02x:%02x\n",
					  f[22], f[23], f[24], f[25], f[26], f[27]);
			got_host = 1;
		} else if (be16(f + 12) == 0x0800 && len >= 34 && (f[14] >> 4) == 4 &&
			   f[23] == 1 && !memcmp(f + 30, my_ip, 4)) {
			unsigned ihl = (f[14] & 15) * 4u, tot = be16(f + 16);
			uint8_t *icmp = f + 14 + ihl;

			if (ihl >= 20 && tot >= ihl + 8 && 14 + tot <= len && tot <= sizeof(frame) - 14 &&
			    icmp[0] == 8 && csum(f + 14, ihl) == 0 && csum(icmp, tot - ihl) == 0) {
				memcpy(frame, f, 14 + tot);
				memcpy(frame, f + 6, 6);
				memcpy(frame + 6, my_mac, 6);
				memcpy(frame + 14 + 12, my_ip, 4);
				memcpy(frame + 14 + 16, f + 14 + 12, 4);
				frame[14 + 8] = 64;
				put16(frame + 14 + 10, 0);
				put16(frame + 14 + 10, csum(frame + 14, ihl));
				frame[14 + ihl] = 0;    /* echo reply */
				put16(frame + 14 + ihl + 2, 0);
				put16(frame + 14 + ihl + 2, csum(frame + 14 + ihl, tot - ihl));
				send_frame(frame, 14 + tot);
				answered++;
				rt_printf("virtio-net: echo reply %u (id %u seq %u)\n", answered,
					  be16(icmp + 4), be16(icmp + 6));
			}
		}
		/* Give the buffer back. */
		{
			struct vdrv_buf b = { rxbuf[i], RX_SIZE, 1 };
			int h = vdrv_submit(&rxq, &b, 1);

			if (h < 0)
				rt_fail("rx ring full");
			head_to_buf[h] = i;
		}
	}
	/* Wait until the device took our last frames. */
	for (unsigned long i = 0; tx_pending && i < (1ul << 32); i++)
		tx_reap();
	RT_CHECK(!(vdrv_status(&dev) & VDRV_S_NEEDS_RESET));
	rt_printf("virtio-net: answered %u ARP requests and %u pings\n", arp_replies, answered);
	rt_printf("virtio-net: OK\n");
	rt_pass();
}
