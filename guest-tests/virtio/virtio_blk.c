/* Test guest: virtio-blk (virtio 1.2 section 5.2) in ring 3. Writes a pattern
 * with several buffer layouts (one data buffer, scattered data, header and
 * data in one descriptor, indirect tables), FLUSH, reads back, GET_ID against
 * serial= on the command line, IOERR past the end, UNSUPP for an unknown
 * type, WRITE_ZEROES and DISCARD when offered. run_guest.py then checks the
 * image's bytes against the same plan (see LAYOUT there). Byte j of a
 * written sector s is PATTERN(s, j). */
#include "rt.h"
#include "vblk.h"

#define PATTERN(s, j) ((uint8_t)((s) * 31u + ((s) >> 8) * 13u + (j) * 7u + 0x5au))

static struct vblk blk;
static uint8_t *wbuf, *rbuf, *scratch;

static void fill(uint8_t *p, uint64_t sector, unsigned nsec)
{
	for (unsigned s = 0; s < nsec; s++)
		for (unsigned j = 0; j < VBLK_SECTOR; j++)
			p[s * VBLK_SECTOR + j] = PATTERN(sector + s, j);
}

static void expect_pattern(const uint8_t *p, uint64_t sector, unsigned nsec, const char *what)
{
	for (unsigned s = 0; s < nsec; s++)
		for (unsigned j = 0; j < VBLK_SECTOR; j++)
			if (p[s * VBLK_SECTOR + j] != PATTERN(sector + s, j))
				rt_fail("%s: sector %lu byte %u is 0x%x, want 0x%x", what,
					(unsigned long)(sector + s), j, p[s * VBLK_SECTOR + j],
					PATTERN(sector + s, j));
}

static void expect_zero(const uint8_t *p, unsigned len, const char *what)
{
	for (unsigned i = 0; i < len; i++)
		if (p[i])
			rt_fail("%s: byte %u is 0x%x, want 0", what, i, p[i]);
}

static void check_status(int st, int want, const char *what)
{
	if (st != want)
		rt_fail("%s: status %d, want %d", what, st, want);
}

/* Scattered data: the 8 KiB at wbuf/rbuf split into 5 pieces of different
 * sizes, placed out of order in memory (scratch), like a guest's page cache. */
static const uint32_t piece[5] = { 512, 1536, 2048, 1024, 3072 };
static const uint32_t piece_off[5] = { 12288, 0, 4096, 9216, 16384 };

static int scattered(uint32_t type, uint64_t sector, uint8_t *data)
{
	struct vdrv_buf d[5];
	uint32_t pos = 0;
	int st;

	for (unsigned i = 0; i < 5; i++) {
		if (type == VBLK_T_OUT)
			memcpy(scratch + piece_off[i], data + pos, piece[i]);
		d[i] = (struct vdrv_buf){ scratch + piece_off[i], piece[i], type == VBLK_T_IN };
		pos += piece[i];
	}
	st = vblk_request(&blk, type, sector, d, 5);
	pos = 0;
	for (unsigned i = 0; type == VBLK_T_IN && i < 5; i++) {
		memcpy(data + pos, scratch + piece_off[i], piece[i]);
		pos += piece[i];
	}
	return st;
}

static void test_writes(void)
{
	uint64_t last = blk.capacity - 1;
	struct vdrv_buf d[2];
	int st;

	/* A: sectors 0..7, one data buffer. */
	fill(wbuf, 0, 8);
	check_status(vblk_rw(&blk, VBLK_T_OUT, 0, wbuf, 4096), 0, "write 0..7");
	/* B: sectors 16..31, five scattered data buffers. */
	fill(wbuf, 16, 16);
	check_status(scattered(VBLK_T_OUT, 16, wbuf), 0, "scattered write 16..31");
	/* C: sectors 40..43, header and data in one descriptor (2.6.4 framing). */
	{
		uint8_t *one = scratch + 32768;
		struct vblk_hdr h = { VBLK_T_OUT, 0, 40 };
		struct vdrv_buf bufs[2] = { { one, sizeof(h) + 2048, 0 },
					    { (const void *)&blk.status[1], 1, 1 } };
		int head;

		memcpy(one, &h, sizeof(h));
		fill(one + sizeof(h), 40, 4);
		blk.status[1] = 0xee;
		head = vdrv_submit(&blk.q, bufs, 2);
		RT_CHECK(head >= 0);
		RT_CHECK_EQ(vdrv_poll(&blk.q, NULL, 1ul << 34), head);
		check_status(blk.status[1], 0, "write 40..43 with header and data in one buffer");
	}
	/* D: sectors 64..79, four data buffers: through an indirect table if
	 * INDIRECT_DESC was negotiated (vdrv does it for any 2+ buffer chain). */
	fill(wbuf, 64, 16);
	for (unsigned i = 0; i < 2; i++)
		d[i] = (struct vdrv_buf){ wbuf + 4096 * i, 4096, 0 };
	check_status(vblk_request(&blk, VBLK_T_OUT, 64, d, 2), 0, "write 64..79");
	/* E: the last sector. */
	fill(wbuf, last, 1);
	check_status(vblk_rw(&blk, VBLK_T_OUT, last, wbuf, 512), 0, "write last sector");
	/* F: sectors 100..107, later partly zeroed. G: 200..207, later discarded. */
	fill(wbuf, 100, 8);
	check_status(vblk_rw(&blk, VBLK_T_OUT, 100, wbuf, 4096), 0, "write 100..107");
	fill(wbuf, 200, 8);
	check_status(vblk_rw(&blk, VBLK_T_OUT, 200, wbuf, 4096), 0, "write 200..207");

	st = vblk_rw(&blk, VBLK_T_FLUSH, 0, NULL, 0);
	check_status(st, 0, "flush");
	rt_printf("virtio-blk: written and flushed\n");
}

static void test_reads(void)
{
	uint64_t last = blk.capacity - 1;
	uint8_t *both = scratch + 40960;
	struct vdrv_buf d[4];

	/* A read back as eight 512-byte buffers. */
	memset(rbuf, 0, 8192);
	for (unsigned i = 0; i < 4; i++)
		d[i] = (struct vdrv_buf){ rbuf + 1024 * i, 1024, 1 };
	check_status(vblk_request(&blk, VBLK_T_IN, 0, d, 4), 0, "read 0..7");
	expect_pattern(rbuf, 0, 8, "read 0..7");
	/* A again, data and status in one device-writable buffer. */
	{
		struct vblk_hdr *h = (struct vblk_hdr *)(scratch + 36864);
		struct vdrv_buf bufs[2] = { { h, sizeof(*h), 0 }, { both, 4097, 1 } };
		int head;

		*h = (struct vblk_hdr){ VBLK_T_IN, 0, 0 };
		memset(both, 0xcc, 4097);
		head = vdrv_submit(&blk.q, bufs, 2);
		RT_CHECK(head >= 0);
		RT_CHECK_EQ(vdrv_poll(&blk.q, NULL, 1ul << 34), head);
		check_status(both[4096], 0, "read 0..7 with data and status in one buffer");
		expect_pattern(both, 0, 8, "read 0..7 (data+status buffer)");
	}
	/* B read back in one buffer, and scattered. */
	memset(rbuf, 0, 8192);
	check_status(vblk_rw(&blk, VBLK_T_IN, 16, rbuf, 8192), 0, "read 16..31");
	expect_pattern(rbuf, 16, 16, "read 16..31");
	memset(rbuf, 0, 8192);
	check_status(scattered(VBLK_T_IN, 16, rbuf), 0, "scattered read 16..31");
	expect_pattern(rbuf, 16, 16, "scattered read 16..31");
	/* C, D, E. */
	check_status(vblk_rw(&blk, VBLK_T_IN, 40, rbuf, 2048), 0, "read 40..43");
	expect_pattern(rbuf, 40, 4, "read 40..43");
	memset(rbuf, 0, 8192);
	for (unsigned i = 0; i < 4; i++)
		d[i] = (struct vdrv_buf){ rbuf + 2048 * i, 2048, 1 };
	check_status(vblk_request(&blk, VBLK_T_IN, 64, d, 4), 0, "read 64..79");
	expect_pattern(rbuf, 64, 16, "read 64..79");
	check_status(vblk_rw(&blk, VBLK_T_IN, last, rbuf, 512), 0, "read last sector");
	expect_pattern(rbuf, last, 1, "read last sector");
	/* Sectors never written read as zero. */
	check_status(vblk_rw(&blk, VBLK_T_IN, 8, rbuf, 4096), 0, "read 8..15");
	expect_zero(rbuf, 4096, "read 8..15");
	rt_printf("virtio-blk: read back OK\n");
}

static void test_errors(void)
{
	uint8_t *id = scratch + 45056;
	const char *serial = rt_cmdline_arg("serial");
	uint64_t cap = blk.capacity;

	/* Past the end: IOERR, and the device stays usable (5.2.6.1). */
	check_status(vblk_rw(&blk, VBLK_T_IN, cap, rbuf, 512), VBLK_S_IOERR, "read at capacity");
	check_status(vblk_rw(&blk, VBLK_T_IN, cap - 1, rbuf, 1024), VBLK_S_IOERR, "read across the end");
	check_status(vblk_rw(&blk, VBLK_T_OUT, cap + 100, wbuf, 512), VBLK_S_IOERR, "write past the end");
	check_status(vblk_rw(&blk, VBLK_T_IN, ~0ull / 512, rbuf, 512), VBLK_S_IOERR, "read at 2^55");
	/* An unknown request type: UNSUPP. */
	check_status(vblk_rw(&blk, 0x55, 0, rbuf, 512), VBLK_S_UNSUPP, "type 0x55");
	RT_CHECK(!(vdrv_status(&blk.dev) & VDRV_S_NEEDS_RESET));
	check_status(vblk_rw(&blk, VBLK_T_IN, 0, rbuf, 512), 0, "read after errors");
	expect_pattern(rbuf, 0, 1, "read after errors");
	rt_printf("virtio-blk: IOERR past the end, UNSUPP for type 0x55 OK\n");

	/* GET_ID: 20 bytes, the serial zero-padded (5.2.6). */
	memset(id, 0xcc, 20);
	check_status(vblk_rw(&blk, VBLK_T_GET_ID, 0, id, 20), 0, "GET_ID");
	if (serial) {
		size_t n = strlen(serial);
		char want[20], got[21];

		if (n > 20)
			n = 20;
		memset(want, 0, sizeof(want));
		memcpy(want, serial, n);
		memcpy(got, id, 20);
		got[20] = 0;
		if (memcmp(id, want, 20))
			rt_fail("GET_ID: got \"%s\", want \"%s\"", got, serial);
		rt_printf("virtio-blk: GET_ID \"%s\" OK\n", got);
	}
}

static void test_zeroes_discard(void)
{
	struct vblk_dwz *seg = (struct vblk_dwz *)(scratch + 49152);

	/* 102..105 become zero: WRITE_ZEROES if offered, a plain write otherwise,
	 * so the host's expected image is the same either way. */
	if (vdrv_has(&blk.dev, VBLK_F_WRITE_ZEROES)) {
		*seg = (struct vblk_dwz){ 102, 4, 0 };
		check_status(vblk_rw(&blk, VBLK_T_WRITE_ZEROES, 0, seg, sizeof(*seg)), 0, "WRITE_ZEROES");
		rt_printf("virtio-blk: WRITE_ZEROES (max %u sectors)\n", blk.max_write_zeroes_sectors);
	} else {
		memset(wbuf, 0, 2048);
		check_status(vblk_rw(&blk, VBLK_T_OUT, 102, wbuf, 2048), 0, "zero write");
		rt_printf("virtio-blk: WRITE_ZEROES not offered\n");
	}
	check_status(vblk_rw(&blk, VBLK_T_IN, 100, rbuf, 4096), 0, "read 100..107");
	expect_pattern(rbuf, 100, 2, "read 100..101");
	expect_zero(rbuf + 1024, 2048, "read 102..105");
	expect_pattern(rbuf + 3072, 106, 2, "read 106..107");
	/* 200..207 discarded: the contents become unspecified (pattern or zero). */
	if (vdrv_has(&blk.dev, VBLK_F_DISCARD)) {
		*seg = (struct vblk_dwz){ 200, 8, 0 };
		check_status(vblk_rw(&blk, VBLK_T_DISCARD, 0, seg, sizeof(*seg)), 0, "DISCARD");
		rt_printf("virtio-blk: DISCARD (max %u sectors)\n", blk.max_discard_sectors);
	} else {
		rt_printf("virtio-blk: DISCARD not offered\n");
	}
	check_status(vblk_rw(&blk, VBLK_T_FLUSH, 0, NULL, 0), 0, "final flush");
}

void rt_main(void)
{
	wbuf = rt_alloc_pages(2);
	rbuf = rt_alloc_pages(2);
	scratch = rt_alloc_pages(16);
	vblk_open(&blk, 1ull << VBLK_F_FLUSH | 1ull << VBLK_F_SEG_MAX | 1ull << VBLK_F_BLK_SIZE |
		  1ull << VBLK_F_DISCARD | 1ull << VBLK_F_WRITE_ZEROES |
		  1ull << VDRV_F_INDIRECT_DESC, 16, 1);
	rt_printf("virtio-blk: capacity %lu sectors, seg_max %u, features 0x%llx, %s descriptors\n",
		  (unsigned long)blk.capacity, blk.seg_max, (unsigned long long)blk.dev.negotiated,
		  blk.q.use_indirect ? "indirect" : "direct");
	if (!vdrv_has(&blk.dev, VBLK_F_FLUSH))
		rt_fail("virtio-blk: FLUSH not offered");
	if (blk.capacity < 256)
		rt_fail("virtio-blk: capacity %lu sectors, the test needs 256", (unsigned long)blk.capacity);
	test_writes();
	test_reads();
	test_errors();
	test_zeroes_discard();
	if (vdrv_status(&blk.dev) & VDRV_S_NEEDS_RESET)
		rt_fail("virtio-blk: DEVICE_NEEDS_RESET set");
	rt_printf("virtio-blk: OK\n");
	rt_pass();
}
