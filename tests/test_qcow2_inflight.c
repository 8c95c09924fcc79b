/* test_qcow2_inflight: concurrent requests on the same clusters through the
 * asynchronous block API at queue depth 64: per round, 32 writes and 32
 * reads on disjoint pieces of the same 4 clusters, all submitted before any
 * completes, on clusters that are unallocated, backed by a backing file,
 * compressed, or allocated. Two writes to one unallocated cluster must not
 * both allocate it (each keeps its bytes), and a read of a piece beside a
 * cluster being allocated sees the old contents, never zeroes or garbage.
 * Afterwards `qemu-img check` finds no error or leak and `qemu-img compare`
 * equals the reference. Then the discard race on each engine: an overwrite
 * of an allocated cluster still in flight (held back by block_engine_plug
 * on io_uring) while the cluster is discarded and a flush applies the
 * deferred frees; the cluster must not be handed to the next allocating
 * write before that overwrite completed (its data would land in the new
 * owner). The same for a read in flight (read_race): a read of a cluster
 * being discarded keeps the cluster from being reused until it completed,
 * and returns the old bytes, not the next owner's. Skips (77) without
 * qemu-img. */
#include "block/block.h"
#include "qcow2/qcow2.h"
#include "tests/check.h"
#include "tests/qcow2_test_util.h"

#include <stdlib.h>

#define SIZE   (8u << 20)
#define PIECES 64

static char dir[256];
static struct block_engine *eng;
static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

/* One round on clusters [c, c+4) of cluster size cs: PIECES disjoint
 * pieces, the even-numbered (after shuffling) written, the others read. */
static void round_on(struct block_dev *bs, uint8_t *ref, uint64_t c, unsigned cs)
{
	uint64_t start = c * cs, span = 4ull * cs, cut[PIECES + 1];
	struct qt_wait w[PIECES];
	uint8_t *buf[PIECES];
	int order[PIECES], ret[PIECES];

	/* Increasing cut points: half on an even split, half moved forward by
	 * an odd amount (unaligned pieces); no piece is empty. */
	cut[0] = 0, cut[PIECES] = span;
	for (int i = 1; i < PIECES; i++)
		cut[i] = span / PIECES * (uint64_t)i + (rnd() % 2 ? 0 : 1 + 2 * (rnd() % (span / PIECES / 4)));
	for (int i = 0; i < PIECES; i++) {
		order[i] = i;
		w[i].done = 0, w[i].ret = 0;
	}
	for (int i = PIECES - 1; i > 0; i--) {
		int j = (int)(rnd() % (uint64_t)(i + 1)), t = order[i];

		order[i] = order[j], order[j] = t;
	}
	for (int k = 0; k < PIECES; k++) {
		int i = order[k];
		uint64_t off = start + cut[i], len = cut[i + 1] - cut[i];
		struct iovec iov;

		buf[i] = malloc(len ? len : 1);
		iov.iov_base = buf[i], iov.iov_len = len;
		if (k % 2 == 0) {
			uint8_t pat = (uint8_t)(1 + rnd() % 254);

			for (uint64_t b = 0; b < len; b++)
				buf[i][b] = (uint8_t)(pat + b / 512);
			ret[i] = block_pwritev(bs, off, &iov, 1, qt_cb, &w[i]);
		} else {
			ret[i] = block_preadv(bs, off, &iov, 1, qt_cb, &w[i]);
		}
		CHECK_EQ(ret[i], 0);
	}
	for (int i = 0; i < PIECES; i++)
		while (ret[i] == 0 && !w[i].done)
			block_engine_poll(eng, 1);
	for (int k = 0; k < PIECES; k++) {
		int i = order[k];
		uint64_t off = start + cut[i], len = cut[i + 1] - cut[i];

		CHECK_EQ(w[i].ret, 0);
		if (k % 2 == 0) {
			memcpy(ref + off, buf[i], len);
		} else if (memcmp(buf[i], ref + off, len) != 0) {
			fprintf(stderr, "read of %llu+%llu beside in-flight writes differs\n",
				(unsigned long long)off, (unsigned long long)len);
			CHECK(0);
		}
		free(buf[i]);
	}
}

/* The image made by prep after rounds on random 4-cluster groups. */
static void run(const char *name, const char *prep, unsigned cs, int rounds)
{
	char img[512], rp[512];
	struct block_open_opts o = { .format = "qcow2", .l2_cache_bytes = 2 * (uint64_t)cs };
	struct block_dev *bs = NULL;
	uint8_t *ref = NULL;
	size_t len = 0;
	int r;

	snprintf(img, sizeof(img), "%s/%s", dir, name);
	snprintf(rp, sizeof(rp), "%s/%s.raw", dir, name);
	CHECK_EQ(qt_sh("cd %s && %s", dir, prep), 0);
	CHECK_EQ(qt_sh("qemu-img convert -O raw '%s' '%s'", img, rp), 0);
	ref = qt_slurp(rp, &len);
	CHECK(ref != NULL && len == SIZE);
	r = block_open(&bs, img, &o, eng, NULL);
	if (r < 0)
		fprintf(stderr, "%s: %s\n", name, block_strerror(r));
	CHECK_EQ(r, 0);
	if (r < 0 || !ref || len != SIZE) {
		free(ref);
		return;
	}
	for (int i = 0; i < rounds; i++)
		round_on(bs, ref, rnd() % (SIZE / cs - 3), cs);
	block_close(bs);
	CHECK_EQ(qt_write_file(rp, ref, SIZE), 0);
	CHECK_EQ(qt_sh("qemu-img check -q '%s'", img), 0);
	CHECK_EQ(qt_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", img, rp), 0);
	free(ref);
}

/* Overwrite vc 0 in flight, discard it, flush, allocate vc 5 (engine e). */
static void discard_race(struct block_engine *e, const char *name)
{
	const unsigned cs = 65536;
	char img[512], rp[512];
	struct block_open_opts o = { .format = "qcow2" };
	struct block_dev *bs = NULL;
	struct qt_wait ww = { 0, 0 }, wd = { 0, 0 }, wf = { 0, 0 }, wx = { 0, 0 };
	uint8_t *a = malloc(cs), *b = malloc(cs), *x = malloc(cs), *rd = malloc(cs), *ref = calloc(1, SIZE);
	struct iovec ib = { .iov_base = b, .iov_len = cs }, ix = { .iov_base = x, .iov_len = cs };
	uint64_t pnum = 0, h0 = 0, h5 = 0;
	int fl = 0, r;

	snprintf(img, sizeof(img), "%s/%s", dir, name);
	snprintf(rp, sizeof(rp), "%s/%s.raw", dir, name);
	CHECK(a && b && x && rd && ref);
	CHECK_EQ(qt_sh("qemu-img create -q -f qcow2 '%s' 8M", img), 0);
	r = block_open(&bs, img, &o, e, NULL);
	CHECK_EQ(r, 0);
	if (r < 0 || !a || !b || !x || !rd || !ref)
		goto out;
	memset(a, 0x11, cs), memset(b, 0x22, cs), memset(x, 0x33, cs);
	CHECK_EQ(block_pwrite_sync(bs, 0, a, cs), 0);
	CHECK_EQ(block_flush_sync(bs), 0);
	CHECK_EQ(block_get_status(bs, 0, cs, &pnum, &h0, &fl), 0);
	CHECK(h0 != 0);

	block_engine_plug(e);
	CHECK_EQ(block_pwritev(bs, 0, &ib, 1, qt_cb, &ww), 0);   /* in place: to the engine */
	CHECK_EQ(block_discard(bs, 0, cs, qt_cb, &wd), 0);
	CHECK_EQ(block_flush(bs, qt_cb, &wf), 0);
	CHECK_EQ(block_pwritev(bs, 5ull * cs, &ix, 1, qt_cb, &wx), 0); /* allocates */
	CHECK_EQ(block_get_status(bs, 5ull * cs, cs, &pnum, &h5, &fl), 0);
	if (h5 == h0)
		fprintf(stderr, "%s: cluster %#llx reallocated under an in-flight write\n", name,
			(unsigned long long)h0);
	CHECK(h5 != 0 && h5 != h0);
	block_engine_unplug(e);
	while (!ww.done || !wd.done || !wf.done || !wx.done)
		block_engine_poll(e, 1);
	CHECK_EQ(ww.ret, 0);
	CHECK_EQ(wd.ret, 0);
	CHECK_EQ(wf.ret, 0);
	CHECK_EQ(wx.ret, 0);
	CHECK_EQ(block_pread_sync(bs, 5ull * cs, rd, cs), 0);
	CHECK_MEM(rd, x, cs);
	/* A later flush with nothing in flight frees the cluster after all. */
	CHECK_EQ(block_flush_sync(bs), 0);
	CHECK_EQ(block_pwrite_sync(bs, 6ull * cs, a, cs), 0);
	CHECK_EQ(block_get_status(bs, 6ull * cs, cs, &pnum, &h5, &fl), 0);
	CHECK_EQ(h5, h0);
	block_close(bs);
	bs = NULL;
	memcpy(ref + 5ull * cs, x, cs);
	memcpy(ref + 6ull * cs, a, cs);
	CHECK_EQ(qt_write_file(rp, ref, SIZE), 0);
	CHECK_EQ(qt_sh("qemu-img check -q '%s'", img), 0);
	CHECK_EQ(qt_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", img, rp), 0);
out:
	if (bs)
		block_close(bs);
	free(a), free(b), free(x), free(rd), free(ref);
}

/* Reads of vc [0, n) in flight, each discarded after its read, a flush,
 * allocating writes to vc [n, 2n) (engine e): no allocation may get a
 * discarded cluster, the reads return the old bytes, and a later flush with
 * nothing in flight does free the clusters (writes to [2n, 3n) reuse them).
 * n past QCOW2_READ_EPOCHS (32): frees join the newest epoch, still held. */
static void read_race(struct block_engine *e, const char *name, unsigned n)
{
	const unsigned cs = 65536;
	char img[512];
	struct block_open_opts o = { .format = "qcow2" };
	struct block_dev *bs = NULL;
	struct qt_wait wr[64], wd[64], wx[64], wf = { 0, 0 };
	uint8_t *a = malloc(cs), *x = malloc(cs), *rd = malloc((size_t)n * cs);
	uint64_t pnum = 0, h, old[64];
	int fl = 0, r, hits = 0, bad = 0;

	snprintf(img, sizeof(img), "%s/%s", dir, name);
	CHECK(a && x && rd && n <= 64 && 3 * n <= SIZE / cs);
	CHECK_EQ(qt_sh("qemu-img create -q -f qcow2 '%s' 8M", img), 0);
	r = block_open(&bs, img, &o, e, NULL);
	CHECK_EQ(r, 0);
	if (r < 0 || !a || !x || !rd || n > 64 || 3 * n > SIZE / cs)
		goto out;
	memset(x, 0x33, cs), memset(rd, 0, (size_t)n * cs);
	for (unsigned i = 0; i < n; i++) {
		memset(a, 0x40 + (int)i, cs);
		CHECK_EQ(block_pwrite_sync(bs, i * (uint64_t)cs, a, cs), 0);
	}
	CHECK_EQ(block_flush_sync(bs), 0);
	for (unsigned i = 0; i < n; i++) {
		old[i] = 0;
		CHECK_EQ(block_get_status(bs, i * (uint64_t)cs, cs, &pnum, &old[i], &fl), 0);
		CHECK(old[i] != 0);
	}

	block_engine_plug(e);
	for (unsigned i = 0; i < n; i++) {
		struct iovec ir = { .iov_base = rd + (size_t)i * cs, .iov_len = cs };

		wr[i].done = wd[i].done = wx[i].done = 0;
		CHECK_EQ(block_preadv(bs, i * (uint64_t)cs, &ir, 1, qt_cb, &wr[i]), 0); /* to the engine */
		CHECK_EQ(block_discard(bs, i * (uint64_t)cs, cs, qt_cb, &wd[i]), 0);
	}
	CHECK_EQ(block_flush(bs, qt_cb, &wf), 0);
	for (unsigned i = 0; i < n; i++) {
		struct iovec ix = { .iov_base = x, .iov_len = cs };

		CHECK_EQ(block_pwritev(bs, (n + i) * (uint64_t)cs, &ix, 1, qt_cb, &wx[i]), 0); /* allocates */
		h = 0;
		CHECK_EQ(block_get_status(bs, (n + i) * (uint64_t)cs, cs, &pnum, &h, &fl), 0);
		CHECK(h != 0);
		for (unsigned j = 0; j < n; j++)
			hits += h == old[j];
	}
	if (hits)
		fprintf(stderr, "%s: %d clusters reallocated under in-flight reads\n", name, hits);
	CHECK_EQ(hits, 0);
	block_engine_unplug(e);
	for (unsigned i = 0; i < n; i++) {
		while (!wr[i].done || !wd[i].done || !wx[i].done || !wf.done)
			block_engine_poll(e, 1);
		CHECK_EQ(wr[i].ret, 0);
		CHECK_EQ(wd[i].ret, 0);
		CHECK_EQ(wx[i].ret, 0);
		memset(a, 0x40 + (int)i, cs);
		bad += memcmp(rd + (size_t)i * cs, a, cs) != 0;
	}
	CHECK_EQ(wf.ret, 0);
	if (bad)
		fprintf(stderr, "%s: %d in-flight reads did not return the old bytes (first byte %#x)\n", name, bad,
			rd[0]);
	CHECK_EQ(bad, 0);
	/* A later flush with nothing in flight frees the clusters after all. */
	CHECK_EQ(block_flush_sync(bs), 0);
	hits = 0;
	for (unsigned i = 0; i < n; i++) {
		CHECK_EQ(block_pwrite_sync(bs, (2 * n + i) * (uint64_t)cs, x, cs), 0);
		h = 0;
		CHECK_EQ(block_get_status(bs, (2 * n + i) * (uint64_t)cs, cs, &pnum, &h, &fl), 0);
		for (unsigned j = 0; j < n; j++)
			hits += h == old[j];
	}
	CHECK_EQ(hits, (int)n);
out:
	if (bs)
		block_close(bs);
	if (r == 0)   /* closed: no error, no leak */
		CHECK_EQ(qt_sh("qemu-img check -q '%s'", img), 0);
	free(a), free(x), free(rd);
}

int main(void)
{
	int r = qt_setup("test_qcow2_inflight", 0, 64, dir, sizeof(dir), &eng);

	if (r)
		return r;
	run("fresh.qcow2", "qemu-img create -q -f qcow2 fresh.qcow2 8M", 65536, 40);
	run("c4k.qcow2", "qemu-img create -q -f qcow2 -o cluster_size=4096 c4k.qcow2 8M", 4096, 60);
	run("extl2.qcow2", "qemu-img create -q -f qcow2 -o extended_l2=on extl2.qcow2 8M",
	    65536, 40);
	run("over.qcow2", "head -c 8M /dev/urandom > base.raw && "
	    "qemu-img create -q -f qcow2 -b base.raw -F raw over.qcow2 8M", 65536, 40);
	run("comp.qcow2", "(yes compressible; true) | head -c 8M > r.raw && qemu-img convert -c -O qcow2 r.raw comp.qcow2",
	    65536, 40);
	/* Allocated clusters: overwrites in place go to the engine concurrently. */
	run("full.qcow2", "head -c 8M /dev/urandom > f.raw && qemu-img convert -O qcow2 f.raw full.qcow2",
	    65536, 40);
	{
		struct block_engine *te = NULL;

		fprintf(stderr, "discard race on %s\n", block_engine_name(eng));
		discard_race(eng, "race.qcow2");
		read_race(eng, "rrace.qcow2", 1);
		read_race(eng, "rrace40.qcow2", 40);
		CHECK_EQ(block_engine_create(&te, 64, 1), 0);
		if (te) {
			discard_race(te, "race_threads.qcow2");
			read_race(te, "rrace_threads.qcow2", 1);
			read_race(te, "rrace40_threads.qcow2", 40);
			block_engine_destroy(te);
		}
	}
	return check_done();
}
