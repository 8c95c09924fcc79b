/* Helpers shared by vmm-img and vmm-io (see img_common.h): number and size
 * formats as qemu-img/qemu-io print them (qemu util/cutils.c size_to_str,
 * qemu-io cvtstr/timestr), opening images, -o lists, progress. */
#include "qcow2/tools/img_common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char *img_prog = "vmm-img";

void img_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", img_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int suffix_shift(char c)
{
	switch (c) {
	case 'b': case 'B': case '\0': return 0;
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	case 'p': case 'P': return 50;
	case 'e': case 'E': return 60;
	}
	return -1;
}

int img_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long ip;
	double frac = 0;
	int shift;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	ip = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (ip == 0 && (*end == 'x' || *end == 'X')) {
		/* qemu_strtosz: hexadecimal, with no fraction (a suffix is
		 * deprecated in QEMU 7.2 but still taken). */
		ip = strtoull(s, &end, 16);
		shift = errno || end == s + 2 ? -1 : suffix_shift(*end);
		if (shift < 0 || (*end && end[1]))
			return -EINVAL;
		if (shift && ip > (UINT64_MAX >> shift))
			return -ERANGE;
		*out = (uint64_t)ip << shift;
		return 0;
	}
	if (*end == '.') {
		char *fend;

		frac = strtod(end, &fend);
		if (fend == end + 1)
			return -EINVAL;
		end = fend;
	}
	shift = suffix_shift(*end);
	if (shift < 0 || (*end && end[1]))
		return -EINVAL;
	if (frac != 0 && shift == 0)
		return -EINVAL;      /* qemu: fractions need a unit */
	if (shift && ip > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = ((uint64_t)ip << shift) + (uint64_t)(frac * (double)(1ULL << shift));
	return 0;
}

int img_parse_int(const char *s, int64_t *out)
{
	uint64_t v;
	int ret;

	ret = img_parse_size(s, &v);
	if (ret < 0)
		return ret;
	if (v > INT64_MAX)
		return -ERANGE;
	*out = (int64_t)v;
	return 0;
}

int img_cvtnum(const char *name, const char *s, uint64_t max, uint64_t *out)
{
	int ret = img_parse_size(s, out);

	if (ret == -EINVAL) {
		img_error("Invalid %s specified. You may use k, M, G, T, P or E suffixes for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.",
			  name);
		return ret;
	}
	if (ret < 0 || *out > max) {
		img_error("Invalid %s specified. Must be between 0 and %llu.", name, (unsigned long long)max);
		return -ERANGE;
	}
	return 0;
}

int img_parse_ulong(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

void img_size_str(uint64_t val, char *buf, size_t size)
{
	static const char *const suffixes[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	int i;

	/* frexp: exponent - 1 is floor(log2(val * 1024 / 1000)), so the unit
	 * switches when the integer part reaches 1000 (qemu e41b509d68). */
	frexp((double)val / (1000.0 / 1024.0), &i);
	i = (i - 1) / 10;
	if (i < 0)
		i = 0;
	if (i > 6)
		i = 6;
	snprintf(buf, size, "%0.3g %sB", (double)val / (double)(1ULL << (i * 10)), suffixes[i]);
}

void img_cvtstr(double value, char *str, size_t size)
{
	static const char *const units[] = { " EiB", " PiB", " TiB", " GiB", " MiB", " KiB" };
	const char *suffix = " bytes";
	char *trim;
	int i;

	if (size < 8)
		return;
	for (i = 0; i < 6; i++) {
		double unit = ldexp(1.0, 10 * (6 - i));

		if (value >= unit) {
			suffix = units[i];
			snprintf(str, size - 4, "%.3f", value / unit);
			break;
		}
	}
	if (i == 6)
		snprintf(str, size - 6, "%f", value);
	trim = strstr(str, ".000");
	if (trim)
		strcpy(trim, suffix);
	else
		strcat(str, suffix);
}

void img_timestr(const struct timespec *t, char *ts, size_t size)
{
	double frac = t->tv_nsec / 1e9;
	unsigned long s = (unsigned long)t->tv_sec;

	if (s)
		snprintf(ts, size, "%lu:%02lu:%05.2f", s / 3600, (s / 60) % 60, (double)(s % 60) + frac);
	else
		snprintf(ts, size, "%05.2f sec", frac);
}

struct timespec img_time_sub(struct timespec a, struct timespec b)
{
	struct timespec r = { a.tv_sec - b.tv_sec, a.tv_nsec - b.tv_nsec };

	if (r.tv_nsec < 0) {
		r.tv_sec--;
		r.tv_nsec += 1000000000L;
	}
	return r;
}

static struct block_engine *engine;

static void engine_release(void)
{
	if (engine)
		block_engine_destroy(engine);
	engine = NULL;
}

struct block_engine *img_engine(void)
{
	if (!engine) {
		int ret = block_engine_create(&engine, 256, getenv("VMM_BLOCK_THREADS") != NULL);

		if (ret < 0)
			ret = block_engine_create(&engine, 256, 1);
		if (ret < 0) {
			img_error("cannot create the I/O engine: %s", strerror(-ret));
			exit(1);
		}
		atexit(engine_release);
	}
	return engine;
}

int img_parse_cache(const char *mode, struct block_open_opts *o)
{
	o->cache_direct = 0;
	o->no_flush = 0;
	if (!mode || !strcmp(mode, "writeback") || !strcmp(mode, "writethrough"))
		return 0;
	if (!strcmp(mode, "none") || !strcmp(mode, "off") || !strcmp(mode, "directsync")) {
		o->cache_direct = 1;
		return 0;
	}
	if (!strcmp(mode, "unsafe")) {
		o->no_flush = 1;
		return 0;
	}
	return -EINVAL;
}

const char *img_strerror(int err)
{
	if (err == -ENOTSUP)
		return "Operation not supported";
	return block_strerror(err);
}

int img_open(struct block_dev **out, const char *path, const char *fmt, int read_only,
	     const char *cache)
{
	struct block_open_opts o = { .format = fmt, .read_only = read_only };
	int probed_raw = 0, ret;

	if (img_parse_cache(cache, &o) < 0) {
		img_error("Invalid cache option: %s", cache);
		return -EINVAL;
	}
	if (fmt && !block_find_driver(fmt)) {
		img_error("Could not open '%s': Unknown driver '%s'", path, fmt);
		return -EINVAL;
	}
	ret = block_open(out, path, &o, img_engine(), &probed_raw);
	if (ret < 0) {
		img_error("Could not open '%s': %s", path,
			  ret == QCOW2_E_BAD_MAGIC ? "Image is not in qcow2 format" : img_strerror(ret));
		return ret;
	}
	return 0;
}

int img_is_qcow2(struct block_dev *bs)
{
	return bs && bs->drv && bs->drv->format && !strcmp(bs->drv->format, "qcow2");
}

int img_block_status(struct block_dev *bs, uint64_t off, uint64_t len, uint64_t *pnum,
		     uint64_t *host_off, int *flags)
{
	if (off >= bs->size || len == 0)
		return -EINVAL;
	if (len > bs->size - off)
		len = bs->size - off;
	{
		int ret = block_get_status(bs, off, len, pnum, host_off, flags);

		if (ret != -ENOTSUP)
			return ret;
	}
	/* No status from the driver: everything is data of this layer. */
	*pnum = len;
	*host_off = img_is_qcow2(bs) ? 0 : off;
	*flags = BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED;
	return 0;
}

int img_chain_status(struct block_dev *bs, uint64_t off, uint64_t len, uint64_t *pnum,
		     uint64_t *host_off, int *flags, int *depth, struct block_dev **layer)
{
	int d = 0, ret;

	if (len > bs->size - off)
		len = bs->size - off;
	for (;;) {
		uint64_t n;

		ret = img_block_status(bs, off, len, &n, host_off, flags);
		if (ret < 0)
			return ret;
		if (n < len)
			len = n;
		/* A raw layer answers for everything (holes read as zeroes); a
		 * format layer only where it allocated the range. */
		if ((*flags & BLOCK_STATUS_ALLOCATED) || !img_is_qcow2(bs)) {
			*flags |= BLOCK_STATUS_ALLOCATED;
			break;
		}
		if (!bs->backing || off >= bs->backing->size) {
			/* Nothing below: reads as zeroes, present nowhere. */
			*flags = BLOCK_STATUS_ZERO;
			*host_off = 0;
			break;
		}
		if (len > bs->backing->size - off)
			len = bs->backing->size - off;
		bs = bs->backing;
		d++;
	}
	*pnum = len;
	*depth = d;
	if (layer)
		*layer = bs;
	return 0;
}

int img_truncate(struct block_dev *bs, uint64_t size)
{
	return block_truncate(bs, size);
}

int img_opts_parse(struct img_opts *o, const char *s)
{
	const char *p = s;

	while (*p) {
		char *key = NULL, *val = NULL, *cur;
		size_t cap = strlen(p) + 1;
		struct img_opt *nv;

		cur = key = calloc(1, cap);
		if (!key)
			return -ENOMEM;
		for (; *p; p++) {
			if (*p == ',' && p[1] == ',') {
				*cur++ = ',';
				p++;
			} else if (*p == ',') {
				p++;
				break;
			} else if (*p == '=' && !val) {
				*cur++ = '\0';
				val = cur;
			} else {
				*cur++ = *p;
			}
		}
		nv = realloc(o->v, sizeof(*o->v) * (size_t)(o->n + 1));
		if (!nv) {
			free(key);
			return -ENOMEM;
		}
		o->v = nv;
		o->v[o->n].key = key;
		o->v[o->n].val = val ? val : NULL;
		o->v[o->n].used = 0;
		o->n++;
	}
	return 0;
}

const char *img_opts_get(struct img_opts *o, const char *key)
{
	const char *r = NULL;

	for (int i = 0; i < o->n; i++) {
		if (!strcmp(o->v[i].key, key)) {
			o->v[i].used = 1;
			r = o->v[i].val ? o->v[i].val : "on";
		}
	}
	return r;
}

const char *img_opts_unused(const struct img_opts *o)
{
	for (int i = 0; i < o->n; i++)
		if (!o->v[i].used)
			return o->v[i].key;
	return NULL;
}

void img_opts_free(struct img_opts *o)
{
	for (int i = 0; i < o->n; i++)
		free(o->v[i].key);
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

int img_parse_bool(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "yes"))
		return 1;
	if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "no"))
		return 0;
	return -1;
}

void img_progress_update(struct img_progress *p, double percent)
{
	if (!p->enabled)
		return;
	if (percent < 100.0 && percent - p->last < 1.0 && p->last >= 0)
		return;
	p->last = percent;
	printf("    (%3.2f/100%%)\r", percent);
	fflush(stdout);
}

void img_progress_end(struct img_progress *p)
{
	if (!p->enabled)
		return;
	p->last = -1;
	img_progress_update(p, 100.0);
	printf("\n");
}

int img_opts_append(char **optstr, const char *arg)
{
	char *n;

	if (asprintf(&n, "%s%s%s", *optstr ? *optstr : "", *optstr ? "," : "", arg) < 0)
		return -1;
	free(*optstr);
	*optstr = n;
	return 0;
}

int img_parse_output(const char *s, int *json)
{
	if (!strcmp(s, "json"))
		*json = 1;
	else if (!strcmp(s, "human"))
		*json = 0;
	else {
		img_error("--output must be used with human or json as argument.");
		return -1;
	}
	return 0;
}

void *img_alloc_buf(size_t len)
{
	void *p = NULL;

	if (len >= IMG_HUGE_PAGE / 2) {
		/* Whole transparent huge pages: a 1 MiB O_DIRECT transfer is then
		 * one physically contiguous segment instead of 256 pages, which a
		 * host disk with max_segments below 256 (virtio-blk: 254) would
		 * otherwise split into two requests. */
		size_t size = (len + IMG_HUGE_PAGE - 1) & ~(IMG_HUGE_PAGE - 1);

		if (posix_memalign(&p, IMG_HUGE_PAGE, size))
			return NULL;
		madvise(p, size, MADV_HUGEPAGE);
		return p;
	}
	if (posix_memalign(&p, 4096, len ? len : 1))
		return NULL;
	return p;
}
