/* vmm-img bench: qemu-img bench's options and output ("Sending N read
 * requests, ..." / "Run completed in X.XXX seconds."), with depth requests in
 * flight through the block layer's asynchronous API on one engine. */
#include "qcow2/tools/img_common.h"
#include "qcow2/tools/vmm_img.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct bench {
	struct block_dev *bs;
	uint64_t offset, step, bufsize, image_size;
	int is_write, flush_interval, in_flight, in_flush, n_issued, n_done, count, error;
	int since_flush;
	uint8_t *buf;
};

struct bench_slot {
	struct bench *b;
	struct iovec iov;
};

static void bench_issue(struct bench *b, struct bench_slot *slot);

static void flush_done(void *opaque, int ret)
{
	struct bench *b = opaque;

	b->in_flush = 0;
	if (ret < 0 && !b->error)
		b->error = ret;
}

static void bench_done(void *opaque, int ret)
{
	struct bench_slot *slot = opaque;
	struct bench *b = slot->b;

	b->in_flight--;
	b->n_done++;
	if (ret < 0 && !b->error)
		b->error = ret;
	if (b->flush_interval && ++b->since_flush >= b->flush_interval && !b->in_flush) {
		b->since_flush = 0;
		b->in_flush = 1;
		if (block_flush(b->bs, flush_done, b) < 0)
			b->in_flush = 0;
	}
	if (!b->error && b->n_issued < b->count)
		bench_issue(b, slot);
}

static void bench_issue(struct bench *b, struct bench_slot *slot)
{
	int ret;

	b->n_issued++;
	b->in_flight++;
	if (b->is_write)
		ret = block_pwritev(b->bs, b->offset, &slot->iov, 1, bench_done, slot);
	else
		ret = block_preadv(b->bs, b->offset, &slot->iov, 1, bench_done, slot);
	if (ret < 0) {
		b->in_flight--;
		if (!b->error)
			b->error = ret;
		return;
	}
	b->offset += b->step;
	if (b->image_size)
		b->offset %= b->image_size;
	if (b->offset + b->bufsize > b->image_size)
		b->offset = 0;
}

int img_cmd_bench(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "flush-interval", required_argument, NULL, 'I' },
		{ "no-drain", no_argument, NULL, 'D' },
		{ "pattern", required_argument, NULL, 'P' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *cache = "writeback";
	struct bench b = { 0 };
	struct bench_slot *slots = NULL;
	uint64_t v, bufsize = 4096, step = 0, offset = 0;
	int count = 75000, depth = 64, pattern = 0, native = 0, c, ret, status = 1, shown_depth;
	struct timespec t0, t1, dt;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:d:f:ni:o:qs:S:t:wU", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (img_parse_ulong(optarg, &v) < 0 || v > INT32_MAX) {
				img_error("Invalid request count specified");
				return 1;
			}
			count = (int)v;
			break;
		case 'd':
			if (img_parse_ulong(optarg, &v) < 0 || v == 0 || v > INT32_MAX) {
				img_error("Invalid queue depth specified");
				return 1;
			}
			depth = (int)v;
			break;
		case 'f': fmt = optarg; break;
		case 'n': native = 1; break;
		case 'i':
			if (strcmp(optarg, "threads") && strcmp(optarg, "native") && strcmp(optarg, "io_uring")) {
				img_error("Invalid aio option: %s", optarg);
				return 1;
			}
			if (!strcmp(optarg, "threads"))
				setenv("VMM_BLOCK_THREADS", "1", 1);
			break;
		case 'o':
			if (img_cvtnum("offset", optarg, INT64_MAX, &offset) < 0)
				return 1;
			break;
		case 'q': break;   /* qemu-img bench prints its two lines regardless */
		case 's':
			if (img_cvtnum("buffer size", optarg, INT32_MAX, &bufsize) < 0)
				return 1;
			break;
		case 'S':
			if (img_cvtnum("step_size", optarg, INT32_MAX, &step) < 0)
				return 1;
			break;
		case 't': cache = optarg; break;
		case 'w': b.is_write = 1; break;
		case 'U': break;
		case 'D': break;
		case 'I':
			if (img_parse_ulong(optarg, &v) < 0 || v > INT32_MAX) {
				img_error("Invalid flush interval specified");
				return 1;
			}
			b.flush_interval = (int)v;
			break;
		case 'P':
			if (img_parse_ulong(optarg, &v) < 0 || v > 0xff) {
				img_error("Invalid pattern byte specified");
				return 1;
			}
			pattern = (int)v;
			break;
		case ':': return img_bad_option("bench", argv, 1);
		default: return img_bad_option("bench", argv, 0);
		}
	}
	if (optind != argc - 1)
		return img_bad_usage("bench", "Expecting one image file name");
	if (b.flush_interval && !b.is_write) {
		img_error("--flush-interval is only available in write tests");
		return 1;
	}
	if (b.flush_interval && b.flush_interval < depth) {
		img_error("Flush interval can't be smaller than depth");
		return 1;
	}
	if (!step)
		step = bufsize;
	if (native && strcmp(cache, "none") && strcmp(cache, "directsync")) {
		img_error("Could not open '%s': aio=native was specified, but it requires cache.direct=on, which was not specified.",
			  argv[optind]);
		return 1;
	}
	if (img_open(&b.bs, argv[optind], fmt, !b.is_write, cache) < 0)
		return 1;
	b.bufsize = bufsize;
	b.step = step;
	b.offset = offset;
	b.count = count;
	b.image_size = b.bs->size;
	if (offset + bufsize > b.image_size) {
		img_error("Offset and buffer size exceed the image size");
		goto out;
	}
	shown_depth = depth;
	if (depth > count)
		depth = count ? count : 1;   /* -c 0: no request, as qemu-img */
	b.buf = img_alloc_buf((size_t)(bufsize * (uint64_t)depth));
	slots = calloc((size_t)depth, sizeof(*slots));
	if (!b.buf || !slots) {
		img_error("Out of memory");
		goto out;
	}
	memset(b.buf, pattern, (size_t)(bufsize * (uint64_t)depth));
	for (int i = 0; i < depth; i++) {
		slots[i].b = &b;
		slots[i].iov.iov_base = b.buf + (size_t)i * bufsize;
		slots[i].iov.iov_len = (size_t)bufsize;
	}
	printf("Sending %d %s requests, %d bytes each, %d in parallel (starting at offset %" PRIu64
	       ", step size %d)\n", count, b.is_write ? "write" : "read", (int)bufsize, shown_depth, offset, (int)step);
	if (b.flush_interval)
		printf("Sending flush every %d requests\n", b.flush_interval);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < depth && i < count && !b.error; i++)
		bench_issue(&b, &slots[i]);
	while (b.in_flight || b.in_flush) {
		ret = block_engine_poll(b.bs->engine, 1);
		if (ret < 0) {
			b.error = ret;
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (b.error) {
		img_error("Failed request: %s", img_strerror(b.error));
		goto out;
	}
	dt = img_time_sub(t1, t0);
	printf("Run completed in %3.3f seconds.\n", (double)dt.tv_sec + dt.tv_nsec / 1e9);
	status = 0;
	/* As qemu-img's close: written data reaches the disk before exit (not timed). */
	if (b.is_write && block_flush_sync(b.bs) < 0)
		status = 1;
out:
	free(slots);
	free(b.buf);
	block_close(b.bs);
	return status;
}
