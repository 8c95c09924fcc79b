/* Test guest for flush durability (virtio 1.2 section 5.2.6, VIRTIO_BLK_T_FLUSH:
 * data written before an acknowledged flush is on stable storage). Each round
 * writes `batch` new 4 KiB blocks, each at the start of its own 64 KiB (one
 * qcow2 cluster per block, so each round allocates clusters and L2 entries),
 * rewrites the super block (sector 0) with the round number, issues FLUSH and,
 * once acknowledged, prints "FLUSHED <blocks> <round>". The host test
 * (run_durability.py) SIGKILLs the VMM after some FLUSHED line and checks that
 * every block acknowledged by then is in the image. Command line:
 * rounds=N (default 64) batch=N (default 4). Layout: see run_durability.py. */
#include "rt.h"
#include "vblk.h"

#define BLOCK 4096u
#define STRIDE_SECTORS 128u   /* 64 KiB */

static struct vblk blk;

/* Block b (1-based, 0 is the super block) of generation g. */
static void fill_block(uint8_t *p, uint32_t b, uint32_t g)
{
	uint32_t *w = (uint32_t *)p;

	w[0] = 0x42525544;    /* "DURB" */
	w[1] = b;
	w[2] = g;
	w[3] = ~(b ^ g);
	for (unsigned i = 4; i < BLOCK / 4; i++)
		w[i] = (b * 0x9e3779b1u) ^ (g * 0x85ebca6bu) ^ (i * 0x27d4eb2fu);
}

static unsigned long arg(const char *key, unsigned long def)
{
	const char *v = rt_cmdline_arg(key);

	return v && *v ? (unsigned long)rt_strtoull(v, NULL) : def;
}

void rt_main(void)
{
	unsigned long rounds = arg("rounds", 64), batch = arg("batch", 4);
	uint8_t *buf;
	uint32_t next = 1;

	if (batch < 1 || batch > 32)
		rt_fail("batch=%lu: 1..32", batch);
	buf = rt_alloc_pages(BLOCK / 4096 * 32);
	vblk_open(&blk, 1ull << VBLK_F_FLUSH, 128, 0);
	if (!vdrv_has(&blk.dev, VBLK_F_FLUSH))
		rt_fail("virtio-blk: FLUSH not offered");
	if ((rounds * batch + 1) * STRIDE_SECTORS > blk.capacity)
		rt_fail("image too small: %lu rounds of %lu blocks need %lu sectors, capacity %lu",
			rounds, batch, (rounds * batch + 1) * STRIDE_SECTORS,
			(unsigned long)blk.capacity);
	rt_printf("durability: %lu rounds of %lu blocks\n", rounds, batch);
	for (uint32_t r = 1; r <= rounds; r++) {
		int st;

		/* The new blocks in flight together, then the super block. */
		for (unsigned i = 0; i < batch; i++, next++) {
			fill_block(buf + i * BLOCK, next, 0);
			if (vblk_submit(&blk, i, VBLK_T_OUT, (uint64_t)next * STRIDE_SECTORS,
					buf + i * BLOCK, BLOCK))
				rt_fail("ring full");
		}
		vdrv_kick(&blk.q);
		for (unsigned done = 0; done < batch;) {
			int tag = vblk_complete(&blk, &st);

			if (tag < 0) {
				rt_pause();
				continue;
			}
			if (st != VBLK_S_OK)
				rt_fail("round %u: write status %d", r, st);
			done++;
		}
		fill_block(buf, 0, r);
		if ((st = vblk_rw(&blk, VBLK_T_OUT, 0, buf, BLOCK)) != VBLK_S_OK)
			rt_fail("round %u: super block write status %d", r, st);
		if ((st = vblk_rw(&blk, VBLK_T_FLUSH, 0, NULL, 0)) != VBLK_S_OK)
			rt_fail("round %u: flush status %d", r, st);
		rt_printf("FLUSHED %u %u\n", next - 1, r);
	}
	rt_printf("durability: DONE\n");
	rt_pass();
}
