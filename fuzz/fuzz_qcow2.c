/* Fuzz target: qcow2 open and I/O on an arbitrary image (qcow2/qcow2.h,
 * QEMU docs/interop/qcow2.txt). Input: a 4-byte little-endian image length
 * (mod 1 MiB), the image, a read-only flag byte, then up to 32 operations
 * (read/write/discard/zeroes/flush/status/check/compressed write). The external data-file bit is cleared so that an
 * input cannot make the fuzzer write to a host file it names. */
#include "fuzz/fuzz.h"
#include "block/block.h"
#include "qcow2/qcow2.h"

static struct block_engine *eng;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block_open_opts o = { .format = "qcow2" };
	struct fuzz_in in = { data, size };
	struct block_dev *bs;
	size_t img_len;
	uint8_t *img;
	const char *path;
	static uint8_t buf[1 << 17];

	if (!eng && block_engine_create(&eng, 16, 1) != 0)
		abort();
	img_len = (size_t)fuzz_take(&in, 4) % (1u << 20);
	if (img_len > in.n)
		img_len = in.n;
	img = malloc(img_len + 1);
	memcpy(img, in.p, img_len);
	in.p += img_len;
	in.n -= img_len;
	if (img_len > 79)
		img[79] &= (uint8_t)~0x04;     /* incompatible_features bit 2: external data file */
	path = fuzz_write_file("disk.qcow2", img, img_len);
	free(img);

	o.read_only = (int)(fuzz_take(&in, 1) & 1);
	if (block_open(&bs, path, &o, eng, NULL) != 0)
		return 0;
	for (int ops = 0; ops < 32 && in.n; ops++) {
		unsigned op = (unsigned)fuzz_take(&in, 1) % 8;
		uint64_t off = bs->size ? fuzz_take(&in, 8) % bs->size : 0;
		size_t len = (size_t)fuzz_take(&in, 3) % sizeof(buf);

		if (off + len > bs->size)
			len = (size_t)(bs->size - off);
		switch (op) {
		case 0: block_pread_sync(bs, off, buf, len); break;
		case 1: memset(buf, ops, len); block_pwrite_sync(bs, off, buf, len); break;
		case 2: block_discard_sync(bs, off, len); break;
		case 3: block_write_zeroes_sync(bs, off, len, ops & 1); break;
		case 4: block_flush_sync(bs); break;
		case 5: {
			uint64_t pnum, host;
			int flags;

			block_get_status(bs, off, len ? len : 1, &pnum, &host, &flags);
			break;
		}
		case 6: {
			struct qcow2_check_result r;

			qcow2_check(bs, 0, &r);
			break;
		}
		case 7: {
			uint64_t cs = qcow2_cluster_size(bs), c = off & ~(cs - 1);

			if (cs && cs <= sizeof(buf))
				qcow2_write_compressed(bs, c, buf, (size_t)(bs->size - c < cs ? bs->size - c : cs));
			break;
		}
		}
	}
	block_close(bs);
	return 0;
}
