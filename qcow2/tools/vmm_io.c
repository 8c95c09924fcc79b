/* vmm-io: qemu-io's command line and command set on vmm's block layer, for
 * tests and debugging: read/write/writev/readv with patterns, zero writes,
 * compressed writes, discard, flush, alloc, map, length, info, truncate,
 * open/close. Output lines and exit status as qemu-io 7.2 (qemu-io-cmds.c). */
#include "qcow2/tools/img_common.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 64

struct io_state {
	struct block_dev *bs;
	const char *fmt;
	const char *cache;
	int read_only;
};

static struct timespec now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

/* qemu-io's report; -C (cflag): "bytes,ops,H:MM:SS.cc,bytes/sec,ops/sec". */
static void print_report(const char *op, struct timespec t0, int64_t offset, int64_t total, int cnt,
			 int cflag)
{
	struct timespec t = img_time_sub(now(), t0);
	double secs = (double)t.tv_sec + t.tv_nsec / 1e9;
	char s1[64], s2[64], ts[64];

	if (secs <= 0)
		secs = 1e-9;
	if (cflag) {
		unsigned long s = (unsigned long)t.tv_sec;

		printf("%" PRId64 ",%d,%lu:%02lu:%05.2f,%.3f,%.3f\n", total, cnt, s / 3600, (s / 60) % 60,
		       (double)(s % 60) + t.tv_nsec / 1e9, (double)total / secs, (double)cnt / secs);
		return;
	}
	img_timestr(&t, ts, sizeof(ts));
	img_cvtstr((double)total, s1, sizeof(s1));
	img_cvtstr((double)total / secs, s2, sizeof(s2));
	printf("%s %" PRId64 "/%" PRId64 " bytes at offset %" PRId64 "\n", op, total, total, offset);
	printf("%s, %d ops; %s (%s/sec and %.4f ops/sec)\n", s1, cnt, ts, s2, (double)cnt / secs);
}

static void dump_buffer(const uint8_t *p, int64_t offset, int64_t len)
{
	for (int64_t i = 0; i < len; i += 16) {
		int j;

		printf("%08" PRIx64 ":  ", (uint64_t)(offset + i));
		for (j = 0; j < 16 && i + j < len; j++)
			printf("%02x ", p[i + j]);
		printf(" ");
		for (j = 0; j < 16 && i + j < len; j++)
			putchar(isalnum(p[i + j]) ? p[i + j] : '.');
		printf("\n");
	}
}

static void usage_line(const char *cmd);

/* qemu-io's getopt: glibc's own "cmd: invalid option" line on stderr, then
 * the command's usage line on stdout. */
static int bad_option(const char *cmd)
{
	usage_line(cmd);
	return -EINVAL;
}

static int parse_num(const char *s, int64_t *out)
{
	if (img_parse_int(s, out) < 0) {
		printf("Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- %s\n", s);
		return -EINVAL;
	}
	return 0;
}

static int parse_pattern(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 0);

	if (!*s || *end || v < 0 || v > 255) {
		printf("%s is not a valid pattern byte\n", s);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static int need_open(struct io_state *st)
{
	if (!st->bs) {
		fprintf(stderr, "no file open, try 'help open'\n");
		return -EINVAL;
	}
	return 0;
}

/* qemu's block layer answers requests past the end with EIO. */
static int in_range(struct io_state *st, int64_t off, int64_t len)
{
	return off >= 0 && len >= 0 && (uint64_t)off <= st->bs->size && (uint64_t)len <= st->bs->size - (uint64_t)off;
}

/* The operands after the options: "OFF LEN" (vectored: "OFF LEN..."), the
 * offset and the total length; prints qemu-io's error for a wrong count. */
static int parse_off_len(int argc, char **argv, int vectored, int64_t *off, int64_t *len)
{
	if (argc - optind < 2 || (!vectored && argc - optind != 2))
		return bad_option(argv[0]);
	if (parse_num(argv[optind], off) < 0)
		return -EINVAL;
	*len = 0;
	for (int i = optind + 1; i < argc; i++) {
		int64_t l;

		if (parse_num(argv[i], &l) < 0)
			return -EINVAL;
		*len += l;
	}
	return 0;
}

static int cmd_read(struct io_state *st, int argc, char **argv, int vectored)
{
	int64_t off, len, poff = 0, plen = -1;
	int pattern = -1, verbose = 0, quiet = 0, cflag = 0, vmstate = 0, sl = 0, c, ret;
	uint8_t *buf;
	struct timespec t0;

	optind = 0;
	opterr = 1;
	while ((c = getopt(argc, argv, vectored ? "CqvP:" : "bCqvP:s:l:")) != -1) {
		switch (c) {
		case 'P': if (parse_pattern(optarg, &pattern) < 0) return -EINVAL; break;
		case 'v': verbose = 1; break;
		case 'q': quiet = 1; break;
		case 'C': cflag = 1; break;
		case 'b': vmstate = 1; break;
		case 's': if (parse_num(optarg, &poff) < 0) return -EINVAL; sl = 1; break;
		case 'l': if (parse_num(optarg, &plen) < 0) return -EINVAL; sl = 1; break;
		default: return bad_option(argv[0]);
		}
	}
	if (need_open(st) < 0)
		return -EINVAL;
	if (sl && pattern < 0)      /* -s/-l only go with -P */
		return bad_option(argv[0]);
	if (parse_off_len(argc, argv, vectored, &off, &len) < 0)
		return -EINVAL;
	if (plen < 0)
		plen = len - poff;
	if (poff < 0 || plen < 0 || poff + plen > len) {
		printf("pattern verification range exceeds end of read data\n");
		return -EINVAL;
	}
	buf = img_alloc_buf((size_t)len);
	if (!buf)
		return -ENOMEM;
	t0 = now();
	/* -b: the VM state area, which the driver does not expose. */
	ret = vmstate ? -ENOTSUP : in_range(st, off, len) ? block_pread_sync(st->bs, (uint64_t)off, buf, (size_t)len) : -EIO;
	if (ret < 0) {
		printf("read failed: %s\n", strerror(-ret == EINVAL ? EIO : -ret));
		free(buf);
		return ret;
	}
	if (pattern >= 0) {
		for (int64_t i = poff; i < poff + plen; i++) {
			if (buf[i] != pattern) {
				printf("Pattern verification failed at offset %" PRId64 ", %" PRId64 " bytes\n",
				       off + poff, plen);
				ret = -EINVAL;
				break;
			}
		}
	}
	if (!quiet) {
		if (verbose)
			dump_buffer(buf, off, len);
		print_report("read", t0, off, len, 1, cflag);
	}
	free(buf);
	return ret;
}

/* qemu-io write -s FILE: the file's bytes, repeated to fill len. */
static int fill_from_file(uint8_t *buf, size_t len, const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, len, f);
	if (ferror(f) || !n) {
		if (ferror(f))
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
		else
			fprintf(stderr, "%s: file is empty\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	for (size_t o = n; o < len; o += n)
		memcpy(buf + o, buf, len - o < n ? len - o : n);
	return 0;
}

static int cmd_write(struct io_state *st, int argc, char **argv, int vectored)
{
	int64_t off, len;
	int pattern = 0xcd, zero = 0, unmap = 0, compressed = 0, quiet = 0, pflag = 0, cflag = 0, c, ret;
	int nofallback = 0, vmstate = 0;
	const char *source = NULL;
	uint8_t *buf = NULL;
	struct timespec t0;

	optind = 0;
	opterr = 1;
	while ((c = getopt(argc, argv, vectored ? "CfqP:" : "bcCfnquzP:s:")) != -1) {
		switch (c) {
		case 'P': if (parse_pattern(optarg, &pattern) < 0) return -EINVAL; pflag = 1; break;
		case 'z': zero = 1; break;
		case 'u': unmap = 1; break;
		case 'c': compressed = 1; break;
		case 'q': quiet = 1; break;
		case 'C': cflag = 1; break;
		case 'n': nofallback = 1; break;
		case 'b': vmstate = 1; break;
		case 's': source = optarg; break;
		case 'f': break;
		default: return bad_option(argv[0]);
		}
	}
	if (need_open(st) < 0)
		return -EINVAL;
	/* qemu-io's checks, in its order (-z with -c is a zero write). */
	if (argc - optind < 2 || (!vectored && argc - optind != 2))
		return bad_option(argv[0]);
	if (vmstate && zero) {
		printf("-b and -z cannot be specified at the same time\n");
		return -EINVAL;
	}
	if (zero + pflag + !!source > 1) {
		printf("Only one of -z, -P, and -s can be specified at the same time\n");
		return -EINVAL;
	}
	if (nofallback && !zero) {
		printf("-n requires -z to be specified\n");
		return -EINVAL;
	}
	if (unmap && !zero) {
		printf("-u requires -z to be specified\n");
		return -EINVAL;
	}
	if (parse_off_len(argc, argv, vectored, &off, &len) < 0)
		return -EINVAL;
	if (!zero) {
		buf = img_alloc_buf((size_t)len);
		if (!buf)
			return -ENOMEM;
		memset(buf, pattern, (size_t)len);
		if (source && fill_from_file(buf, (size_t)len, source) < 0) {
			free(buf);
			return -EINVAL;
		}
	}
	t0 = now();
	if (vmstate)
		ret = -ENOTSUP;
	else if (!in_range(st, off, len))
		ret = -EIO;
	else if (st->read_only)
		ret = -EACCES;
	else if (zero)
		ret = block_write_zeroes_sync(st->bs, (uint64_t)off, (uint64_t)len, unmap);
	else if (compressed)
		ret = img_is_qcow2(st->bs) ? qcow2_write_compressed(st->bs, (uint64_t)off, buf, (size_t)len) : -ENOTSUP;
	else
		ret = block_pwrite_sync(st->bs, (uint64_t)off, buf, (size_t)len);
	free(buf);
	if (ret < 0) {
		printf("write failed: %s\n", img_strerror(ret == -EINVAL ? -EIO : ret));
		return ret;
	}
	if (!quiet)
		print_report("wrote", t0, off, len, 1, cflag);
	return 0;
}

static int two_numbers(struct io_state *st, int argc, char **argv, int64_t *off, int64_t *len)
{
	if (need_open(st) < 0)
		return -EINVAL;
	if (argc - optind != 2)
		return bad_option(argv[0]);
	if (parse_num(argv[optind], off) < 0 || parse_num(argv[optind + 1], len) < 0)
		return -EINVAL;
	return 0;
}

static int cmd_discard(struct io_state *st, int argc, char **argv)
{
	int64_t off, len;
	int quiet = 0, cflag = 0, c, ret;
	struct timespec t0;

	optind = 0;
	opterr = 1;
	while ((c = getopt(argc, argv, "Cq")) != -1) {
		if (c == 'q')
			quiet = 1;
		else if (c == 'C')
			cflag = 1;
		else
			return bad_option(argv[0]);
	}
	if (two_numbers(st, argc, argv, &off, &len) < 0)
		return -EINVAL;
	t0 = now();
	ret = in_range(st, off, len) ? block_discard_sync(st->bs, (uint64_t)off, (uint64_t)len) : -EIO;
	if (ret < 0) {
		printf("discard failed: %s\n", img_strerror(ret));
		return ret;
	}
	if (!quiet)
		print_report("discard", t0, off, len, 1, cflag);
	return 0;
}

/* qemu-io's bdrv_is_allocated(): the open image's own layer only (a raw
 * image is allocated everywhere); *pnum 0 at or past the end. */
static int top_allocated(struct io_state *st, uint64_t off, uint64_t len, uint64_t *pnum)
{
	uint64_t host;
	int flags, ret;

	if (off >= st->bs->size) {
		*pnum = 0;
		return 0;
	}
	len = len < st->bs->size - off ? len : st->bs->size - off;
	if (!img_is_qcow2(st->bs)) {
		*pnum = len;
		return 1;
	}
	ret = img_block_status(st->bs, off, len, pnum, &host, &flags);
	if (ret < 0)
		return ret;
	return !!(flags & BLOCK_STATUS_ALLOCATED);
}

static int cmd_alloc(struct io_state *st, int argc, char **argv)
{
	int64_t off, count = 512, remaining, sum = 0;
	char s1[64];

	if (parse_num(argv[1], &off) < 0 || (argc == 3 && parse_num(argv[2], &count) < 0))
		return -EINVAL;
	remaining = count;
	while (remaining > 0) {
		uint64_t pnum;
		int ret = top_allocated(st, (uint64_t)(off + count - remaining), (uint64_t)remaining, &pnum);

		if (ret < 0) {
			printf("is_allocated failed: %s\n", img_strerror(ret));
			return ret;
		}
		if (ret)
			sum += (int64_t)pnum;
		remaining -= (int64_t)pnum;
		if (!pnum) {    /* past the end: count what exists */
			count -= remaining;
			remaining = 0;
		}
	}
	img_cvtstr((double)off, s1, sizeof(s1));
	printf("%" PRId64 "/%" PRId64 " bytes allocated at offset %s\n", sum, count, s1);
	return 0;
}

static int cmd_map(struct io_state *st)
{
	uint64_t off = 0, size = st->bs->size;
	int cur = -1;
	uint64_t start = 0;

	while (off <= size) {
		uint64_t pnum = 0;
		int alloc = -1;

		if (off < size) {
			alloc = top_allocated(st, off, size - off, &pnum);
			if (alloc < 0) {
				printf("map failed: %s\n", img_strerror(alloc));
				return alloc;
			}
		}
		if (cur >= 0 && alloc != cur) {
			char s1[64], s2[64];

			img_cvtstr((double)(off - start), s1, sizeof(s1));
			img_cvtstr((double)start, s2, sizeof(s2));
			printf("%s (0x%" PRIx64 ") bytes %s allocated at offset %s (0x%" PRIx64 ")\n", s1, off - start,
			       cur ? "   " : "not", s2, start);
			start = off;
		}
		cur = alloc;
		if (off == size)
			break;
		off += pnum;
	}
	return 0;
}

static int cmd_info(struct io_state *st)
{
	char s1[64], s2[64];
	struct qcow2_info qi;

	if (need_open(st) < 0)
		return -EINVAL;
	printf("format name: %s\n", st->bs->drv->format);
	if (!img_is_qcow2(st->bs)) {
		printf("cluster size: 0 bytes\nvm state offset: 0 bytes\n");
		return 0;
	}
	if (qcow2_get_info(st->bs, &qi) < 0)
		return -EIO;
	img_cvtstr(qi.cluster_size, s1, sizeof(s1));
	{
		/* The VM state lives past the last L1 entry's coverage (qcow2_vm_state_offset). */
		uint64_t cover = (uint64_t)qi.cluster_size * (qi.cluster_size / (qi.extended_l2 ? 16 : 8));

		img_cvtstr((double)((st->bs->size + cover - 1) / cover * cover), s2, sizeof(s2));
	}
	printf("cluster size: %s\nvm state offset: %s\n", s1, s2);
	printf("Format specific information:\n    compat: %s\n", qi.version == 2 ? "0.10" : "1.1");
	if (qi.version >= 3) {
		printf("    compression type: %s\n", qi.compression_type ? qi.compression_type : "zlib");
		printf("    lazy refcounts: %s\n", qi.lazy_refcounts ? "true" : "false");
	}
	printf("    refcount bits: %u\n", qi.refcount_bits);
	if (qi.data_file)
		printf("    data file: %s\n    data file raw: false\n", qi.data_file);
	printf("    corrupt: %s\n", qi.corrupt ? "true" : "false");
	if (qi.version >= 3)
		printf("    extended l2: %s\n", qi.extended_l2 ? "true" : "false");
	return 0;
}

static int do_open(struct io_state *st, const char *path, const char *fmt, int read_only, const char *cache)
{
	struct block_open_opts o = { .format = fmt, .read_only = read_only };
	int ret;

	if (st->bs) {
		printf("file open already, try 'help close'\n");
		return -EBUSY;
	}
	if (img_parse_cache(cache, &o) < 0) {
		img_error("Invalid cache option: %s", cache);
		return -EINVAL;
	}
	if (fmt && !block_find_driver(fmt)) {
		img_error("can't open device %s: Unknown driver '%s'", path, fmt);
		return -EINVAL;
	}
	ret = block_open(&st->bs, path, &o, img_engine(), NULL);
	if (ret < 0) {
		st->bs = NULL;
		if (ret == QCOW2_E_BAD_MAGIC)   /* the format's own refusal: no file-level prefix */
			img_error("can't open device %s: Image is not in qcow2 format", path);
		else
			img_error("can't open device %s: Could not open '%s': %s", path, path, img_strerror(ret));
		return ret;
	}
	st->read_only = read_only;
	return 0;
}

static void do_close(struct io_state *st)
{
	if (!st->bs)
		return;
	if (!st->read_only) {
		block_flush_sync(st->bs);
		if (img_is_qcow2(st->bs))
			qcow2_flush_metadata(st->bs);
	}
	block_close(st->bs);
	st->bs = NULL;
}

static int cmd_open(struct io_state *st, int argc, char **argv)
{
	const char *cache = st->cache, *fmt = st->fmt;
	int ro = 0, c;

	optind = 0;
	opterr = 1;
	while ((c = getopt(argc, argv, "rsCnkUt:d:o:f:")) != -1) {
		switch (c) {
		case 'r': ro = 1; break;
		case 'n': cache = "none"; break;
		case 't': cache = optarg; break;
		case 'f': fmt = optarg; break;
		case 'o':
			if (!strncmp(optarg, "driver=", 7))
				fmt = optarg + 7;
			break;
		case 's': case 'C': case 'k': case 'U': case 'd': break;
		default: return bad_option(argv[0]);
		}
	}
	if (argc - optind != 1)
		return bad_option(argv[0]);
	return do_open(st, argv[optind], fmt, ro, cache);
}

static int cmd_truncate(struct io_state *st, int argc, char **argv)
{
	int64_t size;
	int ret;

	if (argc != 2 && !(argc == 4 && !strcmp(argv[1], "-m")))
		return bad_option(argv[0]);
	if (parse_num(argv[argc - 1], &size) < 0)
		return -EINVAL;
	ret = img_truncate(st->bs, (uint64_t)size);
	if (ret < 0) {
		printf("truncate: %s\n", img_strerror(ret));
		return ret;
	}
	return 0;
}

static const char *const help_lines[] = {
	"abort -- simulate a program crash using abort(3)",
	"aio_flush -- completes all outstanding aio requests",
	"alloc offset [count] -- checks if offset is allocated in the file",
	"close -- close the current open file",
	"discard [-Cq] off len -- discards a number of bytes at a specified offset",
	"flush -- flush all in-core file state to disk",
	"help [command] -- help for one or all commands",
	"info -- prints information about the current file",
	"length -- gets the length of the current file",
	"map  -- prints the allocated areas of a file",
	"open [-rsCnkU] [-t cache] [-d discard] [-o options] [path] -- open the file specified by path",
	"quit -- exit the program",
	"read [-abCqv] [-P pattern [-s off] [-l len]] off len -- reads a number of bytes at a specified offset",
	"readv [-Cqv] [-P pattern] off len [len..] -- reads a number of bytes at a specified offset",
	"sigraise signal -- raises a signal",
	"sleep -- waits for the given value in milliseconds",
	"truncate [-m prealloc_mode] off -- truncates the current file at the given offset",
	"write [-bcCfnquz] [-P pattern | -s source_file] off len -- writes a number of bytes at a specified offset",
	"writev [-Cfq] [-P pattern] off len [len..] -- writes a number of bytes at a specified offset",
};

static void usage_line(const char *cmd)
{
	size_t n = strlen(cmd);

	for (size_t i = 0; i < sizeof(help_lines) / sizeof(help_lines[0]); i++)
		if (!strncmp(help_lines[i], cmd, n) && help_lines[i][n] == ' ')
			printf("%s\n", help_lines[i]);
}

/* qemu-io's command table: the checks command() makes before running one
 * (an open file unless nofile, argument count, write permission). */
struct io_cmd {
	const char *name, *alias;
	int argmin, argmax, nofile, write;
};
static const struct io_cmd io_cmds[] = {
	{ "read", "r", 2, -1, 0, 0 },  { "readv", NULL, 2, -1, 0, 0 },  { "write", "w", 2, -1, 0, 1 },
	{ "writev", NULL, 2, -1, 0, 1 }, { "discard", "d", 2, -1, 0, 1 }, { "alloc", NULL, 1, 2, 0, 0 },
	{ "map", NULL, 0, 0, 0, 0 },   { "info", "i", 0, 0, 0, 0 },    { "open", "o", 1, -1, 1, 0 },
	{ "truncate", "t", 1, 3, 0, 1 }, { "close", "c", 0, 0, 0, 0 },  { "quit", "q", 0, -1, 1, 0 },
	{ "exit", NULL, 0, -1, 1, 0 }, { "help", "?", 0, 1, 1, 0 },    { "abort", NULL, 0, 0, 1, 0 },
	{ "sigraise", NULL, 1, 1, 1, 0 }, { "sleep", NULL, 1, 1, 1, 0 }, { "length", "l", 0, 0, 0, 0 },
	{ "flush", "f", 0, 0, 0, 0 },  { "aio_flush", NULL, 0, 0, 0, 0 },
};

/* 0 when the command may run; else its message is out and -EINVAL. */
static int check_command(struct io_state *st, int argc, char **argv)
{
	const struct io_cmd *ct = NULL;

	for (size_t i = 0; i < sizeof(io_cmds) / sizeof(io_cmds[0]) && !ct; i++)
		if (!strcmp(argv[0], io_cmds[i].name) || (io_cmds[i].alias && !strcmp(argv[0], io_cmds[i].alias)))
			ct = &io_cmds[i];
	if (!ct) {
		fprintf(stderr, "command \"%s\" not found\n", argv[0]);
		return -EINVAL;
	}
	if (!ct->nofile && need_open(st) < 0)
		return -EINVAL;
	if (argc - 1 < ct->argmin || (ct->argmax != -1 && argc - 1 > ct->argmax)) {
		fprintf(stderr, "bad argument count %d to %s, expected ", argc - 1, argv[0]);
		if (ct->argmax == -1)
			fprintf(stderr, "at least %d arguments\n", ct->argmin);
		else if (ct->argmin == ct->argmax)
			fprintf(stderr, "%d arguments\n", ct->argmin);
		else
			fprintf(stderr, "between %d and %d arguments\n", ct->argmin, ct->argmax);
		return -EINVAL;
	}
	if (ct->write && st->read_only) {
		img_error("Block node is read-only");
		return -EINVAL;
	}
	return 0;
}

/* Runs one command line; returns 0, a negative code, or 1 for quit. */
static int run_command(struct io_state *st, char *line)
{
	char *argv[MAX_ARGS + 1], *save = NULL, *tok;
	int argc = 0, ret;

	for (tok = strtok_r(line, " \t\n", &save); tok && argc < MAX_ARGS; tok = strtok_r(NULL, " \t\n", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	if (!argc)
		return 0;
	if (check_command(st, argc, argv) < 0)
		return -EINVAL;
	if (!strcmp(argv[0], "read") || !strcmp(argv[0], "r"))
		return cmd_read(st, argc, argv, 0);
	if (!strcmp(argv[0], "readv"))
		return cmd_read(st, argc, argv, 1);
	if (!strcmp(argv[0], "write") || !strcmp(argv[0], "w"))
		return cmd_write(st, argc, argv, 0);
	if (!strcmp(argv[0], "writev"))
		return cmd_write(st, argc, argv, 1);
	if (!strcmp(argv[0], "discard") || !strcmp(argv[0], "d"))
		return cmd_discard(st, argc, argv);
	if (!strcmp(argv[0], "alloc"))
		return cmd_alloc(st, argc, argv);
	if (!strcmp(argv[0], "map"))
		return cmd_map(st);
	if (!strcmp(argv[0], "info") || !strcmp(argv[0], "i"))
		return cmd_info(st);
	if (!strcmp(argv[0], "open") || !strcmp(argv[0], "o"))
		return cmd_open(st, argc, argv);
	if (!strcmp(argv[0], "truncate") || !strcmp(argv[0], "t"))
		return cmd_truncate(st, argc, argv);
	if (!strcmp(argv[0], "close") || !strcmp(argv[0], "c")) {
		do_close(st);
		return 0;
	}
	if (!strcmp(argv[0], "quit") || !strcmp(argv[0], "q") || !strcmp(argv[0], "exit"))
		return 1;
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "?")) {
		if (argc == 2) {
			usage_line(argv[1]);
			return 0;
		}
		for (size_t i = 0; i < sizeof(help_lines) / sizeof(help_lines[0]); i++)
			printf("%s\n", help_lines[i]);
		printf("\nUse 'help commandname' for extended help.\n");
		return 0;
	}
	/* As qemu-io: end without closing the image (crash tests). */
	if (!strcmp(argv[0], "abort")) {
		fflush(stdout);
		abort();
	}
	if (!strcmp(argv[0], "sigraise")) {
		int64_t sig;

		if (parse_num(argv[1], &sig) < 0)
			return -EINVAL;
		if (sig > NSIG) {
			printf("signal argument '%s' is too large to be a valid signal\n", argv[1]);
			return -EINVAL;
		}
		fflush(stdout);
		raise((int)sig);
		return 0;
	}
	if (!strcmp(argv[0], "sleep")) {
		int64_t ms;

		if (argc != 2 || parse_num(argv[1], &ms) < 0)
			return -EINVAL;
		usleep((useconds_t)ms * 1000);
		return 0;
	}
	if (!strcmp(argv[0], "length") || !strcmp(argv[0], "l")) {
		char s[64];

		img_cvtstr((double)st->bs->size, s, sizeof(s));
		printf("%s\n", s);
		return 0;
	}
	if (!strcmp(argv[0], "flush") || !strcmp(argv[0], "f") || !strcmp(argv[0], "aio_flush")) {
		ret = block_flush_sync(st->bs);
		if (ret == 0 && !st->read_only && img_is_qcow2(st->bs))
			ret = qcow2_flush_metadata(st->bs);
		if (ret < 0)
			printf("flush failed: %s\n", img_strerror(ret));
		return ret;
	}
	return -EINVAL;
}

static void usage(void)
{
	printf("Usage: vmm-io [OPTIONS]... [-c STRING]... [file]\n"
	       "vmm-io -- the vmm disk exerciser (qemu-io compatible)\n\n"
	       "  -c, --cmd STRING     execute command with its arguments from the given string\n"
	       "  -f, --format FMT     specifies the block driver to use (raw, qcow2)\n"
	       "  -r, --read-only      export read-only\n"
	       "  -n, --nocache        disable host cache, short for -t none\n"
	       "  -t, --cache=MODE     use the given cache mode for the image\n"
	       "  -h, --help           display this help and exit\n"
	       "  -V, --version        output version information and exit\n\n"
	       "See 'vmm-io -c help' for information on available commands.\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "cmd", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "nocache", no_argument, NULL, 'n' },
		{ "cache", required_argument, NULL, 't' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	struct io_state st = { 0 };
	char **cmds;
	int ncmds = 0, c, ro = 0, failed = 0;

	img_prog = "vmm-io";
	cmds = calloc((size_t)argc, sizeof(*cmds));
	if (!cmds)
		return 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:f:rnt:hVUsCkm:d:i:", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': cmds[ncmds++] = optarg; break;
		case 'f': st.fmt = optarg; break;
		case 'r': ro = 1; break;
		case 'n': st.cache = "none"; break;
		case 't': st.cache = optarg; break;
		case 'h': usage(); free(cmds); return 0;
		case 'V': printf("vmm-io version 0.1 (qemu-io 7.2 compatible)\n"); free(cmds); return 0;
		case 'U': case 's': case 'C': case 'k': case 'm': case 'd': case 'i': break;
		case ':':
			img_error("option requires an argument -- '%s' (try 'vmm-io --help')", argv[optind - 1]);
			free(cmds);
			return 1;
		default:
			if (optopt)
				img_error("invalid option -- '%c' (try 'vmm-io --help')", optopt);
			else
				img_error("unrecognized option '%s' (try 'vmm-io --help')", argv[optind - 1]);
			free(cmds);
			return 1;
		}
	}
	if (argc - optind > 1) {
		img_error("too many arguments (try 'vmm-io --help')");
		free(cmds);
		return 1;
	}
	if (optind < argc && do_open(&st, argv[optind], st.fmt, ro, st.cache) < 0) {
		free(cmds);
		return 1;
	}
	for (int i = 0; i < ncmds; i++) {
		char *line = strdup(cmds[i]);
		int ret;

		if (!line)
			break;
		ret = run_command(&st, line);
		free(line);
		fflush(stdout);
		if (ret < 0)
			failed = 1;
		if (ret == 1)
			break;
	}
	if (!ncmds) {
		char line[4096];

		for (;;) {
			int ret;

			printf("vmm-io> ");     /* qemu-io prompts even when stdin is no terminal */
			fflush(stdout);
			if (!fgets(line, sizeof(line), stdin))
				break;
			ret = run_command(&st, line);
			fflush(stdout);
			if (ret < 0)
				failed = 1;
			if (ret == 1)
				break;
		}
	}
	do_close(&st);
	free(cmds);
	return failed;
}
