/* Benchmark guest: virtio-blk throughput from ring 3 (virtio 1.2 section
 * 5.2), polled, no interrupts. For secs=N seconds each (default 5): 4 KiB
 * random reads and writes at queue depth 1 and 32, then 1 MiB sequential
 * reads and writes at queue depth seqqd=N (default 4). Time comes from the
 * TSC, calibrated against the CMOS RTC's seconds. One line per test:
 * "BENCH <name> ops=<n> usecs=<n> iops=<n> kbps=<n>" (bench/virtio_blk.py
 * parses them), then "BENCH done". Command line: secs=, seqqd=,
 * only=<name>[,<name>...]. */
#include "rt.h"
#include "vblk.h"
#include "bench_clock.h"

static struct vblk blk;
static uint64_t tsc_hz, rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

struct job {
	const char *name;
	uint32_t type, bs;
	unsigned qd;
	int sequential;
};

static void run(const struct job *j, uint8_t *bufs, unsigned secs)
{
	uint64_t span = blk.capacity * VBLK_SECTOR / j->bs, next_seq = 0;
	uint64_t ops = 0, t0, t1 = 0, deadline, ticks;
	unsigned inflight = 0;
	int st;

	if (span == 0)
		rt_fail("%s: image smaller than one block", j->name);
	t0 = rt_rdtsc();
	deadline = t0 + secs * tsc_hz;
	for (unsigned t = 0; t < j->qd; t++) {
		uint64_t blkno = j->sequential ? next_seq++ % span : rnd() % span;

		if (vblk_submit(&blk, t, j->type, blkno * (j->bs / VBLK_SECTOR),
				bufs + (uint64_t)t * j->bs, j->bs))
			rt_fail("%s: ring full at depth %u", j->name, t);
		inflight++;
	}
	vdrv_kick(&blk.q);
	for (;;) {
		int tag = vblk_complete(&blk, &st);
		uint64_t now;

		if (tag < 0) {
			rt_pause();
			continue;
		}
		if (st != VBLK_S_OK)
			rt_fail("%s: status %d", j->name, st);
		ops++;
		inflight--;
		now = rt_rdtsc();
		if (now < deadline) {
			uint64_t blkno = j->sequential ? next_seq++ % span : rnd() % span;

			if (vblk_submit(&blk, (unsigned)tag, j->type, blkno * (j->bs / VBLK_SECTOR),
					bufs + (uint64_t)tag * j->bs, j->bs))
				rt_fail("%s: ring full", j->name);
			inflight++;
			vdrv_kick(&blk.q);
		} else if (inflight == 0) {
			t1 = now;
			break;
		}
	}
	ticks = t1 - t0;
	{
		uint64_t usecs = ticks * 1000000ull / tsc_hz;
		uint64_t iops = ops * tsc_hz / ticks;
		uint64_t kbps = ops * (j->bs / 1024) * tsc_hz / ticks;

		rt_printf("BENCH %s ops=%llu usecs=%llu iops=%llu kbps=%llu\n", j->name,
			  (unsigned long long)ops, (unsigned long long)usecs,
			  (unsigned long long)iops, (unsigned long long)kbps);
	}
}

/* Whether name is one of the comma-separated names in list (NULL: all). */
static int selected(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!list)
		return 1;
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len == n && !strncmp(p, name, n))
			return 1;
		p += len + (c != NULL);
	}
	return 0;
}

void rt_main(void)
{
	unsigned secs = (unsigned)bench_arg("secs", 5), seqqd = (unsigned)bench_arg("seqqd", 4);
	const char *only = rt_cmdline_arg("only");
	const struct job jobs[] = {
		{ "randread-4k-qd1", VBLK_T_IN, 4096, 1, 0 },
		{ "randwrite-4k-qd1", VBLK_T_OUT, 4096, 1, 0 },
		{ "randread-4k-qd32", VBLK_T_IN, 4096, 32, 0 },
		{ "randwrite-4k-qd32", VBLK_T_OUT, 4096, 32, 0 },
		{ "seqread-1m", VBLK_T_IN, 1u << 20, seqqd, 1 },
		{ "seqwrite-1m", VBLK_T_OUT, 1u << 20, seqqd, 1 },
	};
	uint8_t *bufs;

	if (seqqd < 1 || seqqd > 32)
		rt_fail("seqqd=%u: 1..32", seqqd);
	bufs = rt_alloc_pages(256 * seqqd > 32 ? 256 * seqqd : 32);
	for (unsigned i = 0; i < 4096 * 32; i++)
		bufs[i] = (uint8_t)(i * 7 + 1);
	vblk_open(&blk, 1ull << VBLK_F_FLUSH, 256, 0);
	if (blk.q.size < 3 * 32)
		rt_fail("queue size %u is below 3 * 32 descriptors", blk.q.size);
	tsc_hz = bench_tsc_hz();
	rt_printf("BENCH tsc_hz=%llu capacity=%llu queue=%u\n", (unsigned long long)tsc_hz,
		  (unsigned long long)blk.capacity, blk.q.size);
	for (unsigned i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		if (selected(only, jobs[i].name))
			run(&jobs[i], bufs, secs);
	if (vblk_rw(&blk, VBLK_T_FLUSH, 0, NULL, 0) != VBLK_S_OK)
		rt_fail("final flush");
	rt_printf("BENCH done\n");
	rt_pass();
}
