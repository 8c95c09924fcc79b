/* Unit tests for the split virtqueue (devices/virtio/queue.c): adversarial
 * rings (loops, out-of-RAM and hole addresses, wrapping lengths, nested and
 * malformed indirect tables, avail index jumps) each fail with their exact
 * code and never crash; valid chains give the right iovec; EVENT_IDX. */
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/queue.h"
#include "tests/check.h"

#define RAM_A      0x0ULL
#define RAM_A_SIZE 0x100000ULL
#define HOLE       0x100000ULL       /* 0x100000..0x200000 is not RAM */
#define RAM_B      0x200000ULL
#define RAM_B_SIZE 0x100000ULL
#define DESC       0x1000ULL
#define AVAIL      0x2000ULL
#define USED       0x3000ULL
#define BUF        0x10000ULL
#define QSIZE      16

#define F_INDIRECT (1ULL << 28)
#define F_EVENT    (1ULL << 29)

/* A popped chain's head and its device-readable (out) and -writable (in)
 * buffer counts and byte totals; failures name the caller's line. */
#define CHECK_ELEM(e, head_, out_num_, in_num_, out_len_, in_len_) do { \
	CHECK_EQ((e).head, head_); \
	CHECK_EQ((e).out_num, out_num_); \
	CHECK_EQ((e).in_num, in_num_); \
	CHECK_EQ((e).out_len, out_len_); \
	CHECK_EQ((e).in_len, in_len_); \
} while (0)

static struct guest_memory mem;
static uint8_t *ram_a, *ram_b;
static struct virtq q;
static struct virtq_elem elem;
static int errors_seen, last_error;

static void on_error(void *opaque, int err)
{
	(void)opaque;
	errors_seen++;
	last_error = err;
}

static void wr16(uint64_t gpa, uint16_t v) { memcpy(ram_a + gpa, &v, 2); }
static uint16_t rd16(uint64_t gpa) { uint16_t v; memcpy(&v, ram_a + gpa, 2); return v; }
static uint32_t rd32(uint64_t gpa) { uint32_t v; memcpy(&v, ram_a + gpa, 4); return v; }

static void set_desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };
	memcpy(ram_a + table + 16 * i, &d, sizeof(d));
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	set_desc_at(DESC, i, addr, len, flags, next);
}

static void make_avail(uint16_t head)
{
	uint16_t idx = rd16(AVAIL + 2);
	wr16(AVAIL + 4 + 2 * (idx % QSIZE), head);
	wr16(AVAIL + 2, idx + 1);
}

static void fresh(uint64_t features)
{
	memset(ram_a, 0, RAM_A_SIZE);
	virtq_init(&q, &mem);
	q.on_error = on_error;
	errors_seen = 0;
	last_error = 0;
	CHECK_EQ(virtq_setup(&q, QSIZE, DESC, AVAIL, USED, features), 0);
}

/* One chain that must fail with code err, exactly once via on_error, and stay failed. */
static void expect_fail(int err, const char *what)
{
	int rc = virtq_pop(&q, &elem);
	if (rc != err)
		fprintf(stderr, "case %s: got %d (%s)\n", what, rc, virtq_strerror(rc));
	CHECK_EQ(rc, err);
	CHECK_EQ(errors_seen, 1);
	CHECK_EQ(last_error, err);
	CHECK_EQ(virtq_pop(&q, &elem), err);   /* sticky */
	CHECK_EQ(errors_seen, 1);               /* reported once */
}

static void test_setup(void)
{
	virtq_init(&q, &mem);
	CHECK_EQ(virtq_setup(&q, 0, DESC, AVAIL, USED, 0), VIRTQ_E_SIZE);
	CHECK_EQ(virtq_setup(&q, 12, DESC, AVAIL, USED, 0), VIRTQ_E_SIZE);
	CHECK_EQ(virtq_setup(&q, QSIZE, DESC + 8, AVAIL, USED, 0), VIRTQ_E_RING_ADDR);
	CHECK_EQ(virtq_setup(&q, QSIZE, DESC, AVAIL + 1, USED, 0), VIRTQ_E_RING_ADDR);
	CHECK_EQ(virtq_setup(&q, QSIZE, DESC, AVAIL, USED + 2, 0), VIRTQ_E_RING_ADDR);
	CHECK_EQ(virtq_setup(&q, QSIZE, HOLE, AVAIL, USED, 0), VIRTQ_E_RING_ADDR);
	/* Used ring straddling the end of RAM A into the hole. */
	CHECK_EQ(virtq_setup(&q, QSIZE, DESC, AVAIL, RAM_A_SIZE - 64, 0), VIRTQ_E_RING_ADDR);
	/* Descriptor table wrapping the address space. */
	CHECK_EQ(virtq_setup(&q, QSIZE, 0xfffffffffffffff0ULL, AVAIL, USED, 0), VIRTQ_E_RING_ADDR);
	CHECK(!q.ready);
	CHECK_EQ(virtq_pop(&q, &elem), VIRTQ_E_NOT_READY);
	CHECK_EQ(virtq_setup(&q, QSIZE, DESC, AVAIL, USED, 0), 0);
	CHECK(q.ready);
	CHECK_EQ(virtq_pop(&q, &elem), 0);   /* empty */
	CHECK(!virtq_has_avail(&q));
	/* Rings in the second region work too. */
	CHECK_EQ(virtq_setup(&q, QSIZE, RAM_B, RAM_B + 0x1000, RAM_B + 0x2000, 0), 0);
}

static void test_valid_mixed_chain(void)
{
	fresh(0);
	memset(ram_a + BUF, 0xaa, 0x100);
	set_desc(3, BUF, 16, VIRTQ_DESC_F_NEXT, 7);
	set_desc(7, BUF + 0x100, 0, VIRTQ_DESC_F_NEXT, 1);       /* zero-length: dropped */
	set_desc(1, BUF + 0x200, 100, VIRTQ_DESC_F_NEXT, 2);
	set_desc(2, RAM_B + 0x40, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	set_desc(0, BUF + 0x400, 1, VIRTQ_DESC_F_WRITE, 9);      /* next ignored without NEXT */
	make_avail(3);
	CHECK(virtq_has_avail(&q));
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_ELEM(elem, 3, 2, 2, 116, 513);
	CHECK(elem.iov[0].iov_base == ram_a + BUF);
	CHECK_EQ(elem.iov[0].iov_len, 16);
	CHECK(elem.iov[1].iov_base == ram_a + BUF + 0x200);
	CHECK(elem.iov[2].iov_base == ram_b + 0x40);
	CHECK_EQ(elem.iov[2].iov_len, 512);
	CHECK(elem.iov[3].iov_base == ram_a + BUF + 0x400);
	CHECK_EQ(virtq_pop(&q, &elem), 0);

	/* Copy helpers cross buffer boundaries and stop at the end. */
	uint8_t tmp[200];
	memset(ram_a + BUF + 0x200, 0x55, 100);
	CHECK_EQ(virtq_elem_read(&elem, 10, tmp, sizeof(tmp)), 106);
	CHECK_EQ(tmp[5], 0xaa);
	CHECK_EQ(tmp[6], 0x55);
	memset(tmp, 0x77, sizeof(tmp));
	CHECK_EQ(virtq_elem_write(&elem, 510, tmp, 10), 3);
	CHECK_EQ(ram_b[0x40 + 511], 0x77);
	CHECK_EQ(ram_a[BUF + 0x400], 0x77);

	CHECK_EQ(virtq_push(&q, elem.head, 3), 0);
	CHECK_EQ(rd16(USED + 2), 1);
	CHECK_EQ(rd32(USED + 4), 3);
	CHECK_EQ(rd32(USED + 8), 3);
	CHECK_EQ(virtq_push(&q, QSIZE, 0), VIRTQ_E_USED_ID);
	CHECK_EQ(rd16(USED + 2), 1);
	CHECK_EQ(errors_seen, 0);
}

static void test_loops(void)
{
	fresh(0);
	set_desc(0, BUF, 8, VIRTQ_DESC_F_NEXT, 0);   /* self loop */
	make_avail(0);
	expect_fail(VIRTQ_E_LOOP, "self loop");

	fresh(0);
	set_desc(0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF, 8, VIRTQ_DESC_F_NEXT, 2);
	set_desc(2, BUF, 8, VIRTQ_DESC_F_NEXT, 0);   /* 0 -> 1 -> 2 -> 0 */
	make_avail(1);
	expect_fail(VIRTQ_E_LOOP, "3-cycle");

	/* A chain using all QSIZE descriptors is fine; loop check is exact. */
	fresh(0);
	for (unsigned i = 0; i < QSIZE; i++)
		set_desc(i, BUF + i, 1, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	make_avail(0);
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_EQ(elem.out_num, QSIZE);

	fresh(0);
	set_desc(0, BUF, 8, VIRTQ_DESC_F_NEXT, QSIZE);
	make_avail(0);
	expect_fail(VIRTQ_E_NEXT, "next out of table");

	fresh(0);
	make_avail(QSIZE + 3);
	expect_fail(VIRTQ_E_HEAD, "head out of table");
}

static void test_bad_addresses(void)
{
	fresh(0);
	set_desc(0, 0x40000000ULL, 16, 0, 0);        /* beyond all RAM */
	make_avail(0);
	expect_fail(VIRTQ_E_DESC_ADDR, "out of RAM");

	fresh(0);
	set_desc(0, HOLE + 0x1000, 16, 0, 0);        /* in the hole between regions */
	make_avail(0);
	expect_fail(VIRTQ_E_DESC_ADDR, "hole");

	fresh(0);
	set_desc(0, RAM_A_SIZE - 8, 16, VIRTQ_DESC_F_WRITE, 0);  /* straddles RAM end */
	make_avail(0);
	expect_fail(VIRTQ_E_DESC_ADDR, "straddle");

	fresh(0);
	set_desc(0, 0xfffffffffffffff0ULL, 0x100, 0, 0);  /* wraps */
	make_avail(0);
	expect_fail(VIRTQ_E_DESC_WRAP, "wrap");

	fresh(0);
	set_desc(0, BUF, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF, 8, 0, 0);                       /* readable after writable */
	make_avail(0);
	expect_fail(VIRTQ_E_ORDER, "order");

	/* Zero-length buffers anywhere (even at a bogus address) are harmless. */
	fresh(0);
	set_desc(0, 0x40000000ULL, 0, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF, 0, VIRTQ_DESC_F_WRITE, 0);
	make_avail(0);
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_EQ(elem.out_num + elem.in_num, 0);
	CHECK_EQ(elem.out_len + elem.in_len, 0);
	CHECK_EQ(errors_seen, 0);
}

static void test_indirect(void)
{
	const uint64_t T = 0x8000, T2 = 0x9000;

	/* Without the feature. */
	fresh(0);
	set_desc_at(T, 0, BUF, 8, 0, 0);
	set_desc(0, T, 16, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_fail(VIRTQ_E_INDIRECT_FEATURE, "no feature");

	/* Valid: direct readable descriptor, then an indirect table with out + in. */
	fresh(F_INDIRECT);
	set_desc_at(T, 0, BUF + 0x10, 32, VIRTQ_DESC_F_NEXT, 2);
	set_desc_at(T, 2, BUF + 0x100, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc_at(T, 1, BUF + 0x200, 1, VIRTQ_DESC_F_WRITE, 0);
	set_desc(5, BUF, 4, VIRTQ_DESC_F_NEXT, 6);
	set_desc(6, T, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	make_avail(5);
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_ELEM(elem, 5, 2, 2, 36, 65);
	CHECK(elem.iov[1].iov_base == ram_a + BUF + 0x10);
	CHECK(elem.iov[3].iov_base == ram_a + BUF + 0x200);

	/* Nested indirect. */
	fresh(F_INDIRECT);
	set_desc_at(T2, 0, BUF, 8, 0, 0);
	set_desc_at(T, 0, T2, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(0, T, 16, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_fail(VIRTQ_E_INDIRECT_NESTED, "nested");

	/* Lengths: not a multiple of 16, zero, more entries than the queue. */
	fresh(F_INDIRECT);
	set_desc(0, T, 24, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_fail(VIRTQ_E_INDIRECT_LEN, "len 24");
	fresh(F_INDIRECT);
	set_desc(0, T, 0, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_fail(VIRTQ_E_INDIRECT_LEN, "len 0");
	fresh(F_INDIRECT);
	set_desc(0, T, 16 * (QSIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_fail(VIRTQ_E_INDIRECT_LEN, "too long");

	/* Table in the hole; table wrapping. */
	fresh(F_INDIRECT);
	set_desc(0, HOLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_fail(VIRTQ_E_INDIRECT_ADDR, "table in hole");
	fresh(F_INDIRECT);
	set_desc(0, 0xfffffffffffffff0ULL, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_fail(VIRTQ_E_DESC_WRAP, "table wraps");

	/* INDIRECT with NEXT. */
	fresh(F_INDIRECT);
	set_desc_at(T, 0, BUF, 8, 0, 0);
	set_desc(0, T, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	make_avail(0);
	expect_fail(VIRTQ_E_INDIRECT_FLAGS, "indirect+next");

	/* Loop inside the table, and NEXT past the table's end. */
	fresh(F_INDIRECT);
	set_desc_at(T, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc_at(T, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
	set_desc(0, T, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_fail(VIRTQ_E_LOOP, "indirect loop");
	fresh(F_INDIRECT);
	set_desc_at(T, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 2);   /* table has 2 entries */
	set_desc(0, T, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_fail(VIRTQ_E_NEXT, "indirect next past end");

	/* Bad buffer inside the table. */
	fresh(F_INDIRECT);
	set_desc_at(T, 0, HOLE, 8, 0, 0);
	set_desc(0, T, 16, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_fail(VIRTQ_E_DESC_ADDR, "indirect buffer in hole");
}

static void test_avail_jump(void)
{
	fresh(0);
	set_desc(0, BUF, 8, 0, 0);
	wr16(AVAIL + 2, QSIZE + 1);
	expect_fail(VIRTQ_E_AVAIL_IDX, "avail jump");

	/* Exactly QSIZE outstanding is legal, also across the 16-bit wrap. */
	fresh(0);
	q.last_avail_idx = 0xfff8;
	for (unsigned i = 0; i < QSIZE; i++) {
		set_desc(i, BUF, 8, 0, 0);
		wr16(AVAIL + 4 + 2 * ((0xfff8 + i) % QSIZE), i);
	}
	wr16(AVAIL + 2, (uint16_t)(0xfff8 + QSIZE));
	for (unsigned i = 0; i < QSIZE; i++) {
		CHECK_EQ(virtq_pop(&q, &elem), 1);
		CHECK_EQ(elem.head, i);
	}
	CHECK_EQ(virtq_pop(&q, &elem), 0);
	CHECK_EQ(q.last_avail_idx, 8);

	/* Reset clears the sticky error. */
	fresh(0);
	wr16(AVAIL + 2, 100);
	CHECK_EQ(virtq_pop(&q, &elem), VIRTQ_E_AVAIL_IDX);
	virtq_reset(&q);
	CHECK(!q.ready);
	CHECK_EQ(q.error, 0);
	CHECK(q.on_error == on_error);
}

static void test_notify(void)
{
	/* No EVENT_IDX: NO_INTERRUPT flag decides. */
	fresh(0);
	set_desc(0, BUF, 8, 0, 0);
	make_avail(0);
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_EQ(virtq_push(&q, 0, 0), 0);
	CHECK(virtq_should_notify(&q));
	CHECK(!virtq_should_notify(&q));          /* nothing used since */
	CHECK_EQ(virtq_push(&q, 0, 0), 0);
	wr16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK(!virtq_should_notify(&q));
	wr16(AVAIL, 0);
	CHECK_EQ(virtq_push(&q, 0, 0), 0);
	CHECK(virtq_should_notify(&q));
	wr16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_disable_notify(&q);
	CHECK_EQ(rd16(USED), VIRTQ_USED_F_NO_NOTIFY);
	CHECK(!virtq_enable_notify(&q));
	CHECK_EQ(rd16(USED), 0);
	make_avail(0);
	virtq_disable_notify(&q);
	CHECK(virtq_enable_notify(&q));   /* a buffer came in while disabled */

	/* EVENT_IDX: used_event lives after the avail ring. */
	const uint64_t used_event = AVAIL + 4 + 2 * QSIZE;
	const uint64_t avail_event = USED + 4 + 8 * QSIZE;
	fresh(F_EVENT);
	for (unsigned i = 0; i < 4; i++) {
		set_desc(i, BUF, 8, 0, 0);
		make_avail(i);
	}
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_EQ(rd16(avail_event), 1);          /* device asks for the next kick */
	wr16(used_event, 0);                      /* driver: interrupt after used idx passes 0 */
	CHECK_EQ(virtq_push(&q, 0, 0), 0);        /* used idx 0 -> 1 */
	CHECK(virtq_should_notify(&q));           /* first decision always notifies */
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_EQ(virtq_push(&q, 1, 0), 0);        /* 1 -> 2; event 0 already passed */
	CHECK(!virtq_should_notify(&q));
	wr16(used_event, 3);                      /* wants interrupt when idx goes past 3 */
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_EQ(virtq_push(&q, 2, 0), 0);        /* 2 -> 3 */
	CHECK(!virtq_should_notify(&q));
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_EQ(virtq_push(&q, 3, 0), 0);        /* 3 -> 4: crosses 3 */
	CHECK(virtq_should_notify(&q));
	CHECK_EQ(rd16(avail_event), 4);
	/* Batched: two pushes in one decision that cross the event index. */
	for (unsigned i = 0; i < 2; i++)
		make_avail(i);
	wr16(used_event, 4);
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_EQ(virtq_push(&q, elem.head, 0), 0);
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_EQ(virtq_push(&q, elem.head, 0), 0);
	CHECK(virtq_should_notify(&q));
	CHECK(!virtq_should_notify(&q));          /* nothing new since */
	/* NO_INTERRUPT is ignored with EVENT_IDX. */
	wr16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	make_avail(0);
	wr16(used_event, 6);
	CHECK_EQ(virtq_pop(&q, &elem), 1);
	CHECK_EQ(virtq_push(&q, elem.head, 0), 0);  /* 6 -> 7 */
	CHECK(virtq_should_notify(&q));
}

/* Random rings (deterministic xorshift): pop never crashes, never returns
 * an iovec outside RAM, and either succeeds or fails with one VIRTQ_E_*. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t rnd_addr(void)
{
	switch (rnd() % 6) {
	case 0: return rnd();                                  /* anywhere */
	case 1: return HOLE + rnd() % 0x100000;                /* hole */
	case 2: return RAM_A_SIZE - rnd() % 64;                /* straddles */
	case 3: return RAM_B + rnd() % RAM_B_SIZE;
	default: return BUF + rnd() % 0x40000;                 /* plausible */
	}
}

static void test_random_rings(void)
{
	unsigned ok = 0, failed = 0, bad_iov = 0;

	for (unsigned iter = 0; iter < 20000; iter++) {
		fresh(rnd() & 1 ? F_INDIRECT : 0);
		for (unsigned i = 0; i < QSIZE; i++) {
			uint16_t flags = rnd() & 7;
			uint32_t len = rnd() % 4 == 0 ? (uint32_t)rnd() : (uint32_t)(rnd() % 256);
			if (flags & VIRTQ_DESC_F_INDIRECT && rnd() & 1) {
				len = 16 * (1 + rnd() % (QSIZE + 1));
				set_desc(i, 0x8000 + 0x100 * (rnd() % 8), len, flags, rnd() % (QSIZE + 2));
			} else {
				set_desc(i, rnd_addr(), len, flags, rnd() % (QSIZE + 2));
			}
		}
		/* Indirect tables at 0x8000..0x8800 with random contents. */
		for (unsigned i = 0; i < 0x800 / 16; i++) {
			uint16_t flags = rnd() & 7;
			set_desc_at(0x8000, i, rnd_addr(), (uint32_t)(rnd() % 512), flags, rnd() % 20);
		}
		unsigned n = 1 + rnd() % 4;
		for (unsigned i = 0; i < n; i++)
			make_avail(rnd() % (QSIZE + 1));
		if (rnd() % 16 == 0)
			wr16(AVAIL + 2, (uint16_t)rnd());
		int rc;
		while ((rc = virtq_pop(&q, &elem)) == 1) {
			ok++;
			for (unsigned i = 0; i < elem.out_num + elem.in_num; i++) {
				uint8_t *p = elem.iov[i].iov_base;
				size_t l = elem.iov[i].iov_len;
				bool in_a = p >= ram_a && p + l <= ram_a + RAM_A_SIZE;
				bool in_b = p >= ram_b && p + l <= ram_b + RAM_B_SIZE;
				if (!in_a && !in_b)
					bad_iov++;
				else
					p[l - 1] ^= 0;   /* ASan: the bytes are addressable */
			}
			virtq_push(&q, elem.head, 0);
		}
		if (rc < 0)
			failed++;
		CHECK(rc <= 0 && rc >= VIRTQ_E_USED_ID);
	}
	CHECK_EQ(bad_iov, 0);
	CHECK(ok > 100);
	CHECK(failed > 100);
}

int main(void)
{
	ram_a = aligned_alloc(4096, RAM_A_SIZE);
	ram_b = aligned_alloc(4096, RAM_B_SIZE);
	memset(ram_b, 0, RAM_B_SIZE);
	CHECK(ram_a && ram_b);
	CHECK_EQ(guest_memory_add_region(&mem, RAM_A, RAM_A_SIZE, ram_a), 0);
	CHECK_EQ(guest_memory_add_region(&mem, RAM_B, RAM_B_SIZE, ram_b), 0);
	memset(ram_a, 0, RAM_A_SIZE);

	test_setup();
	test_valid_mixed_chain();
	test_loops();
	test_bad_addresses();
	test_indirect();
	test_avail_jump();
	test_notify();
	test_random_rings();

	guest_memory_destroy(&mem);
	free(ram_a);
	free(ram_b);
	return check_done();
}
