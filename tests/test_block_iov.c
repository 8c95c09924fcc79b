/* Unit tests of the iovec helpers (block/iov.c): slices across entry
 * boundaries, zero-length entries and ranges, skips past the end, a dst too
 * small (-ENOBUFS), copies/fills that stop at the right bytes, and advancing
 * past bytes already transferred. */
#include "block/iov.h"
#include "tests/check.h"

#include <errno.h>
#include <stdint.h>

/* Three buffers of 4, 0 and 6 bytes, then one of 5: 15 bytes in all. */
static uint8_t b0[4], b2[6], b3[5];
static struct iovec src[4] = {
	{ b0, sizeof(b0) }, { NULL, 0 }, { b2, sizeof(b2) }, { b3, sizeof(b3) },
};

static void test_slice(void)
{
	struct iovec d[4];

	/* Across two boundaries (and the empty entry): bytes [2, 12). */
	CHECK_EQ(block_iov_slice(src, 4, 2, 10, d, 4), 3);
	CHECK(d[0].iov_base == b0 + 2);
	CHECK_EQ(d[0].iov_len, 2);
	CHECK(d[1].iov_base == b2);
	CHECK_EQ(d[1].iov_len, 6);
	CHECK(d[2].iov_base == b3);
	CHECK_EQ(d[2].iov_len, 2);

	/* Starting exactly on a boundary: the empty entry is not copied. */
	CHECK_EQ(block_iov_slice(src, 4, 4, 3, d, 4), 1);
	CHECK(d[0].iov_base == b2);
	CHECK_EQ(d[0].iov_len, 3);

	/* Inside one entry. */
	CHECK_EQ(block_iov_slice(src, 4, 11, 3, d, 4), 1);
	CHECK(d[0].iov_base == b3 + 1);
	CHECK_EQ(d[0].iov_len, 3);

	/* The whole iovec. */
	CHECK_EQ(block_iov_slice(src, 4, 0, 15, d, 4), 3);
	CHECK_EQ(block_iov_size(d, 3), 15);

	/* Zero length: nothing, and dst untouched. */
	d[0].iov_len = 77;
	CHECK_EQ(block_iov_slice(src, 4, 3, 0, d, 4), 0);
	CHECK_EQ(d[0].iov_len, 77);
	CHECK_EQ(block_iov_slice(src, 0, 0, 5, d, 4), 0);

	/* Skip at or past the end: nothing. */
	CHECK_EQ(block_iov_slice(src, 4, 15, 4, d, 4), 0);
	CHECK_EQ(block_iov_slice(src, 4, 1000, 4, d, 4), 0);

	/* len past the end: covers what there is. */
	CHECK_EQ(block_iov_slice(src, 4, 12, 100, d, 4), 1);
	CHECK(d[0].iov_base == b3 + 2);
	CHECK_EQ(d[0].iov_len, 3);

	/* max too small: an error, not a short slice; exactly enough is fine. */
	CHECK_EQ(block_iov_slice(src, 4, 0, 15, d, 2), -ENOBUFS);
	CHECK_EQ(block_iov_slice(src, 4, 2, 10, d, 0), -ENOBUFS);
	CHECK_EQ(block_iov_slice(src, 4, 2, 8, d, 2), 2);
	CHECK_EQ(block_iov_slice(src, 4, 0, 0, d, 0), 0);
}

static void fill(void)
{
	memset(b0, 0xaa, sizeof(b0));
	memset(b2, 0xaa, sizeof(b2));
	memset(b3, 0xaa, sizeof(b3));
}

static void test_copy(void)
{
	uint8_t in[15], out[20];
	uint8_t want_b0[4] = { 0xaa, 0xaa, 0, 1 };
	uint8_t want_b2[6] = { 2, 3, 4, 5, 6, 7 };
	uint8_t want_b3[5] = { 8, 0xaa, 0xaa, 0xaa, 0xaa };

	for (int i = 0; i < 15; i++)
		in[i] = (uint8_t)i;

	/* from_buf writes bytes [2, 11) and nothing else. */
	fill();
	CHECK_EQ(block_iov_from_buf(src, 4, 2, in, 9), 9);
	CHECK_MEM(b0, want_b0, 4);
	CHECK_MEM(b2, want_b2, 6);
	CHECK_MEM(b3, want_b3, 5);

	/* to_buf reads them back; past the end it stops short. */
	memset(out, 0x55, sizeof(out));
	CHECK_EQ(block_iov_to_buf(src, 4, 2, out, 9), 9);
	CHECK_MEM(out, in, 9);
	CHECK_EQ(out[9], 0x55);
	memset(out, 0x55, sizeof(out));
	CHECK_EQ(block_iov_to_buf(src, 4, 10, out, 20), 5);
	CHECK_EQ(out[0], 8);    /* iov byte 10 is b3[0], written as in[8] */
	CHECK_EQ(out[1], 0xaa);
	CHECK_EQ(out[4], 0xaa);
	CHECK_EQ(out[5], 0x55);
	CHECK_EQ(block_iov_to_buf(src, 4, 15, out, 1), 0);
	CHECK_EQ(block_iov_from_buf(src, 4, 99, in, 1), 0);
	CHECK_EQ(block_iov_to_buf(src, 4, 3, out, 0), 0);

	/* memset from byte 3 over 3 bytes: b0[3], b2[0..1]. */
	fill();
	CHECK_EQ(block_iov_memset(src, 4, 3, 0, 3), 3);
	CHECK_EQ(b0[2], 0xaa);
	CHECK_EQ(b0[3], 0);
	CHECK_EQ(b2[0], 0);
	CHECK_EQ(b2[1], 0);
	CHECK_EQ(b2[2], 0xaa);
	/* ...and to the end, with another byte. */
	CHECK_EQ(block_iov_memset(src, 4, 13, 0x11, 10), 2);
	CHECK_EQ(b3[2], 0xaa);
	CHECK_EQ(b3[3], 0x11);
	CHECK_EQ(b3[4], 0x11);

	CHECK_EQ(block_iov_size(src, 4), 15);
	CHECK_EQ(block_iov_size(src, 0), 0);
}

/* As after short transfers: partway into an entry, exactly onto the empty
 * entry (stepped over with the one before), and past the end. */
static void test_advance(void)
{
	struct iovec v[4];
	struct iovec *p = v;
	int n = 4;

	memcpy(v, src, sizeof(v));
	block_iov_advance(&p, &n, 3);
	CHECK(p == v);
	CHECK_EQ(n, 4);
	CHECK(p[0].iov_base == b0 + 3);
	CHECK_EQ(p[0].iov_len, 1);
	CHECK(src[0].iov_base == b0);   /* the caller's copy, not src, moved */
	block_iov_advance(&p, &n, 1);
	CHECK(p == v + 2);
	CHECK_EQ(n, 2);
	CHECK(p[0].iov_base == b2);
	CHECK_EQ(p[0].iov_len, 6);
	block_iov_advance(&p, &n, 0);
	CHECK(p == v + 2);
	block_iov_advance(&p, &n, 8);
	CHECK(p == v + 3);
	CHECK_EQ(n, 1);
	CHECK(p[0].iov_base == b3 + 2);
	CHECK_EQ(p[0].iov_len, 3);
	CHECK_EQ(block_iov_size(p, n), 3);
	block_iov_advance(&p, &n, 100);
	CHECK_EQ(n, 0);
	CHECK(p == v + 4);
}

int main(void)
{
	test_slice();
	test_copy();
	test_advance();
	return check_done();
}
