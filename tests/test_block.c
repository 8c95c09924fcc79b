/* Unit tests of the block layer (block/): both engines (io_uring and thread
 * pool) run the same cases on real temporary files: round trips, vectored
 * I/O, range and read-only errors, flush, discard/write-zeroes, O_DIRECT,
 * queue depth 32 with exactly-once completions, deferred completions, probing. */
#include "block/block.h"
#include "tests/check.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DISK_SIZE (4u << 20)

static char tmpdir[] = "/var/tmp/test_block.XXXXXX";

static char *make_file(const char *name, uint64_t size, const void *head, size_t headlen)
{
	static char path[4][256];
	static int slot;
	char *p = path[slot++ % 4];
	int fd;

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	if (fd < 0)
		return p;
	CHECK_EQ(ftruncate(fd, (off_t)size), 0);
	if (head)
		CHECK_EQ(pwrite(fd, head, headlen, 0), (ssize_t)headlen);
	close(fd);
	return p;
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

static int is_zero(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return 0;
	return 1;
}

struct counter {
	int calls;
	int ret;
};

static void count_done(void *opaque, int ret)
{
	struct counter *c = opaque;

	c->calls++;
	c->ret = ret;
}

static void test_round_trip(struct block_engine *eng)
{
	struct block_open_opts opts = { .format = "raw" };
	char *path = make_file("rt.img", DISK_SIZE, NULL, 0);
	struct block_dev *bs;
	uint8_t *w = malloc(256 * 1024), *r = malloc(256 * 1024);
	int probed = -1;

	CHECK_EQ(block_open(&bs, path, &opts, eng, &probed), 0);
	CHECK_EQ(probed, 0);
	CHECK_EQ(bs->size, DISK_SIZE);
	CHECK_EQ(bs->sector_size, 512);

	fill_pattern(w, 256 * 1024, 1);
	CHECK_EQ(block_pwrite_sync(bs, 4096, w, 256 * 1024), 0);
	memset(r, 0, 256 * 1024);
	CHECK_EQ(block_pread_sync(bs, 4096, r, 256 * 1024), 0);
	CHECK_MEM(r, w, 256 * 1024);
	CHECK_EQ(block_pread_sync(bs, 0, r, 4096), 0);
	CHECK(is_zero(r, 4096));

	/* Many iovecs of odd sizes, written and read back with another split. */
	{
		struct iovec iov[300];
		size_t pos = 0;
		int n = 0;
		struct counter c = { 0, 1 };

		fill_pattern(w, 256 * 1024, 2);
		while (n < 300 && pos < 200 * 1024) {
			size_t len = 1 + (size_t)((n * 37) % 700);

			iov[n].iov_base = w + pos;
			iov[n].iov_len = len;
			pos += len;
			n++;
		}
		CHECK_EQ(block_pwritev(bs, 1 << 20, iov, n, count_done, &c), 0);
		CHECK_EQ(c.calls, 0);   /* never from inside the submit call */
		while (c.calls == 0)
			CHECK(block_engine_poll(eng, 1) >= 0);
		CHECK_EQ(c.calls, 1);
		CHECK_EQ(c.ret, 0);
		for (int i = 0; i < 100; i++) {
			iov[i].iov_base = r + (size_t)i * (pos / 100);
			iov[i].iov_len = i == 99 ? pos - 99 * (pos / 100) : pos / 100;
		}
		memset(r, 0xee, pos);
		c.calls = 0;
		CHECK_EQ(block_preadv(bs, 1 << 20, iov, 100, count_done, &c), 0);
		while (c.calls == 0)
			CHECK(block_engine_poll(eng, 1) >= 0);
		CHECK_EQ(c.ret, 0);
		CHECK_MEM(r, w, pos);
	}

	/* Out of range. */
	{
		struct iovec iov = { r, 1024 };
		struct counter c = { 0, 1 };

		CHECK_EQ(block_preadv(bs, DISK_SIZE - 512, &iov, 1, count_done, &c), -EINVAL);
		CHECK_EQ(block_pwritev(bs, DISK_SIZE + 512, &iov, 1, count_done, &c), -EINVAL);
		CHECK_EQ(block_pwritev(bs, UINT64_MAX - 100, &iov, 1, count_done, &c), -EINVAL);
		CHECK_EQ(block_discard(bs, DISK_SIZE - 512, 1024, count_done, &c), -EINVAL);
		CHECK_EQ(block_write_zeroes(bs, 4096, UINT64_MAX, 0, count_done, &c), -EINVAL);
		CHECK_EQ(block_pread_sync(bs, DISK_SIZE - 512, r, 512), 0);
		CHECK_EQ(block_engine_poll(eng, 0), 0);
		CHECK_EQ(c.calls, 0);
	}

	CHECK_EQ(block_flush_sync(bs), 0);

	/* Discard and write-zeroes read back zeroes, neighbours intact. */
	fill_pattern(w, 256 * 1024, 3);
	CHECK_EQ(block_pwrite_sync(bs, 0, w, 256 * 1024), 0);
	CHECK_EQ(block_discard_sync(bs, 64 * 1024, 64 * 1024), 0);
	CHECK_EQ(block_write_zeroes_sync(bs, 128 * 1024, 4096, 0), 0);
	CHECK_EQ(block_write_zeroes_sync(bs, 192 * 1024, 8192, 1), 0);
	CHECK_EQ(block_write_zeroes_sync(bs, 200 * 1024 + 3, 5, 0), 0);
	CHECK_EQ(block_pread_sync(bs, 0, r, 256 * 1024), 0);
	CHECK_MEM(r, w, 64 * 1024);
	CHECK(is_zero(r + 64 * 1024, 64 * 1024));
	CHECK(is_zero(r + 128 * 1024, 4096));
	CHECK_MEM(r + 132 * 1024, w + 132 * 1024, 60 * 1024);
	CHECK(is_zero(r + 192 * 1024, 8192));
	CHECK_MEM(r + 200 * 1024, w + 200 * 1024, 3);
	CHECK(is_zero(r + 200 * 1024 + 3, 5));
	CHECK_MEM(r + 200 * 1024 + 8, w + 200 * 1024 + 8, 56 * 1024 - 8);
	CHECK_EQ(bs->size, DISK_SIZE);

	/* The file shrinks under us: reads inside the disk size see zeroes
	 * past the end of file rather than an error or stale bytes. */
	{
		int fd = open(path, O_RDWR);

		CHECK_EQ(ftruncate(fd, 4096 + 100), 0);
		close(fd);
		memset(r, 0xee, 8192);
		CHECK_EQ(block_pread_sync(bs, 4096, r, 8192), 0);
		CHECK_MEM(r, w + 4096, 100);
		CHECK(is_zero(r + 100, 8192 - 100));
	}
	block_close(bs);

	/* Read-only. */
	opts.read_only = 1;
	CHECK_EQ(block_open(&bs, path, &opts, eng, NULL), 0);
	CHECK_EQ(bs->read_only, 1);
	CHECK_EQ(block_pwrite_sync(bs, 0, w, 512), -EROFS);
	CHECK_EQ(block_discard_sync(bs, 0, 512), -EROFS);
	CHECK_EQ(block_write_zeroes_sync(bs, 0, 512, 0), -EROFS);
	CHECK_EQ(block_flush_sync(bs), 0);
	CHECK_EQ(block_pread_sync(bs, 0, r, 100), 0);
	CHECK_MEM(r, w, 100);
	block_close(bs);
	free(w);
	free(r);
}

/* n requests in flight at once (more than the engine's depth when n > depth).
 * plug: the writes are submitted inside block_engine_plug(): io_uring gets
 * none of them before the unplug, and a synchronous read in the plugged
 * section still completes. */
static void test_depth(struct block_engine *eng, int n, int plug)
{
	struct block_open_opts opts = { .format = "raw" };
	char *path = make_file("depth.img", DISK_SIZE, NULL, 0);
	struct block_dev *bs;
	struct counter *slots = calloc((size_t)n, sizeof(*slots));
	uint8_t *w = malloc((size_t)n * 4096), *r = malloc((size_t)n * 4096);
	struct iovec *iov = calloc((size_t)n, sizeof(*iov));
	int total = 0, ok = 1;

	CHECK_EQ(block_open(&bs, path, &opts, eng, NULL), 0);
	fill_pattern(w, (size_t)n * 4096, 9);
	if (plug)
		block_engine_plug(eng);
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = w + (size_t)i * 4096;
		iov[i].iov_len = 4096;
		/* Scattered, descending offsets. */
		CHECK_EQ(block_pwritev(bs, (uint64_t)(n - 1 - i) * 8192, &iov[i], 1, count_done, &slots[i]), 0);
	}
	if (plug) {
		uint8_t one[512];
		int fd = open(path, O_RDONLY);

		/* Nothing reached the kernel: the file still reads as zeroes. */
		CHECK(fd >= 0);
		if (!strcmp(block_engine_name(eng), "io_uring")) {
			usleep(20000);
			CHECK_EQ(pread(fd, one, sizeof(one), (uint64_t)(n - 1) * 8192), (ssize_t)sizeof(one));
			CHECK(is_zero(one, sizeof(one)));
		}
		close(fd);
		CHECK_EQ(block_pread_sync(bs, DISK_SIZE - sizeof(one), one, sizeof(one)), 0);
		block_engine_unplug(eng);
	}
	/* Counted from the callbacks: the synchronous read's poll may have run
	 * some of them already. */
	for (;;) {
		total = 0;
		for (int i = 0; i < n; i++)
			total += slots[i].calls;
		if (total >= n || block_engine_poll(eng, 1) <= 0)
			break;
	}
	CHECK_EQ(total, n);
	for (int i = 0; i < n; i++)
		if (slots[i].calls != 1 || slots[i].ret != 0)
			ok = 0;
	CHECK(ok);
	memset(slots, 0, (size_t)n * sizeof(*slots));
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = r + (size_t)i * 4096;
		CHECK_EQ(block_preadv(bs, (uint64_t)(n - 1 - i) * 8192, &iov[i], 1, count_done, &slots[i]), 0);
	}
	for (total = 0; total < n;) {
		int got = block_engine_poll(eng, 1);

		if (got <= 0)
			break;
		total += got;
	}
	CHECK_EQ(total, n);
	CHECK_EQ(block_engine_poll(eng, 0), 0);
	ok = 1;
	for (int i = 0; i < n; i++)
		if (slots[i].calls != 1 || slots[i].ret != 0)
			ok = 0;
	CHECK(ok);
	CHECK_MEM(r, w, (size_t)n * 4096);
	block_close(bs);
	free(slots);
	free(w);
	free(r);
	free(iov);
}

static void test_deferred(struct block_engine *eng)
{
	struct counter a = { 0, 1 }, b = { 0, 1 };
	struct pollfd pfd = { .fd = block_engine_fd(eng), .events = POLLIN };

	CHECK_EQ(block_engine_poll(eng, 0), 0);
	CHECK_EQ(poll(&pfd, 1, 0), 0);
	CHECK_EQ(block_engine_complete(eng, count_done, &a, -EIO), 0);
	CHECK_EQ(block_engine_complete(eng, count_done, &b, 0), 0);
	CHECK_EQ(a.calls, 0);
	CHECK_EQ(poll(&pfd, 1, 0), 1);
	CHECK_EQ(block_engine_poll(eng, 1), 2);
	CHECK_EQ(a.calls, 1);
	CHECK_EQ(a.ret, -EIO);
	CHECK_EQ(b.calls, 1);
	CHECK_EQ(b.ret, 0);
	CHECK_EQ(poll(&pfd, 1, 0), 0);
	/* Idle engine: a waiting poll returns instead of hanging. */
	CHECK_EQ(block_engine_poll(eng, 1), 0);
	CHECK_EQ(block_engine_complete(eng, count_done, &a, 5), -EINVAL);
}

static void test_direct(struct block_engine *eng)
{
	struct block_open_opts opts = { .format = "raw", .cache_direct = 1 };
	char *path = make_file("direct.img", DISK_SIZE, NULL, 0);
	struct block_dev *bs;
	uint8_t *w = NULL, *r = NULL, *odd;
	int ret;

	ret = block_open(&bs, path, &opts, eng, NULL);
	if (ret == BLOCK_E_NO_DIRECT) {
		printf("O_DIRECT not supported here: %s\n", block_strerror(ret));
		return;
	}
	CHECK_EQ(ret, 0);
	if (ret)
		return;
	CHECK_EQ(posix_memalign((void **)&w, 4096, 65536), 0);
	CHECK_EQ(posix_memalign((void **)&r, 4096, 65536 + 4096), 0);
	fill_pattern(w, 65536, 5);
	CHECK_EQ(block_pwrite_sync(bs, 65536, w, 65536), 0);
	CHECK_EQ(block_pread_sync(bs, 65536, r, 65536), 0);
	CHECK_MEM(r, w, 65536);
	/* Misaligned memory is bounced. */
	odd = r + 3;
	memset(r, 0, 65536 + 4096);
	CHECK_EQ(block_pread_sync(bs, 65536, odd, 65536), 0);
	CHECK_MEM(odd, w, 65536);
	CHECK_EQ(block_pwrite_sync(bs, 0, odd, 4096), 0);
	CHECK_EQ(block_pread_sync(bs, 0, r, 4096), 0);
	CHECK_MEM(r, w, 4096);
	/* Misaligned offsets and lengths are refused. */
	CHECK_EQ(block_pread_sync(bs, 100, r, 512), -EINVAL);
	CHECK_EQ(block_pread_sync(bs, 0, r, 100), -EINVAL);
	CHECK_EQ(block_flush_sync(bs), 0);
	CHECK_EQ(block_write_zeroes_sync(bs, 65536, 4096, 0), 0);
	CHECK_EQ(block_pread_sync(bs, 65536, r, 8192), 0);
	CHECK(is_zero(r, 4096));
	CHECK_MEM(r + 4096, w + 4096, 4096);
	block_close(bs);
	free(w);
	free(r);
}

static void test_probe(struct block_engine *eng)
{
	static const uint8_t qhead[] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	struct block_open_opts opts = { 0 };
	struct block_dev *bs = NULL;
	char *raw = make_file("probe.raw", 65536, "hello", 5);
	char *q = make_file("probe.qcow2", 65536, qhead, sizeof(qhead));
	int probed = -1, ret;

	CHECK_EQ(block_open(&bs, raw, &opts, eng, &probed), 0);
	CHECK_EQ(probed, 1);
	CHECK(bs && bs->drv == block_find_driver("raw"));
	block_close(bs);

	/* The qcow2 magic goes to the qcow2 driver (which refuses this
	 * truncated header): not a raw open. */
	bs = NULL;
	probed = -1;
	ret = block_open(&bs, q, &opts, eng, &probed);
	if (ret == 0) {
		CHECK(bs->drv == block_find_driver("qcow2"));
		block_close(bs);
	}
	CHECK_EQ(probed, 0);
	CHECK(block_find_driver("qcow2") != NULL);

	opts.format = "raw";
	CHECK_EQ(block_open(&bs, q, &opts, eng, &probed), 0);
	CHECK_EQ(probed, 0);
	CHECK_EQ(bs->size, 65536);
	block_close(bs);

	opts.format = "vhdx";
	CHECK_EQ(block_open(&bs, raw, &opts, eng, &probed), -EINVAL);
	CHECK(block_find_driver("vhdx") == NULL);
	opts.format = NULL;
	CHECK_EQ(block_open(&bs, "/nonexistent/disk.img", &opts, eng, &probed), -ENOENT);
	CHECK_EQ(block_open(&bs, tmpdir, &opts, eng, &probed), -EISDIR);

	CHECK_STR(block_strerror(-ENOENT), strerror(ENOENT));
	CHECK(strstr(block_strerror(BLOCK_E_NO_DIRECT), "O_DIRECT") != NULL);
}

static void run_engine(int force_threads)
{
	struct block_engine *eng;

	CHECK_EQ(block_engine_create(&eng, 32, force_threads), 0);
	printf("engine: %s\n", block_engine_name(eng));
	if (force_threads)
		CHECK_STR(block_engine_name(eng), "threads");
	test_round_trip(eng);
	test_depth(eng, 32, 0);
	test_depth(eng, 16, 1);   /* fewer than the ring holds: all deferred */
	test_deferred(eng);
	test_direct(eng);
	test_probe(eng);
	block_engine_destroy(eng);

	/* A small ring: requests beyond the depth wait in the engine. */
	CHECK_EQ(block_engine_create(&eng, 4, force_threads), 0);
	test_depth(eng, 200, 0);
	block_engine_destroy(eng);
}

int main(void)
{
	struct block_engine *eng;
	char cmd[300];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK_EQ(block_engine_create(&eng, 0, 0), -EINVAL);
	CHECK_EQ(block_engine_create(&eng, 8, 0), 0);
	CHECK_STR(block_engine_name(eng), "io_uring");   /* this host has io_uring */
	block_engine_destroy(eng);

	run_engine(0);
	run_engine(1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd)) {
	}
	return check_done();
}
