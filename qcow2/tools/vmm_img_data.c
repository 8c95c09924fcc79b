/* vmm-img's data commands: convert, compare, map, resize, commit, rebase
 * (qemu-img.c semantics: block status drives sparse copies, compare reports
 * the first differing 512-byte sector, map prints qemu's human/json lines). */
#include "qcow2/tools/img_common.h"
#include "qcow2/tools/vmm_img.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static int is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!len)
		return 1;
	return p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Ends a writing command: data and metadata on disk, then close. */
static int finish_write(struct block_dev *bs)
{
	int ret = block_flush_sync(bs);

	if (ret == 0 && img_is_qcow2(bs))
		ret = qcow2_flush_metadata(bs);
	return ret;
}

/* --- convert */

struct convert_src {
	struct block_dev *bs;
	uint64_t base;          /* offset of this source in the output */
};

static int write_zero_range(struct block_dev *bs, uint64_t off, uint64_t len, uint8_t *zbuf)
{
	int ret = block_write_zeroes_sync(bs, off, len, 0);

	if (ret != -ENOTSUP)
		return ret;
	memset(zbuf, 0, CHUNK);
	while (len) {
		size_t n = (size_t)min_u64(len, CHUNK);

		ret = block_pwrite_sync(bs, off, zbuf, n);
		if (ret < 0)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

/* Writes buf[0..len) at off, skipping runs of `sparse` zero bytes when the
 * target already reads as zeroes. */
static int write_sparse(struct block_dev *dst, uint64_t off, const uint8_t *buf, size_t len,
			uint64_t sparse, int target_zero, uint8_t *zbuf)
{
	size_t i = 0;

	if (!sparse)
		return block_pwrite_sync(dst, off, buf, len);
	while (i < len) {
		size_t start = i;
		int zero = is_zero(buf + i, (size_t)min_u64(sparse, len - i));

		while (i < len && is_zero(buf + i, (size_t)min_u64(sparse, len - i)) == zero)
			i += (size_t)min_u64(sparse, len - i);
		if (!zero) {
			int ret = block_pwrite_sync(dst, off + start, buf + start, i - start);

			if (ret < 0)
				return ret;
		} else if (!target_zero) {
			int ret = write_zero_range(dst, off + start, i - start, zbuf);

			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* A temporary copy of the qcow2 image path with snapshot `spec` applied
 * (qemu's -l takes "NAME_OR_ID", "snapshot.name=NAME" or "snapshot.id=ID").
 * Returns the copy's name (malloc'd; caller unlinks) or NULL after a message. */
static char *snapshot_copy(const char *path, const char *fmt, const char *spec)
{
	struct block_dev *bs = NULL;
	char *copy = NULL;
	int in = -1, out = -1, ret;
	struct stat st;

	if (!strncmp(spec, "snapshot.name=", 14))
		spec += 14;
	else if (!strncmp(spec, "snapshot.id=", 12))
		spec += 12;
	if (asprintf(&copy, "%s.vmm-img-snapshot.XXXXXX", path) < 0)
		return NULL;
	in = open(path, O_RDONLY | O_CLOEXEC);
	out = mkstemp(copy);
	if (in < 0 || out < 0 || fstat(in, &st) < 0) {
		img_error("Could not copy '%s' to read snapshot '%s': %s", path, spec, strerror(errno));
		goto fail;
	}
	for (off_t done = 0; done < st.st_size;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)(st.st_size - done), 0);

		if (n <= 0) {
			img_error("Could not copy '%s' to read snapshot '%s': %s", path, spec,
				  n < 0 ? strerror(errno) : "short copy");
			goto fail;
		}
		done += n;
	}
	close(in);
	close(out);
	in = out = -1;
	if (img_open(&bs, copy, fmt, 0, NULL) < 0)
		goto fail;
	ret = img_is_qcow2(bs) ? qcow2_snapshot_apply(bs, spec) : -ENOTSUP;
	if (ret == 0)
		ret = qcow2_flush_metadata(bs);
	block_close(bs);
	if (ret < 0) {
		if (ret == QCOW2_E_NO_SNAPSHOT)
			img_error("Failed to load snapshot: Can't find snapshot");
		else
			img_error("Failed to load snapshot '%s': %s", spec, img_strerror(ret));
		goto fail;
	}
	return copy;
fail:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	unlink(copy);
	free(copy);
	return NULL;
}

int img_cmd_convert(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "target-is-zero", no_argument, NULL, 'Z' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *ofmt = "raw", *cache = "unsafe", *src_cache = NULL, *out_path;
	const char *obacking = NULL, *obacking_fmt = NULL, *snapshot = NULL;
	char *optstr = NULL, *snap_copy = NULL, *obacking_opt = NULL;
	uint64_t sparse = 4096, total = 0, done = 0;
	int compress = 0, no_create = 0, quiet = 0, target_is_zero = 0, c, nsrc, ret, status = 1;
	struct img_progress prog = { 0, -1 };
	struct convert_src *src = NULL;
	struct block_dev *dst = NULL;
	uint8_t *buf = NULL, *zbuf = NULL;
	unsigned cs = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:O:o:cpqnS:t:T:B:F:l:m:WCU", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'O': ofmt = optarg; break;
		case 'c': compress = 1; break;
		case 'p': prog.enabled = 1; break;
		case 'q': quiet = 1; break;
		case 'n': no_create = 1; break;
		case 't': cache = optarg; break;
		case 'T': src_cache = optarg; break;
		case 'B': obacking = optarg; break;
		case 'F': obacking_fmt = optarg; break;
		case 'l': snapshot = optarg; break;
		case 'Z': target_is_zero = 1; break;
		case 'm': {
			uint64_t m;

			if (img_parse_ulong(optarg, &m) < 0 || m < 1 || m > 16) {
				img_error("Invalid number of coroutines. Allowed number of coroutines is between 1 and 16");
				return 1;
			}
			break;
		}
		case 'W': case 'C': case 'U': break;
		case 'S':
			if (img_parse_size(optarg, &sparse) < 0) {
				img_error("Invalid buffer size for sparse output specified. You may use k, M, G, T, P or E suffixes for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
				return 1;
			}
			if (sparse % 512 || sparse > 16u << 20) {
				img_error("Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 up to 16777216. Select 0 to disable sparse detection (fully allocates output).");
				return 1;
			}
			break;
		case 'o':
			if (img_opts_append(&optstr, optarg) < 0)
				return 1;
			break;
		case ':': return img_bad_option("convert", argv, 1);
		default: return img_bad_option("convert", argv, 0);
		}
	}
	if (quiet)
		prog.enabled = 0;
	nsrc = argc - optind - 1;
	if (nsrc < 1) {
		free(optstr);
		img_error("Must specify image file name");     /* qemu: one line, no hint */
		return 1;
	}
	if (snapshot && nsrc != 1) {
		img_error("No support for concatenating multiple snapshot");
		goto out;
	}
	if (compress && strcmp(ofmt, "qcow2")) {
		img_error("Compression not supported for this file format");
		goto out;
	}
	out_path = argv[argc - 1];
	src = calloc((size_t)nsrc, sizeof(*src));
	if (!src)
		goto out;
	if (snapshot) {
		/* Read the snapshot from a copy of the image with it applied: the
		 * copy sits next to the original so relative backing names hold. */
		snap_copy = snapshot_copy(argv[optind], fmt, snapshot);
		if (!snap_copy)
			goto out;
	}
	for (int i = 0; i < nsrc; i++) {
		if (img_open(&src[i].bs, snap_copy ? snap_copy : argv[optind + i], fmt, 1, src_cache) < 0)
			goto out;
		src[i].base = total;
		total += src[i].bs->size;
	}
	if (!no_create) {
		static char ctx[64];

		struct img_opts oo = { 0 };

		/* -o backing_file=X is -B X to qemu-img convert. */
		if (optstr && img_opts_parse(&oo, optstr) == 0) {
			const char *b = img_opts_get(&oo, "backing_file");

			if (b && !obacking)
				obacking = obacking_opt = strdup(b);
			if (img_opts_get(&oo, "backing_fmt") && !obacking_fmt)
				obacking_fmt = "";      /* given in optstr */
		}
		img_opts_free(&oo);
		if (obacking && !obacking_fmt) {
			img_error("Use of backing file requires explicit backing format");
			goto out;
		}
		if (obacking_fmt && !*obacking_fmt)
			obacking_fmt = NULL;
		snprintf(ctx, sizeof(ctx), "error while converting %s: ", ofmt);
		img_create_context = ctx;
		ret = img_create(out_path, ofmt, optstr, obacking, obacking_fmt, 1, 1, total, 1);
		img_create_context = "";
		if (ret)
			goto out;
	} else if (obacking) {
		img_error("-B makes no sense when -n is used");
		goto out;
	}
	if (img_open(&dst, out_path, ofmt, 0, cache) < 0)
		goto out;
	if (no_create && dst->size < total) {
		img_error("output file is smaller than input file");
		goto out;
	}
	/* A fresh image without a backing file reads as zeroes. */
	if ((!no_create && !obacking) || target_is_zero) {
		/* keep */
	} else {
		target_is_zero = 0;
	}
	if (!no_create && !obacking)
		target_is_zero = 1;
	if (obacking)
		sparse = 0;     /* zeroes over a backing file must be written */
	if (compress) {
		cs = qcow2_cluster_size(dst);
		if (!cs) {
			img_error("Could not get the cluster size of '%s'", out_path);
			goto out;
		}
	}
	buf = img_alloc_buf(CHUNK > cs ? CHUNK : cs);
	zbuf = img_alloc_buf(CHUNK);
	if (!buf || !zbuf)
		goto out;
	img_progress_update(&prog, 0);
	for (int i = 0; i < nsrc; i++) {
		struct block_dev *bs = src[i].bs;
		uint64_t off = 0;

		while (off < bs->size) {
			uint64_t pnum, host;
			int flags, depth, hole;
			uint64_t want = compress ? cs : CHUNK;
			uint64_t oo = src[i].base + off;

			/* Compressed clusters must be whole and aligned in the output. */
			if (compress)
				want = cs - oo % cs;
			ret = img_chain_status(bs, off, min_u64(want, bs->size - off), &pnum, &host, &flags, &depth, NULL);
			if (ret < 0) {
				img_error("error while reading block status at offset %" PRIu64 ": %s", off, img_strerror(ret));
				goto out;
			}
			if (compress && pnum < want && pnum < bs->size - off) {
				pnum = min_u64(want, bs->size - off);    /* mixed cluster: read it whole */
				hole = 0;
			} else if (obacking && bs->backing && (depth > 0 || !(flags & BLOCK_STATUS_ALLOCATED))) {
				/* qemu-img convert -B: what a source's own layer does not
				 * hold is left to the new backing file, which is meant to
				 * have the content of the source's backing chain (a source
				 * without one has its zeroes written). */
				hole = -1;
			} else {
				hole = (flags & BLOCK_STATUS_ZERO) && !(flags & BLOCK_STATUS_DATA) && (sparse || obacking);
			}
			if (hole < 0) {
				ret = 0;
			} else if (hole) {
				ret = target_is_zero ? 0 : write_zero_range(dst, oo, pnum, zbuf);
			} else {
				ret = block_pread_sync(bs, off, buf, (size_t)pnum);
				if (ret < 0) {
					img_error("error while reading at byte %" PRIu64 ": %s", off, img_strerror(ret));
					goto out;
				}
				if (!compress)
					ret = write_sparse(dst, oo, buf, (size_t)pnum, sparse, target_is_zero, zbuf);
				else if (!is_zero(buf, (size_t)pnum))
					ret = qcow2_write_compressed(dst, oo, buf, (size_t)pnum);
			}
			if (ret < 0) {
				img_error("error while writing at byte %" PRIu64 ": %s", oo, img_strerror(ret));
				goto out;
			}
			off += pnum;
			done += pnum;
			img_progress_update(&prog, (double)done * 100.0 / (double)(total ? total : 1));
		}
	}
	ret = finish_write(dst);
	if (ret < 0) {
		img_error("error while flushing '%s': %s", out_path, img_strerror(ret));
		goto out;
	}
	img_progress_end(&prog);
	status = 0;
out:
	if (dst)
		block_close(dst);
	for (int i = 0; src && i < nsrc; i++)
		if (src[i].bs)
			block_close(src[i].bs);
	free(src);
	free(buf);
	free(zbuf);
	free(optstr);
	free(obacking_opt);
	if (snap_copy) {
		unlink(snap_copy);
		free(snap_copy);
	}
	return status;
}

/* --- compare */

/* Length of the leading equal 512-byte sectors of a and b. */
static size_t equal_prefix(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = (size_t)min_u64(512, len - i);

		if (memcmp(a + i, b + i, n))
			break;
		i += n;
	}
	return i;
}

static size_t zero_prefix(const uint8_t *a, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = (size_t)min_u64(512, len - i);

		if (!is_zero(a + i, n))
			break;
		i += n;
	}
	return i;
}

int img_cmd_compare(int argc, char **argv)
{
	static const struct option lopts[] = { { "force-share", no_argument, NULL, 'U' }, { NULL, 0, NULL, 0 } };
	const char *fmt1 = NULL, *fmt2 = NULL, *cache = NULL;
	struct block_dev *a = NULL, *b = NULL;
	uint8_t *b1 = NULL, *b2 = NULL;
	int strict = 0, quiet = 0, c, ret, status = 2;
	struct img_progress prog = { 0, -1 };
	uint64_t off = 0, common;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:F:T:pqsU", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': fmt1 = optarg; break;
		case 'F': fmt2 = optarg; break;
		case 'T': cache = optarg; break;
		case 'p': prog.enabled = 1; break;
		case 'q': quiet = 1; break;
		case 's': strict = 1; break;
		case 'U': break;
		case ':': img_bad_option("compare", argv, 1); return 2;
		default: img_bad_option("compare", argv, 0); return 2;
		}
	}
	if (quiet)
		prog.enabled = 0;
	if (optind != argc - 2) {
		return img_bad_usage("compare", "Expecting two image file names");  /* qemu: 1 */
	}
	if (img_open(&a, argv[optind], fmt1, 1, cache) < 0 || img_open(&b, argv[optind + 1], fmt2, 1, cache) < 0)
		goto out;
	b1 = img_alloc_buf(CHUNK);
	b2 = img_alloc_buf(CHUNK);
	if (!b1 || !b2)
		goto out;
	if (strict && a->size != b->size) {
		if (!quiet)
			printf("Strict mode: Image size mismatch!\n");
		status = 1;
		goto out;
	}
	common = min_u64(a->size, b->size);
	status = 0;
	img_progress_update(&prog, 0);
	while (off < a->size || off < b->size) {
		uint64_t n1, n2, h, n;
		int f1 = BLOCK_STATUS_ZERO, f2 = BLOCK_STATUS_ZERO, d;
		size_t same;

		if (off == common && !quiet)
			printf("Warning: Image size mismatch!\n");

		n1 = n2 = CHUNK;
		if (off < a->size && (ret = img_chain_status(a, off, min_u64(CHUNK, a->size - off), &n1, &h, &f1, &d, NULL)) < 0)
			goto io_err;
		if (off < b->size && (ret = img_chain_status(b, off, min_u64(CHUNK, b->size - off), &n2, &h, &f2, &d, NULL)) < 0)
			goto io_err;
		n = min_u64(n1, n2);
		if (off < common)
			n = min_u64(n, common - off);
		if (strict && ((f1 ^ f2) & BLOCK_STATUS_ALLOCATED)) {
			if (!quiet)
				printf("Strict mode: Offset %" PRIu64 " block status mismatch!\n", off);
			status = 1;
			goto out;
		}
		if ((f1 & BLOCK_STATUS_ZERO) && !(f1 & BLOCK_STATUS_DATA) &&
		    (f2 & BLOCK_STATUS_ZERO) && !(f2 & BLOCK_STATUS_DATA)) {
			off += n;
			img_progress_update(&prog, (double)off * 100.0 / (double)(a->size > b->size ? a->size : b->size));
			continue;
		}
		if (off < a->size && (ret = block_pread_sync(a, off, b1, (size_t)n)) < 0)
			goto io_err;
		if (off >= a->size)
			memset(b1, 0, (size_t)n);
		if (off < b->size && (ret = block_pread_sync(b, off, b2, (size_t)n)) < 0)
			goto io_err;
		if (off >= b->size)
			memset(b2, 0, (size_t)n);
		same = off < common ? equal_prefix(b1, b2, (size_t)n) : zero_prefix(off < a->size ? b1 : b2, (size_t)n);
		if (same < n) {
			if (!quiet)
				printf("Content mismatch at offset %" PRIu64 "!\n", off + same);
			status = 1;
			goto out;
		}
		off += n;
		img_progress_update(&prog, (double)off * 100.0 / (double)(a->size > b->size ? a->size : b->size));
	}
	if (!quiet)
		printf("Images are identical.\n");
	goto out;
io_err:
	img_error("error while reading at offset %" PRIu64 ": %s", off, img_strerror(ret));
	status = 2;
out:
	if (prog.enabled)       /* qemu_progress_end(): the newline comes last */
		printf("\n");
	if (a)
		block_close(a);
	if (b)
		block_close(b);
	free(b1);
	free(b2);
	return status;
}

/* --- map */

struct map_entry {
	uint64_t start, length, offset;
	int depth, present, zero, data, has_offset;
	const char *filename;
};

static int map_mergeable(const struct map_entry *a, const struct map_entry *b)
{
	return a->depth == b->depth && a->present == b->present && a->zero == b->zero && a->data == b->data &&
	       a->has_offset == b->has_offset && a->filename == b->filename &&
	       (!a->has_offset || a->offset + a->length == b->offset);
}

static int map_dump(const struct map_entry *e, struct map_entry *next, int json)
{
	if (json) {
		printf("{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d, \"present\": %s, "
		       "\"zero\": %s, \"data\": %s", e->start, e->length, e->depth, e->present ? "true" : "false",
		       e->zero ? "true" : "false", e->data ? "true" : "false");
		if (e->has_offset)
			printf(", \"offset\": %" PRIu64, e->offset);
		putchar('}');
		if (next)
			puts(",");
		return 0;
	}
	if (e->data && !e->has_offset) {
		img_error("File contains external, encrypted or compressed clusters.");
		return -1;
	}
	if (e->data && !e->zero)
		printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e->start, e->length,
		       e->has_offset ? e->offset : 0, e->filename ? e->filename : "");
	/* Human output does not tell zero from unallocated: coalesce them. */
	if (next && (!next->data || next->zero)) {
		next->data = 0;
		next->zero = 1;
	}
	return 0;
}

/* The file a layer's data lives in: its external data file if it has one
 * (qemu's map names it), else the image. Names are kept for the run. */
struct map_names {
	struct block_dev *bs;
	char *name;
	int fd1;                /* 1 + fd of that file for lseek, 0: not open yet */
};

/* qemu asks the host file too (bdrv_co_block_status() recursing into the
 * protocol layer): data clusters whose host bytes are a hole in the file
 * (or past its end) read as zeroes, "zero": true "data": true; *len is cut
 * where the file changes between hole and data. */
static int map_host_zero(struct map_names *n, const char *name, uint64_t host, uint64_t *len)
{
	off_t d, h;

	if (!n->fd1)
		n->fd1 = 1 + open(name, O_RDONLY | O_CLOEXEC);
	if (n->fd1 <= 0)
		return 0;
	d = lseek(n->fd1 - 1, (off_t)host, SEEK_DATA);
	if (d < 0)
		return errno == ENXIO;  /* hole up to or past the end */
	if ((uint64_t)d > host) {
		*len = min_u64(*len, (uint64_t)d - host);
		return 1;
	}
	h = lseek(n->fd1 - 1, (off_t)host, SEEK_HOLE);
	if (h > d)
		*len = min_u64(*len, (uint64_t)h - host);
	return 0;
}

static const char *map_file_name(struct map_names *seen, struct block_dev *layer, struct map_names **slot)
{
	struct qcow2_info qi;
	size_t i;

	*slot = NULL;
	for (i = 0; i < 64 && seen[i].bs; i++)
		if (seen[i].bs == layer) {
			*slot = &seen[i];
			return seen[i].name ? seen[i].name : layer->filename;
		}
	if (i == 64)
		return layer->filename;
	*slot = &seen[i];
	seen[i].bs = layer;
	if (img_is_qcow2(layer) && qcow2_get_info(layer, &qi) == 0 && qi.data_file)
		seen[i].name = img_backing_path(layer->filename, qi.data_file);
	return seen[i].name ? seen[i].name : layer->filename;
}

int img_cmd_map(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'O' },
		{ "start-offset", required_argument, NULL, 's' },
		{ "max-length", required_argument, NULL, 'l' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL;
	struct block_dev *bs;
	struct map_entry cur = { 0 }, e;
	struct map_names names[64] = { { 0 } };
	uint64_t off = 0, end, maxlen = UINT64_MAX;
	int json = 0, c, have = 0, ret, status = 1;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:U", lopts, NULL)) != -1) {
		if ((ret = img_report_option("map", c, argv, &fmt, &json)) >= 0) {
			if (ret)
				return ret;
		} else if (c == 's' || c == 'l') {
			if (img_cvtnum(c == 's' ? "start offset" : "max length", optarg, INT64_MAX,
				       c == 's' ? &off : &maxlen) < 0)
				return 1;
		} else {
			return img_bad_option("map", argv, 0);
		}
	}
	if ((c = img_open_operand("map", argc, argv, &bs, fmt, 1, NULL)))
		return c;
	end = bs->size;
	if (maxlen < end - min_u64(off, end) )
		end = off + maxlen;
	if (json)
		printf("[");
	else
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
	while (off < end) {
		uint64_t pnum, host;
		int flags, depth;
		struct block_dev *layer;
		struct map_names *slot;

		ret = img_chain_status(bs, off, min_u64(end - off, 1ULL << 30), &pnum, &host, &flags, &depth, &layer);
		if (ret < 0) {
			img_error("block status failed at offset %" PRIu64 ": %s", off, img_strerror(ret));
			goto out;
		}
		memset(&e, 0, sizeof(e));
		e.start = off;
		e.length = pnum;
		e.depth = depth;
		e.present = !!(flags & BLOCK_STATUS_ALLOCATED);
		e.zero = !!(flags & BLOCK_STATUS_ZERO);
		e.data = !!(flags & BLOCK_STATUS_DATA);
		e.has_offset = e.data && !(flags & BLOCK_STATUS_COMPRESSED);
		/* A zero cluster with a host cluster behind it (driver reports its offset). */
		if (e.zero && !e.data && host)
			e.has_offset = 1;
		e.offset = e.has_offset ? host : 0;
		if (!img_is_qcow2(layer) && e.present) {
			/* A raw layer maps every byte, holes included. */
			e.has_offset = 1;
			e.offset = off;
		}
		e.filename = map_file_name(names, layer, &slot);
		if (e.data && e.has_offset && img_is_qcow2(layer) && slot &&
		    map_host_zero(slot, e.filename, host, &e.length)) {
			e.zero = 1;
		}
		pnum = e.length;
		if (have && map_mergeable(&cur, &e)) {
			cur.length += e.length;
		} else {
			if (have && map_dump(&cur, &e, json) < 0)
				goto out;
			cur = e;
			have = 1;
		}
		off += pnum;
	}
	if (have && map_dump(&cur, NULL, json) < 0)
		goto out;
	if (json)
		printf("]\n");
	status = 0;
out:
	for (int i = 0; i < 64; i++) {
		free(names[i].name);
		if (names[i].fd1 > 0)
			close(names[i].fd1 - 1);
	}
	block_close(bs);
	return status;
}

/* --- resize */

int img_cmd_resize(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "shrink", no_argument, NULL, 's' },
		{ "preallocation", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *sz;
	struct block_dev *bs;
	uint64_t n, new_size;
	int shrink = 0, quiet = 0, c, rel = 0, ret, status = 1;

	if (argc < 3)
		return img_bad_usage("resize", "Not enough arguments");
	/* The size goes last and may be negative: take it before getopt sees "-1M". */
	sz = argv[--argc];
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:q", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'q': quiet = 1; break;
		case 's': shrink = 1; break;
		case 'P':
			if (strcmp(optarg, "off") && strcmp(optarg, "metadata") && strcmp(optarg, "falloc") &&
			    strcmp(optarg, "full")) {
				img_error("Invalid preallocation mode '%s'", optarg);
				return 1;
			}
			if (strcmp(optarg, "off")) {
				img_error("Unsupported preallocation mode '%s' for resize", optarg);
				return 1;
			}
			break;
		case ':': return img_bad_option("resize", argv, 1);
		default: return img_bad_option("resize", argv, 0);
		}
	}
	if (optind != argc - 1)
		return img_bad_usage("resize", "Expecting image file name and size");
	if (sz[0] == '+' || sz[0] == '-')
		rel = sz[0] == '+' ? 1 : -1;
	if (img_parse_size(sz + (rel != 0), &n) < 0) {
		img_error("Parameter 'size' expects a non-negative number below 2^64 Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta- and exabytes, respectively.");
		return 1;
	}
	if (img_open(&bs, argv[optind], fmt, 0, NULL) < 0)
		return 1;
	if (rel > 0)
		new_size = bs->size + n;
	else if (rel < 0) {
		if (n > bs->size) {
			img_error("New image size must be positive");
			goto out;
		}
		new_size = bs->size - n;
	} else
		new_size = n;
	if (new_size < bs->size && !shrink) {
		img_error("Use the --shrink option to perform a shrink operation.");
		goto out;
	}
	if (img_is_qcow2(bs) && new_size % 512) {
		img_error("The new size must be a multiple of 512");
		goto out;
	}
	ret = img_truncate(bs, new_size);
	if (ret == 0)
		ret = finish_write(bs);
	if (ret < 0) {
		img_error("Failed to resize '%s': %s", argv[optind], img_strerror(ret));
		goto out;
	}
	if (!quiet)
		printf("Image resized.\n");
	status = 0;
out:
	block_close(bs);
	return status;
}

/* --- commit */

/* Drops every cluster of the top image so it reads through to its backing
 * file again (qemu's bdrv_make_empty): discard, or re-create when the driver
 * keeps discarded clusters allocated. */
static int make_empty(const char *path, const char *fmt)
{
	struct block_dev *bs;
	struct qcow2_info qi;
	int ret;

	if (img_open(&bs, path, fmt, 0, NULL) < 0)
		return -EIO;
	ret = block_discard_sync(bs, 0, bs->size);
	if (ret == 0) {
		uint64_t pnum, host;
		int flags;

		ret = img_block_status(bs, 0, bs->size, &pnum, &host, &flags);
		if (ret == 0 && (flags & BLOCK_STATUS_ALLOCATED || pnum < bs->size))
			ret = -ENOTSUP;
	}
	if (ret == 0) {
		ret = finish_write(bs);
		block_close(bs);
		return ret;
	}
	/* Re-create the image with the same settings and backing file. */
	if (!img_is_qcow2(bs) || qcow2_get_info(bs, &qi) < 0 || qi.data_file) {
		block_close(bs);
		return ret;
	}
	{
		struct qcow2_create_opts q = {
			.size = bs->size, .version = qi.version, .cluster_size = qi.cluster_size,
			.refcount_bits = qi.refcount_bits, .lazy_refcounts = qi.lazy_refcounts,
			.compression_type = qi.compression_type, .extended_l2 = qi.extended_l2,
		};
		char *bf = qi.backing_file ? strdup(qi.backing_file) : NULL;
		char *bfmt = qi.backing_fmt ? strdup(qi.backing_fmt) : NULL;
		char *ct = qi.compression_type ? strdup(qi.compression_type) : NULL;

		q.backing_file = bf;
		q.backing_fmt = bfmt;
		q.compression_type = ct;
		block_close(bs);
		ret = qcow2_create(path, &q);
		free(bf);
		free(bfmt);
		free(ct);
	}
	return ret;
}

/* Walks bs from *off to its end: step(ctx, off, n, &done) handles up to n
 * bytes from off (n ends at a multiple of chunk) and says how many it did;
 * the progress line follows. 0, or step's error with *off where it failed. */
static int walk_image(struct block_dev *bs, uint64_t chunk, struct img_progress *prog, uint64_t *off,
		      int (*step)(void *ctx, uint64_t off, uint64_t n, uint64_t *done), void *ctx)
{
	while (*off < bs->size) {
		uint64_t done = 0;
		int ret = step(ctx, *off, min_u64(chunk - *off % chunk, bs->size - *off), &done);

		if (ret < 0)
			return ret;
		*off += done;
		img_progress_update(prog, (double)*off * 100.0 / (double)bs->size);
	}
	return 0;
}

struct commit_ctx {
	struct block_dev *top, *base;
	int depth;                /* base's depth in top's chain */
	uint8_t *buf;             /* CHUNK bytes */
};

/* What the layers above base hold at [off, off+n) goes into base. */
static int commit_step(void *opaque, uint64_t off, uint64_t n, uint64_t *pnum)
{
	struct commit_ctx *c = opaque;
	uint64_t host;
	int flags, depth, ret;

	ret = img_chain_status(c->top, off, n, pnum, &host, &flags, &depth, NULL);
	if (ret < 0 || depth >= c->depth || !(flags & BLOCK_STATUS_ALLOCATED))
		return ret;
	if ((flags & BLOCK_STATUS_ZERO) && !(flags & BLOCK_STATUS_DATA)) {
		ret = block_write_zeroes_sync(c->base, off, *pnum, 0);
		if (ret == -ENOTSUP) {
			memset(c->buf, 0, (size_t)*pnum);
			ret = block_pwrite_sync(c->base, off, c->buf, (size_t)*pnum);
		}
		return ret;
	}
	ret = block_pread_sync(c->top, off, c->buf, (size_t)*pnum);
	return ret < 0 ? ret : block_pwrite_sync(c->base, off, c->buf, (size_t)*pnum);
}

int img_cmd_commit(int argc, char **argv)
{
	struct commit_ctx ctx;
	const char *fmt = NULL, *base_name = NULL, *cache = NULL, *path;
	struct block_dev *top = NULL, *base = NULL, *layer;
	struct img_progress prog = { 0, -1 };
	int drop = 0, quiet = 0, c, ret, status = 1, base_depth = 0;
	uint8_t *buf = NULL;
	uint64_t off = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt(argc, argv, ":f:b:t:r:dpq")) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'b': base_name = optarg; break;
		case 't': cache = optarg; break;
		case 'r': break;
		case 'd': drop = 1; break;
		case 'p': prog.enabled = 1; break;
		case 'q': quiet = 1; break;
		case ':': return img_bad_option("commit", argv, 1);
		default: return img_bad_option("commit", argv, 0);
		}
	}
	if (quiet)
		prog.enabled = 0;
	if ((c = img_open_operand("commit", argc, argv, &top, fmt, 1, NULL)))
		return c;
	path = argv[optind];
	if (!top->backing) {
		img_error("Image does not have a backing file");
		goto out;
	}
	layer = top->backing;
	base_depth = 1;
	if (base_name) {
		char *rp = realpath(base_name, NULL);

		drop = 1;   /* -b implies -d: the top image stays valid */
		for (; layer; layer = layer->backing, base_depth++) {
			char *lp = realpath(layer->filename, NULL);
			int match = rp && lp && !strcmp(rp, lp);

			free(lp);
			if (match)
				break;
		}
		free(rp);
		if (!layer) {
			img_error("Did not find '%s' in the backing chain of '%s'", base_name, path);
			goto out;
		}
	}
	if (img_open(&base, layer->filename, layer->drv->format, 0, cache) < 0)
		goto out;
	if (base->size < top->size && (ret = img_truncate(base, top->size)) < 0) {
		img_error("Could not resize the base image: %s", img_strerror(ret));
		goto out;
	}
	ctx.top = top, ctx.base = base, ctx.depth = base_depth;
	ctx.buf = buf = img_alloc_buf(CHUNK);
	if (!buf)
		goto out;
	ret = walk_image(top, CHUNK, &prog, &off, commit_step, &ctx);
	if (ret == 0)
		ret = finish_write(base);
	if (ret < 0)
		goto io_err;
	block_close(base);
	base = NULL;
	block_close(top);
	top = NULL;
	if (!drop && (ret = make_empty(path, fmt)) < 0) {
		img_error("Could not empty %s: %s", path, img_strerror(ret));
		goto out;
	}
	img_progress_end(&prog);
	if (!quiet)
		printf("Image committed.\n");
	status = 0;
	goto out;
io_err:
	img_error("Block job failed at offset %" PRIu64 ": %s", off, img_strerror(ret));
out:
	if (base)
		block_close(base);
	if (top)
		block_close(top);
	free(buf);
	return status;
}

/* --- rebase */

struct rebase_ctx {
	struct block_dev *bs, *newb;  /* newb NULL: no new backing file */
	uint8_t *b1, *b2;             /* a cluster each */
};

/* Where bs has no data of its own, what the old chain shows must stay:
 * written into bs where the new backing file differs. */
static int rebase_step(void *opaque, uint64_t off, uint64_t n, uint64_t *pnum)
{
	struct rebase_ctx *c = opaque;
	uint64_t host;
	int flags, ret;

	ret = img_block_status(c->bs, off, n, pnum, &host, &flags);
	if (ret < 0 || (flags & BLOCK_STATUS_ALLOCATED))
		return ret;
	n = *pnum;
	ret = block_pread_sync(c->bs, off, c->b1, (size_t)n);
	if (ret < 0)
		return ret;
	memset(c->b2, 0, (size_t)n);
	if (c->newb && off < c->newb->size) {
		ret = block_pread_sync(c->newb, off, c->b2, (size_t)min_u64(n, c->newb->size - off));
		if (ret < 0)
			return ret;
	}
	return memcmp(c->b1, c->b2, (size_t)n) ? block_pwrite_sync(c->bs, off, c->b1, (size_t)n) : 0;
}

int img_cmd_rebase(int argc, char **argv)
{
	struct rebase_ctx ctx;
	const char *fmt = NULL, *nb = NULL, *nbfmt = NULL, *cache = NULL, *src_cache = NULL, *path;
	struct block_dev *bs = NULL, *newb = NULL;
	struct img_progress prog = { 0, -1 };
	int unsafe = 0, quiet = 0, c, ret, status = 1;
	uint8_t *b1 = NULL, *b2 = NULL;
	uint64_t off = 0;
	unsigned cs = 65536;

	opterr = 0;
	optind = 1;
	while ((c = getopt(argc, argv, ":f:b:F:t:T:upqU")) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'b': nb = optarg; break;
		case 'F': nbfmt = optarg; break;
		case 't': cache = optarg; break;
		case 'T': src_cache = optarg; break;
		case 'u': unsafe = 1; break;
		case 'p': prog.enabled = 1; break;
		case 'q': quiet = 1; break;
		case 'U': break;
		case ':': return img_bad_option("rebase", argv, 1);
		default: return img_bad_option("rebase", argv, 0);
		}
	}
	(void)src_cache;
	if (quiet)
		prog.enabled = 0;
	if (optind != argc - 1)
		return img_bad_usage("rebase", "Expecting one image file name");
	if (!nb)
		return img_bad_usage("rebase", "Must specify backing file (-b) or use unsafe mode (-u)");
	path = argv[optind];
	if (img_open(&bs, path, fmt, 0, cache) < 0)
		return 1;
	if (!img_is_qcow2(bs)) {
		img_error("Could not change the backing file of '%s': Operation not supported", path);
		goto out;
	}
	if (*nb && (!unsafe || !nbfmt)) {
		char *p = img_backing_path(path, nb);

		ret = p ? img_open(&newb, p, nbfmt, 1, NULL) : -ENOMEM;
		free(p);
		if (ret < 0)
			goto out;
		if (!nbfmt)
			nbfmt = newb->drv->format;
	}
	if (!unsafe) {
		cs = qcow2_cluster_size(bs);
		if (!cs)
			cs = 65536;
		ctx.bs = bs, ctx.newb = newb;
		ctx.b1 = b1 = img_alloc_buf(cs);
		ctx.b2 = b2 = img_alloc_buf(cs);
		if (!b1 || !b2)
			goto out;
		ret = walk_image(bs, cs, &prog, &off, rebase_step, &ctx);
		if (ret == 0)
			ret = block_flush_sync(bs);
		if (ret < 0)
			goto io_err;
	}
	ret = qcow2_change_backing_file(bs, *nb ? nb : NULL, *nb ? nbfmt : NULL);
	if (ret == 0)
		ret = finish_write(bs);
	if (ret < 0) {
		img_error("Could not change the backing file to '%s': %s", nb, img_strerror(ret));
		goto out;
	}
	img_progress_end(&prog);
	status = 0;
	goto out;
io_err:
	img_error("error while rebasing at offset %" PRIu64 ": %s", off, img_strerror(ret));
out:
	if (newb)
		block_close(newb);
	if (bs)
		block_close(bs);
	free(b1);
	free(b2);
	return status;
}
