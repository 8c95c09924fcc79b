/* test_qcow2_write: a fixed-seed random workload of writes (unaligned, multi-
 * iovec, several in flight on disjoint ranges), discards and write-zeroes on
 * images of several cluster sizes, refcount widths, versions, extended L2,
 * a backing file and an external data file (and under cache=none: plain,
 * extended L2 over a backing file, 4 KiB clusters), mirrored into a raw reference;
 * then `qemu-img check` must find no error or leak and `qemu-img compare`
 * must find the image equal to the reference. Also: images from
 * qcow2_create with each option are accepted by qemu-img check, refcount
 * table growth, compressed writes, growing the disk, qcow2_check on our own
 * images; allocating writes under cache=none (zeroed new clusters, unaligned
 * guest buffer, unaligned bytes, whole cluster, copy-on-write from a backing
 * file, subclusters) leave none of their host pages in the page cache, i.e.
 * went through O_DIRECT (mincore). Skips (77) without qemu-img. */
#include "block/block.h"
#include "qcow2/qcow2.h"
#include "tests/check.h"
#include "tests/qcow2_test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[256];
static struct block_engine *eng;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static int direct;   /* cache=none for the next workload */

static uint64_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}


static struct block_dev *open_rw(const char *path)
{
	struct block_open_opts o = { .format = "qcow2", .l2_cache_bytes = 4 * 65536, .cache_direct = direct };
	struct block_dev *bs = NULL;
	int ret = block_open(&bs, path, &o, eng, NULL);

	if (ret < 0)
		fprintf(stderr, "%s: %s\n", path, block_strerror(ret));
	CHECK_EQ(ret, 0);
	return ret < 0 ? NULL : bs;
}

/* Runs the workload on image (and ref, a raw file of the same size). */
static void workload(const char *image, uint8_t *ref, uint64_t size, unsigned cs, int ops, int may_discard)
{
	struct block_dev *bs = open_rw(image);
	uint8_t *buf = NULL;

	if (posix_memalign((void **)&buf, 4096, 1 << 20))
		buf = NULL;
	if (!bs || !buf) {
		free(buf);
		return;
	}
	for (int i = 0; i < ops; i++) {
		unsigned kind = (unsigned)(rnd() % 10);
		uint64_t len = 1 + rnd() % (rnd() % 4 ? 3 * cs : 256 * 1024), off;

		if (len > size)
			len = size;
		off = rnd() % (size - len + 1);
		if (direct && rnd() % 2) {   /* aligned: the O_DIRECT path */
			off &= ~4095ull;
			len = (len + 4095) & ~4095ull;
			if (off + len > size)
				len = size - off;
		}
		if (kind < 6) {
			/* Two disjoint writes in flight together, each 2 iovecs. */
			uint64_t half = direct ? len / 2 & ~4095ull : len / 2, o2 = off + half;
			struct qt_wait w1 = { 0, 0 }, w2 = { 0, 0 };
			uint8_t pat = (uint8_t)rnd();

			for (uint64_t j = 0; j < len; j++)
				buf[j] = (uint8_t)(pat + j * 7 + (j >> 9));
			memcpy(ref + off, buf, len);
			{
				struct iovec a[2] = { { buf, half / 3 }, { buf + half / 3, half - half / 3 } };
				struct iovec b[2] = { { buf + half, (len - half) / 2 },
						      { buf + half + (len - half) / 2, len - half - (len - half) / 2 } };
				int r1 = half ? block_pwritev(bs, off, a, 2, qt_cb, &w1) : (w1.done = 1, 0);
				int r2 = block_pwritev(bs, o2, b, 2, qt_cb, &w2);

				CHECK_EQ(r1, 0);
				CHECK_EQ(r2, 0);
				while ((!w1.done && r1 == 0) || (!w2.done && r2 == 0))
					block_engine_poll(eng, 1);
				CHECK_EQ(w1.ret, 0);
				CHECK_EQ(w2.ret, 0);
			}
		} else if (kind < 8) {
			CHECK_EQ(block_write_zeroes_sync(bs, off, len, (int)(rnd() & 1)), 0);
			memset(ref + off, 0, len);
		} else if (kind < 9 && may_discard) {
			uint64_t a = (off + cs - 1) / cs * cs, e = (off + len) / cs * cs;

			CHECK_EQ(block_discard_sync(bs, off, len), 0);
			if (off + len == size)
				e = size;
			if (e > a)
				memset(ref + a, 0, e - a);
		} else if (rnd() % 3 == 0) {
			CHECK_EQ(block_flush_sync(bs), 0);
		} else {
			/* Read back a random range. */
			CHECK_EQ(block_pread_sync(bs, off, buf, len), 0);
			if (memcmp(buf, ref + off, len) != 0) {
				fprintf(stderr, "%s: op %d: read back differs at %llu+%llu\n", image, i,
					(unsigned long long)off, (unsigned long long)len);
				CHECK(0);
			}
		}
		if (i == ops / 2) {   /* close and reopen in the middle */
			block_close(bs);
			bs = open_rw(image);
			if (!bs)
				break;
		}
	}
	if (bs) {
		struct qcow2_check_result r;

		CHECK_EQ(qcow2_check(bs, 0, &r), 0);
		if (r.corruptions || r.leaks)
			fprintf(stderr, "%s: our check: %d corruptions, %d leaks\n", image, r.corruptions, r.leaks);
		CHECK_EQ(r.corruptions, 0);
		CHECK_EQ(r.leaks, 0);
		block_close(bs);
	}
	free(buf);
}

static void write_ref(const char *path, const uint8_t *ref, uint64_t size)
{
	CHECK_EQ(qt_write_file(path, ref, size), 0);
}

/* The image (created by create_cmd or qcow2_create) after the workload. */
static void run(const char *name, const char *create_cmd, const struct qcow2_create_opts *co,
		uint64_t size, unsigned cs, int ops, const char *base)
{
	char img[512], rp[512];
	uint8_t *ref = calloc(1, size);
	int fd;

	snprintf(img, sizeof(img), "%s/%s", dir, name);
	snprintf(rp, sizeof(rp), "%s/%s.ref", dir, name);
	if (create_cmd)
		CHECK_EQ(qt_sh("cd %s && %s", dir, create_cmd), 0);
	else
		CHECK_EQ(qcow2_create(img, co), 0);
	if (base) {   /* reference starts as the backing file's contents */
		char bp[512];

		snprintf(bp, sizeof(bp), "%s/%s", dir, base);
		fd = open(bp, O_RDONLY);
		CHECK(fd >= 0 && read(fd, ref, size) >= 0);
		close(fd);
	}
	workload(img, ref, size, cs, ops, 1);
	write_ref(rp, ref, size);
	CHECK_EQ(qt_sh("qemu-img check -q '%s'", img), 0);
	CHECK_EQ(qt_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", img, rp), 0);
	free(ref);
}

/* Pages of [off, off+len) of path in the page cache (-1: mincore failed).
 * On tmpfs/ramfs the page cache is the file: 0 there (nothing to tell). */
static int cached_pages(const char *path, uint64_t off, uint64_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char vec[1024];
	int fd = open(path, O_RDONLY), n = -1;
	struct statfs sf;
	void *m;

	if (fd < 0 || len / (uint64_t)pg > sizeof(vec))
		goto out;
	if (fstatfs(fd, &sf) == 0 && (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)) {
		n = 0;
		goto out;
	}
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
	if (m == MAP_FAILED)
		goto out;
	if (mincore(m, len, vec) == 0) {
		n = 0;
		for (uint64_t i = 0; i < len / (uint64_t)pg; i++)
			n += vec[i] & 1;
	}
	munmap(m, len);
out:
	if (fd >= 0)
		close(fd);
	return n;
}

/* cache=none allocating writes: O_DIRECT, so the new host clusters have no
 * page-cache pages afterwards; then the data, qemu-img check and compare. */
static void direct_alloc(const char *name, const char *create_cmd, const char *base, unsigned cs)
{
	static const struct { uint64_t off, len; int unaligned_mem; } w[] = {
		{ 1 * 65536 + 8192, 4096, 0 },     /* zeroed new cluster, aligned */
		{ 2 * 65536 + 4096, 8192, 1 },     /* same, guest buffer unaligned */
		{ 3 * 65536 + 100, 1000, 0 },      /* unaligned bytes: rounded out */
		{ 4 * 65536, 65536, 0 },           /* whole cluster */
		{ 5 * 65536 + 3 * 512, 4096 + 7, 1 }, /* all of it unaligned */
		{ 6 * 65536 + 4096, 65536, 0 },    /* two clusters, partial each */
	};
	char img[512], rp[512];
	struct block_open_opts o = { .format = "qcow2", .cache_direct = 1 };
	struct block_dev *bs = NULL;
	uint64_t size = 1 << 20;
	uint8_t *ref = calloc(1, size), *buf = NULL, *rd = NULL;
	int fd, r;

	snprintf(img, sizeof(img), "%s/%s", dir, name);
	snprintf(rp, sizeof(rp), "%s/%s.ref", dir, name);
	CHECK_EQ(qt_sh("cd %s && %s", dir, create_cmd), 0);
	if (base) {
		char bp[512];

		snprintf(bp, sizeof(bp), "%s/%s", dir, base);
		fd = open(bp, O_RDONLY);
		CHECK(fd >= 0 && read(fd, ref, size) >= 0);
		close(fd);
	}
	if (posix_memalign((void **)&buf, 4096, 2 << 17) || posix_memalign((void **)&rd, 4096, 2 << 17))
		goto out;
	r = block_open(&bs, img, &o, eng, NULL);
	CHECK_EQ(r, 0);
	if (r < 0 || !ref)
		goto out;
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		uint8_t *p = buf + (w[i].unaligned_mem ? 3 : 0);

		for (uint64_t j = 0; j < w[i].len; j++)
			p[j] = (uint8_t)(0x40 + i + j / 512);
		memcpy(ref + w[i].off, p, w[i].len);
		CHECK_EQ(block_pwrite_sync(bs, w[i].off, p, w[i].len), 0);
	}
	CHECK_EQ(block_flush_sync(bs), 0);
	/* The host clusters of the first and last byte of each write, none
	 * read since it was written. */
	for (size_t i = 0; i < 2 * sizeof(w) / sizeof(w[0]); i++) {
		uint64_t g = i % 2 ? w[i / 2].off + w[i / 2].len - 1 : w[i / 2].off, pnum = 0, h = 0;
		int fl = 0, n = -1;

		CHECK_EQ(block_get_status(bs, g, 1, &pnum, &h, &fl), 0);
		CHECK(h != 0 && h % cs == g % cs);
		if (h)
			n = cached_pages(img, h - g % cs, cs);
		if (n != 0)
			fprintf(stderr, "%s: guest byte %llu (host %#llx): %d pages of its cluster in the page cache\n",
				name, (unsigned long long)g, (unsigned long long)h, n);
		CHECK_EQ(n, 0);
	}
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		CHECK_EQ(block_pread_sync(bs, w[i].off, rd, w[i].len), 0);
		CHECK_MEM(rd, ref + w[i].off, w[i].len);
	}
	block_close(bs);
	write_ref(rp, ref, size);
	CHECK_EQ(qt_sh("qemu-img check -q '%s'", img), 0);
	CHECK_EQ(qt_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", img, rp), 0);
out:
	free(ref), free(buf), free(rd);
}

/* Allocating writes into a fresh image (cache=none when direct_io, else
 * writeback): 32 partial-cluster writes all submitted before any completes
 * (in flight together under cache=none), then a flush. The file grows ahead
 * of the clusters by one fallocate per MiB: while the image is open the file
 * reaches past the last cluster, and a copy taken then (a crash after the
 * flush) passes qemu-img check and holds the data. block_close() trims the
 * tail: the file then ends where qemu-img check says the image ends. */
static void fresh_tail(const char *name, int direct_io)
{
	const unsigned cs = 65536, n = 32;
	char img[512], cp[512], rp[512];
	struct block_open_opts o = { .format = "qcow2", .cache_direct = direct_io };
	struct block_dev *bs = NULL;
	struct qt_wait w[32];
	uint8_t *buf = NULL, *ref = calloc(1, 4 << 20);
	uint64_t last = 0;
	struct stat st;
	int r;

	snprintf(img, sizeof(img), "%s/%s", dir, name);
	snprintf(cp, sizeof(cp), "%s/%s.crash", dir, name);
	snprintf(rp, sizeof(rp), "%s/%s.ref", dir, name);
	CHECK_EQ(qt_sh("qemu-img create -q -f qcow2 '%s' 4M", img), 0);
	if (posix_memalign((void **)&buf, 4096, (size_t)n * 4096) || !ref)
		goto out;
	r = block_open(&bs, img, &o, eng, NULL);
	CHECK_EQ(r, 0);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		struct iovec v = { .iov_base = buf + i * 4096, .iov_len = 4096 };
		uint64_t off = (uint64_t)i * 2 * cs + 8192;   /* every other cluster */

		memset(buf + i * 4096, 0xa0 + (int)i, 4096);
		memcpy(ref + off, buf + i * 4096, 4096);
		w[i].done = 0, w[i].ret = 0;
		CHECK_EQ(block_pwritev(bs, off, &v, 1, qt_cb, &w[i]), 0);
	}
	for (unsigned i = 0; i < n; i++) {
		while (!w[i].done)
			block_engine_poll(eng, 1);
		CHECK_EQ(w[i].ret, 0);
	}
	CHECK_EQ(block_flush_sync(bs), 0);
	for (unsigned i = 0; i < n; i++) {
		uint64_t pnum = 0, h = 0;
		int fl = 0;

		CHECK_EQ(block_get_status(bs, (uint64_t)i * 2 * cs + 8192, 1, &pnum, &h, &fl), 0);
		if (h - 8192 + cs > last)
			last = h - 8192 + cs;
	}
	CHECK(stat(img, &st) == 0 && (uint64_t)st.st_size > last);
	CHECK_EQ(qt_sh("cp --sparse=always '%s' '%s'", img, cp), 0);
	CHECK_EQ(qt_write_file(rp, ref, 4 << 20), 0);
	CHECK_EQ(qt_sh("qemu-img check -q '%s'", cp), 0);
	CHECK_EQ(qt_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", cp, rp), 0);
	block_close(bs);
	CHECK(stat(img, &st) == 0);
	CHECK_EQ(qt_sh("qemu-img check --output=json '%s' | grep -q '\"image-end-offset\": %lld,'", img,
		       (long long)st.st_size), 0);
	CHECK_EQ(qt_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", img, rp), 0);
out:
	free(buf);
	free(ref);
}

/* A freed cluster handed to the next allocation is not fresh: the new
 * owner's bytes around a partial write read as zeroes, not the old data. */
static void reuse_zeroed(const char *name, int direct_io)
{
	const unsigned cs = 65536;
	char img[512];
	struct block_open_opts o = { .format = "qcow2", .cache_direct = direct_io };
	struct block_dev *bs = NULL;
	uint8_t *a = NULL, *rd = NULL, zero[4096] = { 0 };
	uint64_t pnum = 0, h0 = 0, h7 = 0;
	int fl = 0, r;

	snprintf(img, sizeof(img), "%s/%s", dir, name);
	CHECK_EQ(qt_sh("qemu-img create -q -f qcow2 '%s' 1M", img), 0);
	if (posix_memalign((void **)&a, 4096, cs) || posix_memalign((void **)&rd, 4096, cs))
		goto out;
	r = block_open(&bs, img, &o, eng, NULL);
	CHECK_EQ(r, 0);
	if (r < 0)
		goto out;
	memset(a, 0x11, cs);
	CHECK_EQ(block_pwrite_sync(bs, 0, a, cs), 0);
	CHECK_EQ(block_get_status(bs, 0, 1, &pnum, &h0, &fl), 0);
	CHECK_EQ(block_flush_sync(bs), 0);
	CHECK_EQ(block_discard_sync(bs, 0, cs), 0);
	CHECK_EQ(block_flush_sync(bs), 0);   /* applies the deferred free */
	memset(a, 0x77, 4096);
	CHECK_EQ(block_pwrite_sync(bs, 7ull * cs + 4096, a, 4096), 0);
	CHECK_EQ(block_get_status(bs, 7ull * cs + 4096, 1, &pnum, &h7, &fl), 0);
	CHECK_EQ(h7 - 4096, h0);   /* the scenario: the freed cluster came back */
	CHECK_EQ(block_pread_sync(bs, 7ull * cs, rd, cs), 0);
	CHECK_MEM(rd, zero, 4096);
	CHECK_MEM(rd + 4096, a, 4096);
	for (unsigned i = 2; i < cs / 4096; i++)
		CHECK_MEM(rd + i * 4096, zero, 4096);
	block_close(bs);
	bs = NULL;
	CHECK_EQ(qt_sh("qemu-img check -q '%s'", img), 0);
out:
	if (bs)
		block_close(bs);
	free(a);
	free(rd);
}

int main(void)
{
	struct qcow2_create_opts co;

	{
		int r = qt_setup("test_qcow2_write", 0, 64, dir, sizeof(dir), &eng);

		if (r)
			return r;
	}

	run("d64k.qcow2", "qemu-img create -q -f qcow2 d64k.qcow2 24M", NULL, 24 << 20, 65536, 300, NULL);
	run("c512.qcow2", "qemu-img create -q -f qcow2 -o cluster_size=512 c512.qcow2 6M", NULL, 6 << 20, 512, 200, NULL);
	run("c4k_r1.qcow2", "qemu-img create -q -f qcow2 -o cluster_size=4096,refcount_bits=1 c4k_r1.qcow2 8M", NULL,
	    8 << 20, 4096, 200, NULL);
	run("v2.qcow2", "qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 10M", NULL, 10 << 20, 65536, 200, NULL);
	run("extl2.qcow2", "qemu-img create -q -f qcow2 -o extended_l2=on extl2.qcow2 10M", NULL, 10 << 20, 65536, 200, NULL);
	CHECK_EQ(qt_sh("cd %s && head -c 12M /dev/urandom > base.raw", dir), 0);
	run("over.qcow2", "qemu-img create -q -f qcow2 -b base.raw -F raw over.qcow2 12M", NULL, 12 << 20, 65536, 200,
	    "base.raw");
	run("overx.qcow2", "qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=32k -b base.raw -F raw overx.qcow2 12M",
	    NULL, 12 << 20, 32768, 200, "base.raw");

	/* cache=none: data through O_DIRECT (unaligned requests fall back). */
	{
		struct block_open_opts o = { .format = "qcow2", .cache_direct = 1 };
		struct block_dev *bs = NULL;
		char p[512];

		snprintf(p, sizeof(p), "%s/d64k.qcow2", dir);
		if (block_open(&bs, p, &o, eng, NULL) == 0) {
			block_close(bs);
			direct = 1;
			run("direct.qcow2", "qemu-img create -q -f qcow2 direct.qcow2 16M", NULL, 16 << 20, 65536, 200, NULL);
			run("directx.qcow2", "qemu-img create -q -f qcow2 -o extended_l2=on -b base.raw -F raw directx.qcow2 12M",
			    NULL, 12 << 20, 65536, 150, "base.raw");
			run("direct4k.qcow2", "qemu-img create -q -f qcow2 -o cluster_size=4096 direct4k.qcow2 8M", NULL,
			    8 << 20, 4096, 150, NULL);
			direct = 0;
			fresh_tail("dtail.qcow2", 1);
			reuse_zeroed("dreuse.qcow2", 1);
			direct_alloc("dalloc.qcow2", "qemu-img create -q -f qcow2 dalloc.qcow2 1M", NULL, 65536);
			direct_alloc("dcow.qcow2", "qemu-img create -q -f qcow2 -b base.raw -F raw dcow.qcow2 1M", "base.raw",
				     65536);
			/* 4 KiB subclusters: aligned for O_DIRECT on 4Kn disks too. */
			direct_alloc("dsub.qcow2", "qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=128k "
				     "-b base.raw -F raw dsub.qcow2 1M", "base.raw", 131072);
		} else {
			printf("O_DIRECT not supported in %s: cache=none workload skipped\n", dir);
		}
	}

	fresh_tail("tail.qcow2", 0);
	reuse_zeroed("reuse.qcow2", 0);

	/* Our own images. 512-byte clusters with 64-bit refcounts: the
	 * refcount table must grow several times. */
	memset(&co, 0, sizeof(co));
	co.size = 6 << 20;
	co.cluster_size = 512;
	co.refcount_bits = 64;
	run("grow.qcow2", NULL, &co, 6 << 20, 512, 150, NULL);
	memset(&co, 0, sizeof(co));
	co.size = 5 << 20;
	co.extended_l2 = 1;
	co.lazy_refcounts = 1;
	co.compression_type = "zstd";
	run("own3.qcow2", NULL, &co, 5 << 20, 65536, 150, NULL);
	memset(&co, 0, sizeof(co));
	co.size = 4 << 20;
	co.version = 2;
	co.preallocation = "metadata";
	run("own2.qcow2", NULL, &co, 4 << 20, 65536, 100, NULL);
	{
		char df[512];

		snprintf(df, sizeof(df), "%s/own.data", dir);
		memset(&co, 0, sizeof(co));
		co.size = 4 << 20;
		co.data_file = df;
		run("ownd.qcow2", NULL, &co, 4 << 20, 65536, 100, NULL);
	}

	/* Every create option gives an image qemu-img accepts. */
	{
		static const char *pre[] = { "off", "metadata", "falloc", "full" };
		char p[512];

		for (int i = 0; i < 4; i++) {
			memset(&co, 0, sizeof(co));
			co.size = 3 << 20;
			co.cluster_size = 4096u << i;
			co.refcount_bits = 1u << (i * 2);
			co.preallocation = pre[i];
			co.backing_file = i == 0 ? "base.raw" : NULL;
			co.backing_fmt = i == 0 ? "raw" : NULL;
			snprintf(p, sizeof(p), "%s/create%d.qcow2", dir, i);
			CHECK_EQ(qcow2_create(p, &co), 0);
			CHECK_EQ(qt_sh("qemu-img check -q '%s'", p), 0);
			CHECK_EQ(qt_sh("qemu-img info '%s' | grep -q 'cluster_size: %u'", p, 4096u << i), 0);
		}
		CHECK_EQ(qt_sh("qemu-img info %s/create0.qcow2 | grep -q 'backing file: base.raw'", dir), 0);
		CHECK_EQ(qt_sh("cd %s && qemu-img convert -O raw create0.qcow2 c0.raw && head -c 3M base.raw | cmp -s - c0.raw", dir), 0);
		memset(&co, 0, sizeof(co));
		co.size = 1000;
		CHECK(qcow2_create(p, &co) < 0);   /* not a multiple of 512 */
		co.size = 1 << 20;
		co.cluster_size = 1000;
		CHECK(qcow2_create(p, &co) < 0);
		co.cluster_size = 0;
		co.version = 2;
		co.extended_l2 = 1;
		CHECK(qcow2_create(p, &co) < 0);
	}

	/* Compressed clusters written by us, read by qemu-img; then grow the disk. */
	{
		char p[512], rp[512];
		uint8_t *ref = calloc(1, 4 << 20);
		struct block_dev *bs;
		struct qcow2_info info;

		memset(&co, 0, sizeof(co));
		co.size = 2 << 20;
		snprintf(p, sizeof(p), "%s/comp.qcow2", dir);
		snprintf(rp, sizeof(rp), "%s/comp.ref", dir);
		CHECK_EQ(qcow2_create(p, &co), 0);
		bs = open_rw(p);
		if (bs) {
			for (int c = 0; c < 32; c++) {
				uint8_t *cl = ref + c * 65536;

				for (int j = 0; j < 65536; j++)
					cl[j] = (uint8_t)(c % 3 == 0 ? rnd() : (j / (c + 1)) & 0x3f);
				CHECK_EQ(qcow2_write_compressed(bs, (uint64_t)c * 65536, cl, 65536), 0);
			}
			/* Overwrite part of a compressed cluster: copy-on-write from it. */
			memset(ref + 65536 + 1000, 0xee, 3000);
			CHECK_EQ(block_pwrite_sync(bs, 65536 + 1000, ref + 65536 + 1000, 3000), 0);
			CHECK_EQ(qcow2_get_info(bs, &info), 0);
			CHECK_EQ(info.cluster_size, 65536);
			CHECK_EQ(info.version, 3);
			CHECK_STR(info.compression_type, "zlib");
			CHECK_EQ(block_truncate(bs, 4 << 20), 0);
			CHECK_EQ(bs->size, 4 << 20);
			memset(ref + (3 << 20), 0x5a, 65536);
			CHECK_EQ(block_pwrite_sync(bs, 3 << 20, ref + (3 << 20), 65536), 0);
			{
				uint64_t pnum = 0, host = 0;
				int flags = 0;

				CHECK_EQ(block_get_status(bs, 2 * 65536, 65536, &pnum, &host, &flags), 0);
				CHECK_EQ(flags, BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_COMPRESSED);
				CHECK_EQ(block_get_status(bs, 3 << 20, 1 << 20, &pnum, &host, &flags), 0);
				CHECK_EQ(flags, BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED);
				CHECK_EQ(pnum, 65536);
				CHECK(host != 0 && host % 65536 == 0);
				CHECK_EQ(block_get_status(bs, (3 << 20) + 65536, (1 << 20) - 65536, &pnum, &host, &flags), 0);
				CHECK_EQ(flags, BLOCK_STATUS_ZERO);
				CHECK_EQ(pnum, (1 << 20) - 65536);
			}
			block_close(bs);
		}
		write_ref(rp, ref, 4 << 20);
		CHECK_EQ(qt_sh("qemu-img check -q '%s'", p), 0);
		CHECK_EQ(qt_sh("qemu-img info '%s' | grep -q 'virtual size: 4 MiB'", p), 0);
		CHECK_EQ(qt_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", p, rp), 0);
		CHECK_EQ(qt_sh("qemu-img check '%s' | grep -q '[1-9][0-9.]*%% compressed clusters'", p), 0);
		free(ref);
	}

	/* A process killed at a random point of an allocating workload (tiny
	 * caches, so metadata is written back all the time) leaves an image
	 * qemu-img check finds free of errors (exit 0, or 3: leaks only). */
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 -o cluster_size=4096 kill.qcow2 64M", dir), 0);
	for (int round = 0; round < 6; round++) {
		char p[512];
		pid_t pid;
		int st = 0, rc;

		int pfd[2];
		char ready;

		snprintf(p, sizeof(p), "%s/kill.qcow2", dir);
		CHECK_EQ(pipe(pfd), 0);
		pid = fork();
		if (pid == 0) {
			struct block_engine *e2;
			struct block_open_opts o = { .format = "qcow2", .l2_cache_bytes = 4096, .refcount_cache_bytes = 4096 };
			struct block_dev *bs;
			static uint8_t b[65536];

			if (block_engine_create(&e2, 8, 0) < 0 || block_open(&bs, p, &o, e2, NULL) < 0)
				_exit(1);
			rng += (uint64_t)round * 7919;
			for (int n = 0;; n++) {
				if (n == 20 && write(pfd[1], "r", 1) != 1)   /* writing for real now */
					_exit(1);
				uint64_t off = rnd() % (64 << 20), len = 1 + rnd() % sizeof(b);

				if (off + len > (64 << 20))
					len = (64 << 20) - off;
				memset(b, (int)(rnd() & 0xff), sizeof(b));
				if (rnd() % 8 == 0)
					block_discard_sync(bs, off & ~4095ull, 65536 < (64 << 20) - (off & ~4095ull) ? 65536 : 4096);
				else
					block_pwrite_sync(bs, off, b, len);
			}
		}
		close(pfd[1]);
		CHECK_EQ(read(pfd[0], &ready, 1), 1);
		close(pfd[0]);
		{
			struct timespec ts = { 0, (long)(rnd() % 300) * 1000000L };

			nanosleep(&ts, NULL);
		}
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		rc = qt_sh("qemu-img check -q '%s' >/dev/null 2>&1; r=$?; [ $r -eq 0 ] || [ $r -eq 3 ]", p);
		CHECK_EQ(rc, 0);
		/* Our own check agrees and repairs the leaks for the next round. */
		{
			struct block_dev *bs = open_rw(p);
			struct qcow2_check_result r;

			if (bs) {
				CHECK_EQ(qcow2_check(bs, QCOW2_FIX_LEAKS, &r), 0);
				CHECK_EQ(r.corruptions, 0);
				block_close(bs);
			}
		}
		CHECK_EQ(qt_sh("qemu-img check -q '%s'", p), 0);
		/* The child really wrote before it died. */
		CHECK_EQ(qt_sh("test $(stat -c %%s '%s') -gt 100000", p), 0);
	}

	block_engine_destroy(eng);
	qt_sh("rm -rf %s", dir);
	return check_done();
}
