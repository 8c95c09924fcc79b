/* Crash consistency of the qcow2 driver (issue 7): a child process writes
 * into a qcow2 image through the block layer (tiny metadata caches, so L2 and
 * refcount blocks are written back all the time) and flushes every few
 * writes; the parent SIGKILLs it at a random moment. Then, for each of >= 50
 * rounds with fixed seeds: `qemu-img check` must find no corruption (leaks
 * allowed: exit 0 or 3), and every sector whose last write completed before
 * the last completed FLUSH, and which no later (possibly in-flight) write
 * touches, must read back - through qemu-img convert, not our own driver -
 * with that write's bytes; sectors never written read zero.
 * Complements the kill test in tests/test_qcow2_write.c (6 rounds, metadata
 * only). Skips (77) without qemu-img. CRASH_ROUNDS overrides the count. */
#include "block/block.h"
#include "tests/check.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DISK      (8u << 20)
#define SECT      512u
#define NSECT     (DISK / SECT)
#define MAX_RUN   64u           /* sectors per write */
#define MAX_OPS   200000

struct op { uint32_t sect, n; };
struct msg { uint32_t kind, index; };   /* kind 1: starting write i; 2: ops < i flushed */

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The op sequence of a round: a pure function of the seed. */
static void gen_op(struct op *o)
{
	o->n = 1 + (uint32_t)(rnd() % MAX_RUN);
	o->sect = (uint32_t)(rnd() % (NSECT - o->n + 1));
}

static void fill(uint8_t *b, uint32_t op, uint32_t sect)
{
	memset(b, (int)((op * 31 + sect) & 0xff) | 1, SECT);
	memcpy(b, &op, 4);
	memcpy(b + 4, &sect, 4);
}

static void put(int fd, uint32_t kind, uint32_t index)
{
	struct msg m = { kind, index };

	if (write(fd, &m, sizeof(m)) != sizeof(m))
		_exit(2);
}

static void child(const char *img, uint64_t seed, int fd)
{
	struct block_open_opts o = { .format = "qcow2", .l2_cache_bytes = 4096, .refcount_cache_bytes = 4096 };
	struct block_engine *eng;
	struct block_dev *bs;
	static uint8_t buf[MAX_RUN * SECT];
	unsigned next_flush;

	if (block_engine_create(&eng, 8, 0) < 0 || block_open(&bs, img, &o, eng, NULL) < 0)
		_exit(1);
	rng = seed;
	next_flush = 1 + (unsigned)(rnd() % 8);
	for (uint32_t i = 0; i < MAX_OPS; i++) {
		struct op op;

		gen_op(&op);
		for (uint32_t s = 0; s < op.n; s++)
			fill(buf + s * SECT, i, op.sect + s);
		put(fd, 1, i);
		if (block_pwrite_sync(bs, (uint64_t)op.sect * SECT, buf, (size_t)op.n * SECT) < 0)
			_exit(3);
		if (--next_flush == 0) {
			if (block_flush_sync(bs) < 0)
				_exit(4);
			put(fd, 2, i + 1);
			next_flush = 1 + (unsigned)(rnd() % 8);
		}
	}
	_exit(0);
}

/* One round: returns after its CHECKs. */
static void round_run(const char *dir, int round)
{
	static const unsigned clusters[] = { 512, 4096, 65536, 2048 };
	static int32_t last[NSECT];       /* last writer (op index) per sector, -1: none */
	static uint8_t disk[DISK];
	static struct msg msgs[2 * MAX_OPS];
	unsigned cs = clusters[round % 4];
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(round + 1);
	uint32_t flushed = 0, started = 0;
	int pfd[2], st = 0, rc, ready = 0, bad = 0;
	size_t nmsg = 0, have = 0;
	char img[512], raw[512];
	struct timespec t0, now;
	long delay_ms;
	pid_t pid;

	snprintf(img, sizeof(img), "%s/c.qcow2", dir);
	snprintf(raw, sizeof(raw), "%s/c.raw", dir);
	CHECK_EQ(sh("qemu-img create -q -f qcow2 -o cluster_size=%u '%s' %u", cs, img, DISK), 0);
	CHECK_EQ(pipe2(pfd, O_CLOEXEC), 0);
	fcntl(pfd[0], F_SETPIPE_SZ, 1 << 20);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		child(img, seed, pfd[1]);
	}
	close(pfd[1]);
	rng = seed * 7 + 1;
	delay_ms = (long)(rnd() % 250);
	/* Drain messages; the clock starts at the first completed flush. */
	for (;;) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		ssize_t n;

		if (ready) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >= delay_ms)
				break;
		}
		if (poll(&p, 1, 5) <= 0)
			continue;
		n = read(pfd[0], (char *)msgs + have, sizeof(msgs) - have);
		if (n <= 0)
			break;   /* the child died on its own: reported below */
		have += (size_t)n;
		if (!ready && have >= sizeof(struct msg))
			for (size_t i = 0; i < have / sizeof(struct msg) && !ready; i++)
				if (msgs[i].kind == 2) {
					ready = 1;
					clock_gettime(CLOCK_MONOTONIC, &t0);
				}
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (;;) {     /* what was written before the kill is still in the pipe */
		ssize_t n = read(pfd[0], (char *)msgs + have, sizeof(msgs) - have);

		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(pfd[0]);
	nmsg = have / sizeof(struct msg);
	for (size_t i = 0; i < nmsg; i++) {
		if (msgs[i].kind == 1)
			started = msgs[i].index + 1;
		else
			flushed = msgs[i].index;
	}
	CHECK(flushed > 0);

	/* No corruption (leaks allowed). */
	rc = sh("qemu-img check -q '%s' >/dev/null 2>&1", img);
	if (rc != 0 && rc != 3) {
		fprintf(stderr, "round %d (cluster %u): qemu-img check exit %d\n", round, cs, rc);
		sh("qemu-img check '%s' | head -20 >&2", img);
	}
	CHECK(rc == 0 || rc == 3);

	/* Durability of flushed writes, read back by QEMU. */
	CHECK_EQ(sh("qemu-img convert -f qcow2 -O raw '%s' '%s'", img, raw), 0);
	{
		int fd = open(raw, O_RDONLY);

		CHECK(fd >= 0);
		CHECK_EQ(pread(fd, disk, DISK, 0), (ssize_t)DISK);
		close(fd);
	}
	/* Replay the child's draws (flush intervals included): the last writer
	 * of each sector; writes after the last flush may or may not be there. */
	{
		struct op op;
		unsigned next_flush;
		static uint8_t want[SECT];

		memset(last, 0xff, sizeof(last));
		rng = seed;
		next_flush = 1 + (unsigned)(rnd() % 8);
		for (uint32_t i = 0; i < started; i++) {
			gen_op(&op);
			for (uint32_t s = 0; s < op.n; s++)
				last[op.sect + s] = i < flushed ? (int32_t)i : -2;
			if (--next_flush == 0)
				next_flush = 1 + (unsigned)(rnd() % 8);
		}
		for (uint32_t s = 0; s < NSECT; s++) {
			if (last[s] == -2)
				continue;
			if (last[s] == -1)
				memset(want, 0, SECT);
			else
				fill(want, (uint32_t)last[s], s);
			if (memcmp(want, disk + (size_t)s * SECT, SECT) != 0) {
				if (bad++ < 5)
					fprintf(stderr, "round %d (cluster %u): sector %u: want op %d, flushed %u started %u\n",
						round, cs, s, last[s], flushed, started);
			}
		}
	}
	CHECK_EQ(bad, 0);
	printf("round %2d: cluster %5u, %6u writes, %6u flushed, check %d\n", round, cs, started, flushed, rc);
	unlink(raw);
	unlink(img);
}

int main(void)
{
	char dir[] = "/tmp/vmm-crash-XXXXXX";
	const char *env = getenv("CRASH_ROUNDS");
	int rounds = env ? atoi(env) : 50;

	if (system("qemu-img --version >/dev/null 2>&1") != 0) {
		printf("qemu-img not installed: skipped\n");
		return 77;
	}
	CHECK(mkdtemp(dir) != NULL);
	for (int r = 0; r < rounds; r++)
		round_run(dir, r);
	rmdir(dir);
	return check_done();
}
