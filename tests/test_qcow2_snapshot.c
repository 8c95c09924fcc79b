/* test_qcow2_snapshot: internal snapshots made by vmm are listed by
 * `qemu-img snapshot -l`, read by `qemu-img convert -l`, applied and written
 * by qemu-img/qemu-io; snapshots made by qemu-img are listed, applied and
 * deleted by vmm; `qemu-img check` stays clean after every step.
 * Skips (77) without qemu-img. */
#include "block/block.h"
#include "qcow2/qcow2.h"
#include "tests/check.h"
#include "tests/qcow2_test_util.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#define SIZE (8u << 20)

static char dir[256];
static struct block_engine *eng;

static struct block_dev *op(const char *name)
{
	char p[512];
	struct block_open_opts o = { .format = "qcow2" };
	struct block_dev *bs = NULL;
	int ret;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ret = block_open(&bs, p, &o, eng, NULL);
	if (ret < 0)
		fprintf(stderr, "%s: %s\n", p, block_strerror(ret));
	CHECK_EQ(ret, 0);
	return bs;
}

static void save(const char *name, const uint8_t *ref)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	CHECK_EQ(qt_write_file(p, ref, SIZE), 0);
}

static void wr(struct block_dev *bs, uint8_t *ref, uint64_t off, uint64_t len, uint8_t pat)
{
	memset(ref + off, pat, len);
	CHECK_EQ(block_pwrite_sync(bs, off, ref + off, len), 0);
}

static void same(struct block_dev *bs, const uint8_t *ref)
{
	uint8_t *b = malloc(SIZE);

	CHECK_EQ(block_pread_sync(bs, 0, b, SIZE), 0);
	CHECK_MEM(b, ref, SIZE);
	free(b);
}

int main(void)
{
	uint8_t *a = calloc(1, SIZE), *b = calloc(1, SIZE), *c = calloc(1, SIZE);
	struct qcow2_snapshot_info *sn = NULL;
	struct block_dev *bs;
	int n = 0;

	{
		int r = qt_setup("test_qcow2_snapshot", 1, 16, dir, sizeof(dir), &eng);

		if (r)
			return r;
	}

	/* vmm makes s1 (state a) and s2 (state b), then writes state c. */
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 -o cluster_size=4096 v.qcow2 8M", dir), 0);
	bs = op("v.qcow2");
	if (!bs)
		return check_done();
	wr(bs, a, 0, 200000, 0x11);
	wr(bs, a, 3 << 20, 70000, 0x12);
	memcpy(b, a, SIZE);
	CHECK_EQ(qcow2_snapshot_create(bs, "s1"), 0);
	CHECK_EQ(qcow2_snapshot_create(bs, "s1"), QCOW2_E_SNAPSHOT_EXISTS);
	wr(bs, b, 100000, 300000, 0x21);
	wr(bs, b, 6 << 20, 5000, 0x22);
	CHECK_EQ(block_discard_sync(bs, 3 << 20, 65536), 0);
	memset(b + (3 << 20), 0, 65536);
	memcpy(c, b, SIZE);
	CHECK_EQ(qcow2_snapshot_create(bs, "s2"), 0);
	wr(bs, c, 50000, 10000, 0x31);
	wr(bs, c, 7 << 20, 4096, 0x32);
	CHECK_EQ(qcow2_snapshot_list(bs, &sn, &n), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK_STR(sn[0].name, "s1");
		CHECK_STR(sn[0].id, "1");
		CHECK_STR(sn[1].name, "s2");
		CHECK_STR(sn[1].id, "2");
		CHECK_EQ(sn[1].disk_size, SIZE);
		CHECK(sn[1].date_sec > 1600000000u);
	}
	free(sn);
	same(bs, c);
	block_close(bs);
	save("a.raw", a);
	save("b.raw", b);
	save("c.raw", c);
	CHECK_EQ(qt_sh("qemu-img check -q %s/v.qcow2", dir), 0);
	CHECK_EQ(qt_sh("qemu-img snapshot -l %s/v.qcow2 | grep -q ' s1 '", dir), 0);
	CHECK_EQ(qt_sh("qemu-img snapshot -l %s/v.qcow2 | grep -q ' s2 '", dir), 0);
	CHECK_EQ(qt_sh("cd %s && qemu-img convert -l snapshot.name=s1 -O raw v.qcow2 s1.out && cmp -s s1.out a.raw", dir), 0);
	CHECK_EQ(qt_sh("cd %s && qemu-img convert -l snapshot.name=s2 -O raw v.qcow2 s2.out && cmp -s s2.out b.raw", dir), 0);
	CHECK_EQ(qt_sh("qemu-img compare -q %s/v.qcow2 %s/c.raw", dir, dir), 0);

	/* vmm applies s1, writes, deletes s2. */
	bs = op("v.qcow2");
	if (bs) {
		CHECK_EQ(qcow2_snapshot_apply(bs, "nope"), QCOW2_E_NO_SNAPSHOT);
		CHECK_EQ(qcow2_snapshot_apply(bs, "s1"), 0);
		same(bs, a);
		wr(bs, a, 0, 5000, 0x41);
		CHECK_EQ(qcow2_snapshot_delete(bs, "2"), 0);   /* by id */
		CHECK_EQ(qcow2_snapshot_list(bs, &sn, &n), 0);
		CHECK_EQ(n, 1);
		free(sn);
		same(bs, a);
		block_close(bs);
	}
	save("a2.raw", a);
	CHECK_EQ(qt_sh("qemu-img check -q %s/v.qcow2", dir), 0);
	CHECK_EQ(qt_sh("qemu-img compare -q %s/v.qcow2 %s/a2.raw", dir, dir), 0);
	CHECK_EQ(qt_sh("qemu-img snapshot -l %s/v.qcow2 | grep -q ' s2 '", dir), 256);
	/* qemu-img applies the vmm-made s1 and qemu-io writes over it. */
	CHECK_EQ(qt_sh("cd %s && qemu-img snapshot -a s1 v.qcow2 && qemu-io -c 'write -P 0x51 8k 100k' v.qcow2 >/dev/null && "
		    "qemu-img check -q v.qcow2 && qemu-img snapshot -d s1 v.qcow2 && qemu-img check -q v.qcow2", dir), 0);

	/* Snapshots made by qemu-img, used by vmm. */
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 q.qcow2 8M && "
		    "qemu-io -c 'write -P 0x61 0 1M' q.qcow2 >/dev/null && qemu-img snapshot -c q1 q.qcow2 && "
		    "qemu-img convert -O raw q.qcow2 q1.raw && "
		    "qemu-io -c 'write -P 0x62 512k 1M' -c 'write -z 0 64k' q.qcow2 >/dev/null && qemu-img snapshot -c q2 q.qcow2 && "
		    "qemu-io -c 'write -P 0x63 4M 64k' q.qcow2 >/dev/null", dir), 0);
	bs = op("q.qcow2");
	if (bs) {
		uint8_t *q1 = calloc(1, SIZE);
		int fd;
		char p[512];

		snprintf(p, sizeof(p), "%s/q1.raw", dir);
		fd = open(p, O_RDONLY);
		CHECK(fd >= 0 && read(fd, q1, SIZE) == (ssize_t)SIZE);
		close(fd);
		CHECK_EQ(qcow2_snapshot_list(bs, &sn, &n), 0);
		CHECK_EQ(n, 2);
		if (n == 2)
			CHECK_STR(sn[0].name, "q1");
		free(sn);
		CHECK_EQ(qcow2_snapshot_apply(bs, "q1"), 0);
		same(bs, q1);
		CHECK_EQ(qcow2_snapshot_delete(bs, "q2"), 0);
		wr(bs, q1, 2 << 20, 100, 0x64);
		CHECK_EQ(qcow2_snapshot_create(bs, "v3"), 0);
		wr(bs, q1, 0, 100, 0x65);
		block_close(bs);
		save("q.raw", q1);
		free(q1);
	}
	CHECK_EQ(qt_sh("qemu-img check -q %s/q.qcow2", dir), 0);
	CHECK_EQ(qt_sh("qemu-img compare -q %s/q.qcow2 %s/q.raw", dir, dir), 0);
	CHECK_EQ(qt_sh("qemu-img snapshot -l %s/q.qcow2 | grep -q ' v3 '", dir), 0);

	block_engine_destroy(eng);
	qt_sh("rm -rf %s", dir);
	free(a), free(b), free(c);
	return check_done();
}
