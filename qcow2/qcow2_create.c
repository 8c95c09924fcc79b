/* qcow2_create: a new image as QEMU lays it out (qcow2.txt "Header"): the
 * header cluster, a one-cluster refcount table, one refcount block, then the
 * L1 table grown through the driver itself (so any cluster size and
 * refcount width gets the refcount blocks it needs); then the backing file,
 * external data file and preallocation. */
#include "qcow2/qcow2_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int preallocate(struct block_dev *bs, const char *mode)
{
	struct qcow2_state *s = bs->priv;
	uint64_t cs = s->cluster_size, n = (s->size + cs - 1) / cs;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	for (uint64_t vc = 0; vc < n && ret == 0;) {
		uint64_t k = s->l2_entries - vc % s->l2_entries;
		int64_t host;

		if (k > n - vc)
			k = n - vc;
		host = s->data_fd != s->fd ? (int64_t)(vc * cs) : qcow2_alloc_clusters(s, k);
		if (host < 0) {
			ret = (int)host;
			break;
		}
		for (uint64_t i = 0; i < k && ret == 0; i++)
			ret = qcow2_set_l2_entry(s, vc + i, ((uint64_t)host + i * cs) | QCOW2_OFLAG_COPIED,
						 s->extl2 ? 0xffffffffull : 0);
		vc += k;
	}
	if (ret == 0 && s->data_fd == s->fd && ftruncate(s->fd, (off_t)s->file_end) < 0)
		ret = -errno;
	if (ret == 0 && s->data_fd != s->fd && ftruncate(s->data_fd, (off_t)(n * cs)) < 0)
		ret = -errno;
	if (ret == 0 && (!strcmp(mode, "falloc") || !strcmp(mode, "full"))) {
		int fd = s->data_fd;
		uint64_t end = fd == s->fd ? s->file_end : n * cs;

		if (!strcmp(mode, "falloc")) {
			if (posix_fallocate(fd, 0, (off_t)end) != 0)
				ret = -EIO;
		} else {
			uint8_t *z = calloc(1, cs);
			if (!z)
				ret = -ENOMEM;
			/* Zeroes over every data cluster (metadata already written). */
			for (uint64_t vc = 0; vc < n && ret == 0; vc++) {
				uint64_t e, bm;

				ret = qcow2_get_l2_entry(s, vc, &e, &bm);
				if (ret == 0)
					ret = qcow2_pwrite(fd, z, cs, e & QCOW2_L2_OFFSET_MASK);
			}
			free(z);
		}
	}
	if (ret == 0)
		ret = qcow2_flush_all(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int qcow2_create(const char *path, const struct qcow2_create_opts *o)
{
	struct qcow2_state h;
	struct block_engine *eng = NULL;
	struct block_dev *bs = NULL;
	struct block_open_opts oo = { .format = "qcow2" };
	unsigned cs, rb, cbits = 0;
	uint8_t *buf = NULL;
	int fd, ret, version, zstd = 0;
	const char *pre;

	if (!path || !o)
		return -EINVAL;
	version = o->version ? o->version : 3;
	cs = o->cluster_size ? o->cluster_size : 65536;
	rb = o->refcount_bits ? o->refcount_bits : 16;
	pre = o->preallocation ? o->preallocation : "off";
	if (o->compression_type && !strcmp(o->compression_type, "zstd"))
		zstd = 1;
	else if (o->compression_type && strcmp(o->compression_type, "zlib"))
		return -EINVAL;
	if ((version != 2 && version != 3) || !pow2(cs) || cs < 512 || cs > (2u << 20) || !pow2(rb) || rb > 64)
		return -EINVAL;
	if (strcmp(pre, "off") && strcmp(pre, "metadata") && strcmp(pre, "falloc") && strcmp(pre, "full"))
		return -EINVAL;
	if (version == 2 && (rb != 16 || o->lazy_refcounts || o->extended_l2 || o->data_file || zstd))
		return -EINVAL;
	if (o->extended_l2 && cs < 16384)
		return -EINVAL;
	if (o->data_file_raw && !o->data_file)
		return -EINVAL;
	if (o->backing_file && (strlen(o->backing_file) > 1023 || o->data_file_raw))
		return -EINVAL;
	if (o->size % 512 || o->size > (1ull << 62))
		return -EINVAL;
	while ((1u << cbits) < cs)
		cbits++;

	memset(&h, 0, sizeof(h));
	h.version = (uint32_t)version;
	h.cluster_bits = cbits;
	h.cluster_size = cs;
	h.reftable_offset = cs;
	h.reftable_clusters = 1;
	h.refcount_order = 0;
	while ((1u << h.refcount_order) < rb)
		h.refcount_order++;
	if (o->lazy_refcounts)
		h.compat |= QCOW2_COMPAT_LAZY_REFCOUNTS;
	if (o->extended_l2)
		h.incompat |= QCOW2_INCOMPAT_EXTL2;
	if (zstd) {
		h.incompat |= QCOW2_INCOMPAT_COMPRESSION;
		h.compression_type = QCOW2_CTYPE_ZSTD;
	}
	if (o->data_file) {
		int dfd;

		h.incompat |= QCOW2_INCOMPAT_DATA_FILE;
		if (o->data_file_raw)
			h.autoclear |= QCOW2_AUTOCLEAR_DATA_RAW;
		h.data_file = (char *)o->data_file;
		if (o->data_file[0] == '/' || !strrchr(path, '/')) {
			dfd = open(o->data_file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
			if (dfd < 0)
				return QCOW2_E_DATA_FILE;
			close(dfd);
		}
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	h.fd = fd;
	ret = qcow2_write_header(&h);
	buf = calloc(1, cs);
	if (!buf)
		ret = -ENOMEM;
	if (ret == 0) {
		qcow2_put_be64(buf, 2ull * cs);
		ret = qcow2_pwrite(fd, buf, cs, cs);
	}
	if (ret == 0) {
		memset(buf, 0, cs);
		for (unsigned i = 0; i < 3; i++)
			qcow2_rb_set(&h, buf, i, 1);
		ret = qcow2_pwrite(fd, buf, cs, 2ull * cs);
	}
	free(buf);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret < 0)
		return ret;

	/* A relative data file name is relative to the image's directory. */
	if (o->data_file && o->data_file[0] != '/') {
		const char *sl = strrchr(path, '/');

		if (sl) {
			size_t dl = (size_t)(sl - path) + 1;
			char *p = malloc(dl + strlen(o->data_file) + 1);
			int dfd;

			if (!p)
				return -ENOMEM;
			memcpy(p, path, dl);
			strcpy(p + dl, o->data_file);
			dfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
			free(p);
			if (dfd < 0)
				return QCOW2_E_DATA_FILE;
			close(dfd);
		}
	}

	ret = block_engine_create(&eng, 4, 1);
	if (ret < 0)
		return ret;
	ret = block_open(&bs, path, &oo, eng, NULL);
	if (ret < 0)
		goto out;
	if (o->size)
		ret = block_truncate(bs, o->size);
	if (ret == 0 && o->data_file && o->data_file_raw) {
		struct qcow2_state *s = bs->priv;

		if (ftruncate(s->data_fd, (off_t)o->size) < 0)
			ret = -errno;
	}
	if (ret == 0 && strcmp(pre, "off"))
		ret = preallocate(bs, pre);
	if (ret == 0 && o->backing_file)
		ret = qcow2_change_backing_file(bs, o->backing_file, o->backing_fmt);
	if (ret == 0)
		ret = qcow2_flush_metadata(bs);
	block_close(bs);
out:
	block_engine_destroy(eng);
	return ret;
}
