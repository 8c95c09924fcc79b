/* QCOW2 compressed clusters (qcow2.txt "Compressed Clusters Descriptor",
 * header "compression type"): zlib raw deflate with a 4 KiB window (-12) or
 * zstd frames, decompressed to exactly one cluster; compressed writes packed
 * at byte granularity after the previous compressed cluster, each host
 * cluster counted once per compressed cluster touching it. */
#include "qcow2/qcow2_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static int inflate_cluster(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
	z_stream z;
	int r;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -12) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = (uInt)outlen;
	r = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	/* Trailing sector padding is fine; a short output is not. */
	if ((r != Z_STREAM_END && r != Z_BUF_ERROR && r != Z_OK) || z.avail_out != 0)
		return QCOW2_E_COMPRESSED;
	return 0;
}

static int zstd_cluster(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, inlen, 0 };
	ZSTD_outBuffer ob = { out, outlen, 0 };
	int ret = 0;

	if (!d)
		return -ENOMEM;
	while (ob.pos < ob.size) {
		size_t r = ZSTD_decompressStream(d, &ob, &ib);

		if (ZSTD_isError(r)) {
			ret = QCOW2_E_COMPRESSED;
			break;
		}
		if (r == 0 && ob.pos < ob.size) {   /* frame ended short */
			ret = QCOW2_E_COMPRESSED;
			break;
		}
		if (ib.pos == ib.size && ob.pos < ob.size && r != 0) {
			ret = QCOW2_E_COMPRESSED;
			break;
		}
	}
	ZSTD_freeDCtx(d);
	return ret;
}

int qcow2_decompress(struct qcow2_state *s, uint64_t l2e, uint8_t *out)
{
	uint64_t coff = l2e & s->coffset_mask, o, l, csize;
	uint8_t *in;
	int ret;

	qcow2_compressed_range(s, l2e, &o, &l);
	csize = l - (coff - o);
	if (coff < s->cluster_size || coff >= s->file_end || csize > s->file_end - coff ||
	    csize > 2 * (uint64_t)s->cluster_size + 512)
		return QCOW2_E_COMPRESSED;
	in = malloc(csize);
	if (!in)
		return -ENOMEM;
	ret = qcow2_pread(s->fd, in, csize, coff);
	if (ret == 0)
		ret = s->compression_type == QCOW2_CTYPE_ZSTD ? zstd_cluster(in, csize, out, s->cluster_size)
							      : inflate_cluster(in, csize, out, s->cluster_size);
	free(in);
	return ret;
}

/* Compressed size, or 0 when compression does not pay. */
static size_t compress_cluster(struct qcow2_state *s, const uint8_t *in, size_t len, uint8_t *out,
			       size_t outcap)
{
	if (s->compression_type == QCOW2_CTYPE_ZSTD) {
		size_t r = ZSTD_compress(out, outcap, in, len, 3);

		return ZSTD_isError(r) ? 0 : r;
	} else {
		z_stream z;
		size_t n = 0;

		memset(&z, 0, sizeof(z));
		if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK)
			return 0;
		z.next_in = (Bytef *)in;
		z.avail_in = (uInt)len;
		z.next_out = out;
		z.avail_out = (uInt)outcap;
		if (deflate(&z, Z_FINISH) == Z_STREAM_END)
			n = outcap - z.avail_out;
		deflateEnd(&z);
		return n;
	}
}

int qcow2_write_compressed(struct block_dev *bs, uint64_t off, const void *buf, size_t len)
{
	struct qcow2_state *s;
	uint64_t cs, coff, nb, e;
	uint8_t *in = NULL, *out = NULL;
	size_t clen;
	int ret;

	if (!bs || bs->drv != &block_driver_qcow2 || !buf)
		return -EINVAL;
	s = bs->priv;
	cs = s->cluster_size;
	if (s->read_only)
		return -EROFS;
	if (off % cs || len == 0 || len > cs || off >= s->size || (len < cs && off + len != s->size))
		return -EINVAL;
	if (s->data_fd != s->fd)
		return -ENOTSUP;
	in = calloc(1, cs);
	out = malloc(cs);
	if (!in || !out) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(in, buf, len);
	clen = compress_cluster(s, in, cs, out, cs - 512);
	if (clen == 0 || clen >= cs - 512) {
		ret = block_pwrite_sync(bs, off, buf, len);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	if (s->comp_next && s->comp_next % cs && cs - s->comp_next % cs >= clen) {
		coff = s->comp_next;
		ret = qcow2_update_refcount(s, coff / cs, 1);
	} else {
		int64_t c = qcow2_alloc_clusters(s, (clen + cs - 1) / cs);

		ret = c < 0 ? (int)c : 0;
		coff = c < 0 ? 0 : (uint64_t)c;
	}
	if (ret == 0)
		ret = qcow2_pwrite(s->fd, out, clen, coff);
	if (ret == 0) {
		s->comp_next = (coff + clen) % cs ? coff + clen : 0;
		nb = ((coff + clen - 1) >> 9) - (coff >> 9);
		e = QCOW2_OFLAG_COMPRESSED | nb << s->csize_shift | coff;
		ret = qcow2_set_l2_entry(s, off / cs, e, 0);
	}
	pthread_mutex_unlock(&s->lock);
out:
	free(in);
	free(out);
	return ret;
}
