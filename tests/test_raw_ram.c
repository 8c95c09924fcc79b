/* Unit tests of two block-layer batching paths: completions queued with
 * block_engine_complete() inside a plugged section signal the engine's
 * eventfd once, at unplug (block/engine.c), and a raw image in RAM (tmpfs)
 * is written at submission (block/raw.c write_now()) with the callback still
 * run only from block_engine_poll(). Both engines (io_uring, threads). */
#include "block/block.h"
#include "tests/check.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/statfs.h>
#include <unistd.h>

#define TMPFS_TYPE 0x01021994   /* TMPFS_MAGIC */
#define DISK (1u << 20)

struct counter {
	int calls, ret;
};

static void count_done(void *opaque, int ret)
{
	struct counter *c = opaque;

	c->calls++;
	c->ret = ret;
}

static int efd_ready(struct block_engine *eng)
{
	struct pollfd p = { .fd = block_engine_fd(eng), .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void test_signal_at_unplug(struct block_engine *eng)
{
	struct counter c[3] = { { 0, 1 }, { 0, 1 }, { 0, 1 } };

	/* Unplugged: readable at once. */
	CHECK_EQ(block_engine_complete(eng, count_done, &c[0], 0), 0);
	CHECK(efd_ready(eng));
	CHECK_EQ(block_engine_poll(eng, 0), 1);
	CHECK(!efd_ready(eng));

	/* Plugged: nothing until unplug, then one signal for all. */
	block_engine_plug(eng);
	CHECK_EQ(block_engine_complete(eng, count_done, &c[1], 0), 0);
	CHECK_EQ(block_engine_complete(eng, count_done, &c[2], -EIO), 0);
	CHECK(!efd_ready(eng));
	CHECK_EQ(c[1].calls + c[2].calls, 0);
	block_engine_unplug(eng);
	CHECK(efd_ready(eng));
	CHECK_EQ(block_engine_poll(eng, 0), 2);
	CHECK_EQ(c[1].calls, 1);
	CHECK_EQ(c[2].calls, 1);
	CHECK_EQ(c[2].ret, -EIO);
	CHECK(!efd_ready(eng));

	/* A waiting poll inside the plugged section still finds it. */
	c[0].calls = 0;
	block_engine_plug(eng);
	CHECK_EQ(block_engine_complete(eng, count_done, &c[0], 0), 0);
	CHECK_EQ(block_engine_poll(eng, 1), 1);
	CHECK_EQ(c[0].calls, 1);
	block_engine_unplug(eng);
	CHECK_EQ(block_engine_poll(eng, 0), 0);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 29 + i * 11 + (i >> 8));
}

static void test_ram_writes(struct block_engine *eng, const char *path)
{
	struct block_open_opts opts = { .format = "raw" };
	struct block_dev *bs;
	static uint8_t w[32 * 4096], r[32 * 4096];
	struct counter c[32] = { { 0 } };
	struct iovec iov[20];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), ok = 1;

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, DISK), 0);
	CHECK_EQ(block_open(&bs, path, &opts, eng, NULL), 0);

	/* Three pieces with zero-length ones between: in the file when the
	 * submit call returns, the callback only from poll. */
	fill(w, 4096, 1);
	iov[0] = (struct iovec){ w, 1000 };
	iov[1] = (struct iovec){ w, 0 };
	iov[2] = (struct iovec){ w + 1000, 2096 };
	iov[3] = (struct iovec){ NULL, 0 };
	iov[4] = (struct iovec){ w + 3096, 1000 };
	CHECK_EQ(block_pwritev(bs, 8192, iov, 5, count_done, &c[0]), 0);
	CHECK_EQ(c[0].calls, 0);
	CHECK_EQ(pread(fd, r, 4096, 8192), 4096);
	CHECK_MEM(r, w, 4096);
	CHECK_EQ(block_engine_poll(eng, 1), 1);
	CHECK_EQ(c[0].calls, 1);
	CHECK_EQ(c[0].ret, 0);

	/* A plugged batch of 32: written at once, one eventfd signal. */
	fill(w, sizeof(w), 2);
	block_engine_plug(eng);
	for (int i = 0; i < 32; i++) {
		struct iovec one = { w + i * 4096, 4096 };

		c[i].calls = 0;
		CHECK_EQ(block_pwritev(bs, (uint64_t)(31 - i) * 16384, &one, 1, count_done, &c[i]), 0);
	}
	for (int i = 0; i < 32; i++)
		if (pread(fd, r, 4096, (31 - i) * 16384) != 4096 || memcmp(r, w + i * 4096, 4096))
			ok = 0;
	CHECK(ok);
	CHECK(!efd_ready(eng));
	block_engine_unplug(eng);
	CHECK(efd_ready(eng));
	CHECK_EQ(block_engine_poll(eng, 0), 32);
	ok = 1;
	for (int i = 0; i < 32; i++)
		if (c[i].calls != 1 || c[i].ret != 0)
			ok = 0;
	CHECK(ok);

	/* More iovecs than write_now() takes: through the engine, same data. */
	fill(w, sizeof(w), 3);
	for (int i = 0; i < 20; i++)
		iov[i] = (struct iovec){ w + i * 512, 512 };
	c[0].calls = 0;
	CHECK_EQ(block_pwritev(bs, 65536, iov, 20, count_done, &c[0]), 0);
	while (c[0].calls == 0)
		CHECK(block_engine_poll(eng, 1) >= 0);
	CHECK_EQ(c[0].ret, 0);
	CHECK_EQ(block_pread_sync(bs, 65536, r, 20 * 512), 0);
	CHECK_MEM(r, w, 20 * 512);

	/* Past the end: refused, no callback. */
	c[0].calls = 0;
	iov[0] = (struct iovec){ w, 4096 };
	CHECK(block_pwritev(bs, DISK, iov, 1, count_done, &c[0]) < 0);
	CHECK_EQ(block_engine_poll(eng, 0), 0);
	CHECK_EQ(c[0].calls, 0);
	block_close(bs);
	close(fd);
}

int main(void)
{
	char dir[] = "/dev/shm/test_raw_ram.XXXXXX", path[64];
	struct statfs fs;
	int in_ram = statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_TYPE && mkdtemp(dir);

	snprintf(path, sizeof(path), "%s/disk.raw", dir);
	for (int threads = 0; threads <= 1; threads++) {
		struct block_engine *eng;

		CHECK_EQ(block_engine_create(&eng, 32, threads), 0);
		printf("engine: %s\n", block_engine_name(eng));
		test_signal_at_unplug(eng);
		if (in_ram)
			test_ram_writes(eng, path);
		block_engine_destroy(eng);
	}
	if (in_ram) {
		unlink(path);
		rmdir(dir);
	} else {
		printf("no tmpfs at /dev/shm: the in-RAM write cases were not run\n");
	}
	return check_done();
}
