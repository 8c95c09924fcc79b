/* test_qcow2_read: images made by qemu-img / qemu-io (v2, v3, cluster sizes
 * 512/64k/2M, refcount_bits 1 and 64, zlib and zstd compression, backing
 * chains with relative names, extended L2, external data file) read through
 * the qcow2 driver equal `qemu-img convert -O raw` byte for byte, with reads
 * split over odd offsets and several iovecs. Skips (77) without qemu-img. */
#include "block/block.h"
#include "qcow2/qcow2.h"
#include "tests/check.h"
#include "tests/qcow2_test_util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static struct block_engine *eng;

/* Reads the image through the driver in uneven pieces (3 iovecs each) and
 * compares with qemu-img's raw conversion. */
static void compare(const char *name, const char *fmt)
{
	char img[512], raw[512];
	struct block_open_opts o = { .format = fmt, .read_only = 1 };
	struct block_dev *bs = NULL;
	size_t rlen = 0;
	uint8_t *ref, *got;
	int ret;

	snprintf(img, sizeof(img), "%s/%s", dir, name);
	snprintf(raw, sizeof(raw), "%s/%s.raw", dir, name);
	CHECK_EQ(qt_sh("qemu-img convert -O raw '%s' '%s'", img, raw), 0);
	ref = qt_slurp(raw, &rlen);
	CHECK(ref != NULL);
	ret = block_open(&bs, img, &o, eng, NULL);
	if (ret < 0)
		fprintf(stderr, "%s: %s\n", name, block_strerror(ret));
	CHECK_EQ(ret, 0);
	if (ret < 0 || !ref) {
		free(ref);
		return;
	}
	CHECK_EQ(bs->size, rlen);
	got = malloc(rlen + 1);
	memset(got, 0xa5, rlen);
	for (size_t off = 0, step = 12345; off < rlen; off += step, step = step * 7 % 300007 + 511) {
		size_t n = step < rlen - off ? step : rlen - off;
		size_t a = n / 3, b = n / 5;
		struct iovec iov[3] = {
			{ got + off, a }, { got + off + a, b }, { got + off + a + b, n - a - b },
		};
		struct qt_wait w = { 0, 0 };

		ret = block_preadv(bs, off, iov, 3, qt_cb, &w);
		CHECK_EQ(ret, 0);
		while (ret == 0 && !w.done)
			block_engine_poll(eng, 1);
		if (w.ret) {
			fprintf(stderr, "%s: read at %zu: %s\n", name, off, block_strerror(w.ret));
			CHECK_EQ(w.ret, 0);
			break;
		}
	}
	if (memcmp(got, ref, rlen) != 0) {
		for (size_t i = 0; i < rlen; i++)
			if (got[i] != ref[i]) {
				fprintf(stderr, "%s: first difference at %zu: %02x != %02x\n", name, i, got[i], ref[i]);
				break;
			}
	}
	CHECK_MEM(got, ref, rlen);
	free(got);
	free(ref);
	block_close(bs);
}

/* Standard pattern of qemu-io writes: partial clusters, runs, zeroes, discard. */
static void fill(const char *name, unsigned cs)
{
	CHECK_EQ(qt_sh("cd %s && qemu-io -f qcow2 -c 'write -P 0x11 0 %u' -c 'write -P 0x22 %u 3000' "
		    "-c 'write -P 0x33 %u %u' -c 'write -z %u %u' -c 'write -P 0x44 1M 200k' "
		    "-c 'discard 1M %u' -c 'write -P 0x55 3M 4096' %s >/dev/null",
		    dir, cs * 3, cs * 5 + 100, cs * 8, cs * 4, cs, cs, cs, name), 0);
}

int main(void)
{
	{
		int r = qt_setup("test_qcow2_read", 1, 64, dir, sizeof(dir), &eng);

		if (r)
			return r;
	}

	/* v3 and v2, default clusters. */
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 v3.qcow2 5M", dir), 0);
	fill("v3.qcow2", 65536);
	compare("v3.qcow2", "qcow2");
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 5M", dir), 0);
	fill("v2.qcow2", 65536);
	compare("v2.qcow2", NULL);   /* probed */

	/* Cluster sizes and refcount widths. */
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 -o cluster_size=512 c512.qcow2 5M", dir), 0);
	fill("c512.qcow2", 512);
	compare("c512.qcow2", "qcow2");
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 -o cluster_size=2M c2m.qcow2 32M", dir), 0);
	fill("c2m.qcow2", 2 << 20);
	compare("c2m.qcow2", "qcow2");
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 -o refcount_bits=1 r1.qcow2 5M", dir), 0);
	fill("r1.qcow2", 65536);
	compare("r1.qcow2", "qcow2");
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 -o refcount_bits=64,cluster_size=4096 r64.qcow2 5M", dir), 0);
	fill("r64.qcow2", 4096);
	compare("r64.qcow2", "qcow2");

	/* Compressed: zlib and zstd, from a raw file with compressible and random parts. */
	CHECK_EQ(qt_sh("cd %s && head -c 3M /dev/urandom > rnd && (yes vmm-qcow2 | head -c 5M) > src.raw && "
		    "dd if=rnd of=src.raw bs=64k seek=10 conv=notrunc status=none && "
		    "truncate -s 6M src.raw", dir), 0);
	CHECK_EQ(qt_sh("cd %s && qemu-img convert -c -O qcow2 src.raw zlib.qcow2", dir), 0);
	compare("zlib.qcow2", "qcow2");
	CHECK_EQ(qt_sh("cd %s && qemu-img convert -c -O qcow2 -o compression_type=zstd src.raw zstd.qcow2", dir), 0);
	compare("zstd.qcow2", "qcow2");
	CHECK_EQ(qt_sh("cd %s && qemu-img convert -c -O qcow2 -o cluster_size=4096 src.raw z4k.qcow2", dir), 0);
	compare("z4k.qcow2", "qcow2");

	/* Backing chain: raw base (shorter), qcow2 middle, qcow2 top; relative names. */
	CHECK_EQ(qt_sh("cd %s && mkdir -p chain/sub && cp src.raw chain/sub/base.raw && truncate -s 3M chain/sub/base.raw && "
		    "qemu-img create -q -f qcow2 -b base.raw -F raw chain/sub/mid.qcow2 6M && "
		    "qemu-io -c 'write -P 0x66 64k 100k' -c 'write -z 512k 64k' chain/sub/mid.qcow2 >/dev/null && "
		    "qemu-img create -q -f qcow2 -b sub/mid.qcow2 -F qcow2 chain/top.qcow2 8M && "
		    "qemu-io -c 'write -P 0x77 100k 30k' -c 'write -P 0x78 5M 70k' -c 'write -z 1M 64k' chain/top.qcow2 >/dev/null",
		    dir), 0);
	compare("chain/top.qcow2", "qcow2");
	/* Backing format not recorded: probed. */
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 -b top.qcow2 -F qcow2 chain/nofmt.qcow2 && "
		    "qemu-img rebase -u -b top.qcow2 chain/nofmt.qcow2 2>/dev/null; true", dir), 0);
	compare("chain/nofmt.qcow2", "qcow2");

	/* Extended L2: 2 KiB subclusters written piecewise over a backing file. */
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 -o extended_l2=on -b src.raw -F raw extl2.qcow2 6M && "
		    "qemu-io -c 'write -P 0x12 4k 2k' -c 'write -P 0x13 70k 5000' -c 'write -z 128k 8k' "
		    "-c 'write -P 0x14 1M 64k' -c 'discard 1M 64k' -c 'write -P 0x15 2M 300k' extl2.qcow2 >/dev/null", dir), 0);
	compare("extl2.qcow2", "qcow2");

	/* External data file. */
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 -o data_file=$PWD/ext.data ext.qcow2 4M && "
		    "qemu-io -c 'write -P 0x21 10k 100k' -c 'write -P 0x22 3M 64k' ext.qcow2 >/dev/null", dir), 0);
	compare("ext.qcow2", "qcow2");

	/* A qemu-io written image with lots of small scattered writes (fragmented). */
	CHECK_EQ(qt_sh("cd %s && qemu-img create -q -f qcow2 -o cluster_size=4096 frag.qcow2 2M && "
		    "for i in 7 3 6 1 9 5 8 2; do echo \"write -P 0x$i$i $((i*65536+100)) 9000\"; done | "
		    "qemu-io frag.qcow2 >/dev/null", dir), 0);
	compare("frag.qcow2", "qcow2");

	block_engine_destroy(eng);
	qt_sh("rm -rf %s", dir);
	return check_done();
}
