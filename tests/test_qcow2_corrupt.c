/* test_qcow2_corrupt: hand-made corrupt images (a valid image from
 * qcow2_create with bytes patched) each give the exact error code and a
 * clear qcow2_strerror text: bad magic, version, cluster_bits out of range,
 * huge l1_size, L1 entry beyond the end of the file, refcount table over the
 * header, unknown incompatible bits (named from the feature name table),
 * corrupt bit, bad header extension, bad snapshot table, misaligned L2
 * entry, compressed clusters with a bad length or bad data; check/repair of
 * leaks and refcount errors; random byte corruption never crashes. */
#include "block/block.h"
#include "qcow2/qcow2.h"
#include "tests/check.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[256], path[300];
static struct block_engine *eng;

static uint64_t be64(const uint8_t *b) { uint64_t v = 0; for (int i = 0; i < 8; i++) v = v << 8 | b[i]; return v; }
static void put64(uint8_t *b, uint64_t v) { for (int i = 7; i >= 0; i--, v >>= 8) b[i] = (uint8_t)v; }

static uint64_t get(uint64_t off, int n)
{
	uint8_t b[8] = { 0 };
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0 && pread(fd, b + 8 - n, (size_t)n, (off_t)off) == n);
	close(fd);
	return be64(b);
}

static void patch(uint64_t off, uint64_t v, int n)
{
	uint8_t b[8];
	int fd = open(path, O_WRONLY);

	put64(b, v);
	CHECK(fd >= 0 && pwrite(fd, b + 8 - n, (size_t)n, (off_t)off) == n);
	close(fd);
}

/* A fresh 4 MiB image with data in clusters 0-1 and a compressed cluster 3. */
static void fresh(void)
{
	struct qcow2_create_opts co = { .size = 4 << 20 };
	struct block_open_opts o = { .format = "qcow2" };
	struct block_dev *bs;
	uint8_t *buf = malloc(131072);

	memset(buf, 0x3c, 131072);
	CHECK_EQ(qcow2_create(path, &co), 0);
	CHECK_EQ(block_open(&bs, path, &o, eng, NULL), 0);
	CHECK_EQ(block_pwrite_sync(bs, 0, buf, 131072), 0);
	CHECK_EQ(qcow2_write_compressed(bs, 3 * 65536, buf, 65536), 0);
	block_close(bs);
	free(buf);
}

static int try_open(int ro)
{
	struct block_open_opts o = { .format = "qcow2", .read_only = ro };
	struct block_dev *bs = NULL;
	int ret = block_open(&bs, path, &o, eng, NULL);

	if (ret == 0)
		block_close(bs);
	return ret;
}

/* Opens read-only and reads guest offset off: the read's result. */
static int try_read(uint64_t off)
{
	struct block_open_opts o = { .format = "qcow2", .read_only = 1 };
	struct block_dev *bs = NULL;
	uint8_t buf[4096];
	int ret = block_open(&bs, path, &o, eng, NULL);

	if (ret < 0)
		return ret;
	ret = block_pread_sync(bs, off, buf, sizeof(buf));
	block_close(bs);
	return ret;
}

#define EXPECT(call, code) do { \
	int _r = (call); \
	CHECK_EQ(_r, code); \
	if (_r < 0) CHECK(qcow2_strerror(_r) != NULL && strlen(block_strerror(_r)) > 10); \
} while (0)

static uint64_t l1_off(void) { return get(40, 8); }
static uint64_t l2_off(void) { return get(l1_off(), 8) & 0x00fffffffffffe00ull; }

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_qcow2_corrupt.XXXXXX");
	if (!mkdtemp(dir) || block_engine_create(&eng, 16, 0) < 0) {
		perror("setup");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/c.qcow2", dir);

	fresh();
	EXPECT(try_open(0), 0);
	CHECK_EQ(try_read(0), 0);
	CHECK_EQ(try_read(3 * 65536), 0);

	fresh(); patch(0, 0x514649fa, 4);
	EXPECT(try_open(1), QCOW2_E_BAD_MAGIC);
	CHECK(strstr(qcow2_strerror(QCOW2_E_BAD_MAGIC), "magic") != NULL);
	fresh(); patch(4, 4, 4);
	EXPECT(try_open(1), QCOW2_E_VERSION);
	fresh(); patch(20, 8, 4);
	EXPECT(try_open(1), QCOW2_E_CLUSTER_BITS);
	fresh(); patch(20, 22, 4);
	EXPECT(try_open(1), QCOW2_E_CLUSTER_BITS);
	fresh(); patch(36, 0x10000000, 4);
	EXPECT(try_open(1), QCOW2_E_L1_SIZE);
	fresh(); patch(36, 0, 4);   /* too small for the disk size */
	EXPECT(try_open(1), QCOW2_E_L1_SIZE);
	fresh(); patch(40, 0x12345, 8);
	EXPECT(try_open(1), QCOW2_E_L1_OFFSET);
	fresh(); patch(40, 0, 8);
	EXPECT(try_open(1), QCOW2_E_L1_OFFSET);
	fresh(); patch(l1_off(), 0x8000000100000000ull, 8);   /* L2 table at 4 GiB: beyond EOF */
	EXPECT(try_open(1), QCOW2_E_L1_ENTRY);
	CHECK(strstr(qcow2_strerror(QCOW2_E_L1_ENTRY), "beyond the end of the file") != NULL);
	fresh(); patch(48, 0, 8);   /* refcount table over the header */
	EXPECT(try_open(1), QCOW2_E_REFTABLE);
	fresh(); patch(56, 0x100000, 4);
	EXPECT(try_open(1), QCOW2_E_REFTABLE);
	fresh(); patch(96, 7, 4);
	EXPECT(try_open(1), QCOW2_E_REFCOUNT_ORDER);
	fresh(); patch(100, 50, 4);
	EXPECT(try_open(1), QCOW2_E_HEADER);
	fresh(); patch(24, 513, 8);
	EXPECT(try_open(1), QCOW2_E_HEADER);
	fresh(); patch(32, 1, 4);
	EXPECT(try_open(1), QCOW2_E_UNSUPPORTED);

	/* Unknown incompatible bits: named "unknown bit N", or by the name
	 * table when it has one. */
	fresh(); patch(72, 1ull << 40, 8);
	EXPECT(try_open(1), QCOW2_E_INCOMPAT);
	CHECK(strstr(qcow2_strerror(QCOW2_E_INCOMPAT), "unknown bit 40") != NULL);
	fresh();
	{
		/* Rename the table's "dirty bit" entry to bit 5 "frobnicate". */
		int fd = open(path, O_RDWR);
		uint8_t h[4096];
		char *p;

		CHECK(fd >= 0 && pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h));
		p = memmem(h, sizeof(h), "dirty bit", 9);
		CHECK(p != NULL);
		if (p) {
			p[-1] = 5;
			memcpy(p, "frobnicate", 11);
			CHECK(pwrite(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h));
		}
		close(fd);
	}
	patch(72, 1ull << 5, 8);
	EXPECT(try_open(1), QCOW2_E_INCOMPAT);
	CHECK(strstr(qcow2_strerror(QCOW2_E_INCOMPAT), "frobnicate") != NULL);

	/* Corrupt bit: read-only works, read-write refused. */
	fresh(); patch(72, 2, 8);
	EXPECT(try_open(0), QCOW2_E_CORRUPT);
	EXPECT(try_open(1), 0);
	/* Unknown compression type. */
	fresh(); patch(72, 8, 8); patch(104, 0x07, 1);
	EXPECT(try_open(1), QCOW2_E_COMPRESSION_TYPE);
	/* Header extension longer than the cluster. */
	fresh(); patch(112, 0x12345678, 4); patch(116, 0x7fffffff, 4);
	EXPECT(try_open(1), QCOW2_E_EXTENSION);
	/* Snapshot table beyond the end. */
	fresh(); patch(60, 1, 4); patch(64, 0x40000000, 8);
	EXPECT(try_open(1), QCOW2_E_SNAPSHOT);
	/* A truncated file. */
	fresh(); CHECK_EQ(truncate(path, 60), 0);
	EXPECT(try_open(1), QCOW2_E_HEADER);

	/* L2 entries: misaligned data offset, data beyond EOF; compressed
	 * cluster with a length past EOF, and with garbage data. */
	fresh(); patch(l2_off(), get(l2_off(), 8) | 0x1000, 8);
	EXPECT(try_read(0), QCOW2_E_L2_ENTRY);
	EXPECT(try_read(65536), 0);
	fresh(); patch(l2_off() + 8, 0x8000000400000000ull, 8);
	EXPECT(try_read(65536), QCOW2_E_L2_ENTRY);
	fresh();
	{
		uint64_t e = get(l2_off() + 24, 8);

		CHECK(e & (1ull << 62));
		patch(l2_off() + 24, e | (0xffull << 54), 8);   /* 255 more sectors: beyond EOF */
		EXPECT(try_read(3 * 65536), QCOW2_E_COMPRESSED);
		CHECK(strstr(qcow2_strerror(QCOW2_E_COMPRESSED), "compressed") != NULL);
		fresh();
		e = get(l2_off() + 24, 8);
		patch(e & ((1ull << 54) - 1), 0xffffffffffffffffull, 8);   /* garbage deflate stream */
		EXPECT(try_read(3 * 65536), QCOW2_E_COMPRESSED);
	}

	/* check: a leaked cluster and a refcount too small; repair. */
	fresh();
	{
		struct block_open_opts o = { .format = "qcow2" };
		struct block_dev *bs;
		struct qcow2_check_result r;
		uint64_t rb = get(get(48, 8), 8);   /* first refcount block */
		uint64_t data = get(l2_off(), 8) & 0x00fffffffffffe00ull;

		patch(rb + 2 * 60, 1, 2);                      /* cluster 60: leaked */
		patch(rb + 2 * (data / 65536), 0, 2);          /* a data cluster: refcount 0 */
		CHECK_EQ(block_open(&bs, path, &o, eng, NULL), 0);
		CHECK_EQ(qcow2_check(bs, 0, &r), 0);
		CHECK_EQ(r.leaks, 1);
		CHECK(r.corruptions >= 1);
		CHECK_EQ(qcow2_check(bs, QCOW2_FIX_LEAKS, &r), 0);
		CHECK_EQ(r.leaks_fixed, 1);
		CHECK_EQ(qcow2_check(bs, QCOW2_FIX_LEAKS | QCOW2_FIX_ERRORS, &r), 0);
		CHECK(r.corruptions_fixed >= 1);
		CHECK_EQ(qcow2_check(bs, 0, &r), 0);
		CHECK_EQ(r.leaks, 0);
		CHECK_EQ(r.corruptions, 0);
		CHECK_EQ(r.allocated_clusters, 3);
		CHECK_EQ(r.compressed_clusters, 1);
		CHECK_EQ(r.total_clusters, 64);
		block_close(bs);
		if (system("qemu-img --version >/dev/null 2>&1") == 0) {
			char cmd[512];

			snprintf(cmd, sizeof(cmd), "qemu-img check -q '%s'", path);
			CHECK_EQ(system(cmd), 0);
		}
	}

	/* A data cluster pointing at its own L2 table: the write is refused
	 * and the table survives. */
	fresh();
	{
		struct block_open_opts o = { .format = "qcow2" };
		struct block_dev *bs;
		uint8_t buf[512];
		uint64_t l2 = l2_off();

		memset(buf, 0xff, sizeof(buf));
		patch(l2, l2 | (1ull << 63), 8);
		CHECK_EQ(block_open(&bs, path, &o, eng, NULL), 0);
		EXPECT(block_pwrite_sync(bs, 0, buf, sizeof(buf)), QCOW2_E_OVERLAP);
		block_close(bs);
		CHECK_EQ(get(l2, 8), l2 | (1ull << 63));
		CHECK_EQ(get(l2 + 8, 8) & (1ull << 63), 1ull << 63);
	}

	/* A backing file that is the image itself: refused, no endless recursion. */
	{
		struct qcow2_create_opts co = { .size = 1 << 20, .backing_file = "c.qcow2", .backing_fmt = "qcow2" };

		CHECK_EQ(qcow2_create(path, &co), 0);
		EXPECT(try_open(1), QCOW2_E_BACKING);
	}

	/* Dirty bit (lazy refcounts) with a leak: repaired on a read-write open. */
	{
		struct qcow2_create_opts co = { .size = 4 << 20, .lazy_refcounts = 1 };
		struct block_open_opts o = { .format = "qcow2" };
		struct qcow2_check_result r;
		struct block_dev *bs;
		uint64_t rb;

		CHECK_EQ(qcow2_create(path, &co), 0);
		rb = get(get(48, 8), 8);
		patch(rb + 2 * 40, 1, 2);
		patch(72, 1, 8);
		CHECK_EQ(block_open(&bs, path, &o, eng, NULL), 0);
		CHECK_EQ(get(72, 8), 0);
		CHECK_EQ(qcow2_check(bs, 0, &r), 0);
		CHECK_EQ(r.leaks, 0);
		CHECK_EQ(r.corruptions, 0);
		block_close(bs);
	}

	/* Random corruption of the metadata clusters: never a crash. */
	srand(1);
	for (int i = 0; i < 300; i++) {
		int fd;

		if (i % 30 == 0)
			fresh();
		fd = open(path, O_RDWR);
		for (int j = 0; j < 4; j++) {
			uint8_t b = (uint8_t)rand();
			off_t off = (off_t)(rand() % 5) * 65536 + rand() % (j ? 65536 : 128);

			if (pwrite(fd, &b, 1, off) != 1)
				break;
		}
		close(fd);
		{
			struct block_open_opts o = { .format = "qcow2", .read_only = i & 1 };
			struct block_dev *bs = NULL;
			uint8_t buf[8192];

			if (block_open(&bs, path, &o, eng, NULL) == 0) {
				for (uint64_t off = 0; off < bs->size && off < (1 << 20); off += 61440)
					block_pread_sync(bs, off, buf, sizeof(buf));
				if (!(i & 1))
					block_pwrite_sync(bs, 65536 * 5, buf, sizeof(buf));
				block_close(bs);
			}
		}
	}
	CHECK(1);

	block_engine_destroy(eng);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CHECK_EQ(system(cmd), 0);
	}
	return check_done();
}
