/* vmm-img: qemu-img's command line, options, output and exit codes on vmm's
 * block layer and qcow2 driver. This file: dispatch, help, and the metadata
 * commands create, info, check and snapshot (qemu-img.c, qemu docs/tools/
 * qemu-img.rst; field names of qapi/block-core.json ImageInfo/ImageCheck). */
#include "qcow2/tools/img_common.h"
#include "qcow2/tools/vmm_img.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VMM_IMG_VERSION "vmm-img version 0.1 (qemu-img 7.2 compatible)"

struct img_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *syntax;
};

static const struct img_command commands[] = {
	{ "bench", img_cmd_bench, "bench [-c count] [-d depth] [-f fmt] [-i aio] [-n] [-o offset] [--pattern=pattern] [-q] [-s buffer_size] [-S step_size] [-t cache] [-w] filename" },
	{ "check", img_cmd_check, "check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] filename" },
	{ "commit", img_cmd_commit, "commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p] filename" },
	{ "compare", img_cmd_compare, "compare [-f fmt] [-F fmt] [-p] [-q] [-s] filename1 filename2" },
	{ "convert", img_cmd_convert, "convert [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] [-l snapshot_param] [-S sparse_size] filename [filename2 [...]] output_filename" },
	{ "create", img_cmd_create, "create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]" },
	{ "info", img_cmd_info, "info [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename" },
	{ "map", img_cmd_map, "map [-f fmt] [--start-offset=offset] [--max-length=len] [--output=ofmt] [-U] filename" },
	{ "snapshot", img_cmd_snapshot, "snapshot [-q] [-l | -a snapshot | -c snapshot | -d snapshot] filename" },
	{ "rebase", img_cmd_rebase, "rebase [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] -b backing_file [-F backing_fmt] filename" },
	{ "resize", img_cmd_resize, "resize [-f fmt] [--preallocation=prealloc] [-q] [--shrink] filename [+ | -]size" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void help(void)
{
	printf("%s\n"
	       "usage: vmm-img [standard options] command [command options]\n"
	       "vmm disk image utility (qemu-img compatible)\n\n"
	       "    '-h', '--help'       display this help and exit\n"
	       "    '-V', '--version'    output version information and exit\n\n"
	       "Command syntax:\n", VMM_IMG_VERSION);
	for (size_t i = 0; i < N_COMMANDS; i++)
		printf("  %s\n", commands[i].syntax);
	printf("\nCommand parameters:\n"
	       "  'filename' is a disk image filename\n"
	       "  'fmt' is the disk image format (raw or qcow2). It is guessed automatically in most cases\n"
	       "  'cache' is the cache mode: 'none', 'writeback' (default), 'writethrough',\n"
	       "    'directsync' and 'unsafe'\n"
	       "  'size' is the disk image size in bytes. Optional suffixes 'k' or 'K' (1024),\n"
	       "    'M', 'G', 'T', 'P' and 'E' are supported. 'b' is ignored.\n"
	       "  'options' is a comma separated list of format specific options in a\n"
	       "    name=value format. Use -o help for an overview of the options\n"
	       "  '-c' indicates that target image must be compressed (qcow2 only)\n"
	       "  '-u' allows unsafe backing chains\n"
	       "  '-p' show progress of command (only certain commands)\n"
	       "  '-q' use Quiet mode - do not print any output (except errors)\n"
	       "  '-S' bytes of zeroes that make a hole in the target during conversion (default 4k)\n"
	       "  '--output' takes the format in which the output must be done (human or json)\n"
	       "  '-n' skips the target volume creation\n\n"
	       "Supported formats: raw qcow2\n");
}

void img_cmd_usage(const char *cmd)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, cmd))
			printf("Usage: vmm-img %s\n", commands[i].syntax);
}

int img_bad_usage(const char *cmd, const char *what)
{
	img_error("%s (try 'vmm-img %s --help')", what, cmd);
	return 1;
}

int img_open_operand(const char *cmd, int argc, char **argv, struct block_dev **bs, const char *fmt,
		     int read_only, const char *cache)
{
	if (optind != argc - 1)
		return img_bad_usage(cmd, "Expecting one image file name");
	return img_open(bs, argv[optind], fmt, read_only, cache) < 0 ? 1 : 0;
}

int img_bad_option(const char *cmd, char **argv, int missing_arg)
{
	/* qemu-img's words; like it, name the argument getopt stopped at. */
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (missing_arg)
		img_error("missing argument for option '%s' (try 'vmm-img %s --help')", arg, cmd);
	else
		img_error("unrecognized option '%s' (try 'vmm-img %s --help')", arg, cmd);
	return 1;
}

int img_report_option(const char *cmd, int c, char **argv, const char **fmt, int *json)
{
	switch (c) {
	case 'f': *fmt = optarg; return 0;
	case 'U': return 0;
	case 'O': return img_parse_output(optarg, json) < 0 ? 1 : 0;
	case ':': return img_bad_option(cmd, argv, 1);
	case '?': return img_bad_option(cmd, argv, 0);
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *cmd;

	img_prog = "vmm-img";
	if (argc < 2) {
		img_error("Not enough arguments (try 'vmm-img --help')");
		return 1;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		help();
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("%s\n", VMM_IMG_VERSION);
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i].name, cmd))
			continue;
		for (int a = 2; a < argc && strcmp(argv[a], "--"); a++) {
			if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
				img_cmd_usage(cmd);
				return 0;
			}
		}
		return commands[i].fn(argc - 1, argv + 1);
	}
	if (cmd[0] == '-')
		img_error("unrecognized option '%s' (try 'vmm-img --help')", cmd);
	else
		img_error("Command not found: %s (try 'vmm-img --help')", cmd);
	return 1;
}

/* --- create */

static void create_help(const char *fmt)
{
	printf("Supported options:\n  size=<size>            - Virtual disk size\n");
	if (fmt && !strcmp(fmt, "qcow2"))
		printf("  backing_file=<str>     - File name of a base image\n"
		       "  backing_fmt=<str>      - Image format of the base image\n"
		       "  cluster_size=<size>    - qcow2 cluster size (512..2M, default 64k)\n"
		       "  compat=<str>           - Compatibility level (v2 [0.10], v3 [1.1])\n"
		       "  compression_type=<str> - zlib or zstd\n"
		       "  data_file=<str>        - File name of an external data file\n"
		       "  data_file_raw=<bool (on/off)> - The external data file must stay valid as a raw image\n"
		       "  extended_l2=<bool (on/off)> - Extended L2 tables\n"
		       "  lazy_refcounts=<bool (on/off)> - Postpone refcount updates\n"
		       "  preallocation=<str>    - Preallocation mode (allowed values: off, metadata, falloc, full)\n"
		       "  refcount_bits=<num>    - Width of a reference count entry in bits\n");
	else
		printf("  preallocation=<str>    - Preallocation mode (allowed values: off, falloc, full)\n");
}

/* The backing file name is relative to the image's directory (qemu's rule). */
char *img_backing_path(const char *image, const char *backing)
{
	char *dup, *dir, *out;

	if (backing[0] == '/')
		return strdup(backing);
	dup = strdup(image);
	if (!dup)
		return NULL;
	dir = dirname(dup);
	if (!strcmp(dir, "."))
		out = strdup(backing);
	else if (asprintf(&out, "%s/%s", dir, backing) < 0)
		out = NULL;
	free(dup);
	return out;
}

static int create_raw(const char *path, uint64_t size, const char *prealloc)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		ret = -errno;
	if (!ret && prealloc && !strcmp(prealloc, "falloc") && size &&
	    posix_fallocate(fd, 0, (off_t)size))
		ret = -EIO;
	if (!ret && prealloc && !strcmp(prealloc, "full")) {
		static const char zero[65536];

		for (uint64_t o = 0; o < size && !ret;) {
			size_t n = size - o < sizeof(zero) ? (size_t)(size - o) : sizeof(zero);
			ssize_t w = pwrite(fd, zero, n, (off_t)o);

			if (w <= 0)
				ret = w < 0 ? -errno : -EIO;
			else
				o += (uint64_t)w;
		}
	}
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

static int parse_u(const char *s, unsigned *out)
{
	uint64_t v;

	if (img_parse_size(s, &v) < 0 || v > UINT32_MAX)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int img_cmd_create(int argc, char **argv)
{
	static const struct option lopts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *fmt = "raw", *backing = NULL, *backing_fmt = NULL, *path;
	char *optstr = NULL;
	uint64_t size = 0;
	int have_size = 0, unsafe = 0, quiet = 0, c, status = 1;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:o:b:F:uq", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'b': backing = optarg; break;
		case 'F': backing_fmt = optarg; break;
		case 'u': unsafe = 1; break;
		case 'q': quiet = 1; break;
		case 'o':
			if (img_opts_append(&optstr, optarg) < 0)
				return 1;
			break;
		case ':': return img_bad_option("create", argv, 1);
		default: return img_bad_option("create", argv, 0);
		}
	}
	if (optstr && (!strcmp(optstr, "help") || !strcmp(optstr, "?"))) {
		create_help(fmt);
		free(optstr);
		return 0;
	}
	if (optind >= argc)
		return img_bad_usage("create", "Expecting image file name");
	path = argv[optind++];
	if (optind < argc) {
		if (img_cvtnum("image size", argv[optind], INT64_MAX, &size) < 0)
			goto out;
		have_size = 1;
		optind++;
	}
	if (optind < argc) {
		img_bad_usage("create", "Unexpected argument");
		goto out;
	}
	status = img_create(path, fmt, optstr, backing, backing_fmt, unsafe, have_size, size, quiet);
out:
	free(optstr);
	return status;
}

const char *img_create_context = "";

/* qcow2_co_create()'s refusals of option values, in its words; NULL if fine. */
static const char *qcow2_create_refusal(const struct qcow2_create_opts *q, const char *compat, char *buf,
					size_t size)
{
	unsigned cs = q->cluster_size ? q->cluster_size : 65536, rb = q->refcount_bits;
	const char *ct = q->compression_type;

	if (compat && !q->version) {
		snprintf(buf, size, "Parameter 'version' does not accept value '%s'", compat);
		return buf;
	}
	if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1)))
		return "Cluster size must be a power of two between 512 and 2048k";
	if (rb && (rb > 64 || (rb & (rb - 1))))
		return "Refcount width must be a power of two and may not exceed 64 bits";
	if (ct && strcmp(ct, "zlib") && strcmp(ct, "zstd")) {
		snprintf(buf, size, "Parameter 'compression-type' does not accept value '%s'", ct);
		return buf;
	}
	if (q->version == 2) {
		if (q->lazy_refcounts)
			return "Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)";
		if (ct && strcmp(ct, "zlib"))
			return "Non-zlib compression type is only supported with compatibility level 1.1 and above (use version=v3 or greater)";
		if (q->extended_l2)
			return "Extended L2 entries are only supported with compatibility level 1.1 and above (use version=v3 or greater)";
	}
	if (q->extended_l2 && cs < 16384)
		return "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes";
	return NULL;
}

int img_create(const char *path, const char *fmt, const char *optstr, const char *backing,
	       const char *backing_fmt, int unsafe, int have_size, uint64_t size, int quiet)
{
	struct img_opts o = { 0 };
	struct qcow2_create_opts q = { 0 };
	const char *v, *why;
	char why_buf[256];
	int ret, status = 1, bad_prealloc;

	if (strcmp(fmt, "raw") && strcmp(fmt, "qcow2")) {
		img_error("Unknown file format '%s'", fmt);
		goto out;
	}
	if (optstr && img_opts_parse(&o, optstr) < 0)
		goto out;
	if ((v = img_opts_get(&o, "size"))) {
		if (img_parse_size(v, &size) < 0) {
			img_error("%s: Parameter 'size' expects a non-negative number below 2^64 Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta- and exabytes, respectively.",
				  path);
			goto out;
		}
		have_size = 1;
	}
	if (!strcmp(fmt, "qcow2")) {
		if ((v = img_opts_get(&o, "backing_file")))
			backing = v;
		if ((v = img_opts_get(&o, "backing_fmt")))
			backing_fmt = v;
		if ((v = img_opts_get(&o, "cluster_size")) && parse_u(v, &q.cluster_size) < 0) {
			img_error("%s: Parameter 'cluster_size' expects a size", path);
			goto out;
		}
		if ((v = img_opts_get(&o, "refcount_bits")) && parse_u(v, &q.refcount_bits) < 0) {
			img_error("%s: Parameter 'refcount_bits' expects a number", path);
			goto out;
		}
		if ((v = img_opts_get(&o, "compat"))) {
			if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
				q.version = 2;
			else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
				q.version = 3;
		}
#define BOOL_OPT(name, field) \
		if ((v = img_opts_get(&o, name)) && (q.field = img_parse_bool(v)) < 0) { \
			img_error("%s: Parameter '%s' expects 'on' or 'off'", path, name); \
			goto out; \
		}
		BOOL_OPT("lazy_refcounts", lazy_refcounts)
		BOOL_OPT("extended_l2", extended_l2)
		BOOL_OPT("data_file_raw", data_file_raw)
#undef BOOL_OPT
		q.compression_type = img_opts_get(&o, "compression_type");
		q.data_file = img_opts_get(&o, "data_file");
	}
	q.preallocation = img_opts_get(&o, "preallocation");
	if (img_opts_unused(&o)) {
		/* qemu-img convert checks its -o list before naming the output. */
		img_error("%s%sInvalid parameter '%s'", *img_create_context ? "" : path,
			  *img_create_context ? "" : ": ", img_opts_unused(&o));
		goto out;
	}
	/* Refused after the "Formatting" line, as the drivers do. */
	bad_prealloc = q.preallocation && strcmp(q.preallocation, "off") && strcmp(q.preallocation, "falloc") &&
		       strcmp(q.preallocation, "full") && (strcmp(q.preallocation, "metadata") || !strcmp(fmt, "raw"));
	if (backing && !strcmp(backing, path)) {
		img_error("%s: Error: Trying to create an image with the same filename as the backing file", path);
		goto out;
	}
	if (backing && !strcmp(fmt, "raw")) {
		img_error("%s%sBacking file not supported for file format 'raw'", *img_create_context ? "" : path,
			  *img_create_context ? "" : ": ");
		goto out;
	}
	if (backing && !backing_fmt && !unsafe) {
		/* qemu 7.x requires -F; probing a backing file is how raw data gets misread. */
		img_error("%s: Backing file specified without backing format", path);
		goto out;
	}
	if (backing && !unsafe) {
		struct block_dev *bb;
		char *bp = img_backing_path(path, backing);

		if (!bp)
			goto out;
		ret = img_open(&bb, bp, backing_fmt, 1, NULL);
		free(bp);
		if (ret < 0)
			goto out;
		if (!have_size) {
			size = bb->size;
			have_size = 1;
		}
		block_close(bb);
	}
	if (!have_size) {
		img_error("%s: Image creation needs a size parameter", path);
		goto out;
	}
	if (!strcmp(fmt, "qcow2")) {
		unsigned cs = q.cluster_size ? q.cluster_size : 65536;
		int ver = q.version ? q.version : 3;
		char buf[4096];
		int n;

		if (ver == 2 && q.refcount_bits && q.refcount_bits != 16) {
			img_error("%s: Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)", path);
			goto out;
		}
		n = snprintf(buf, sizeof(buf), "Formatting '%s', fmt=qcow2 cluster_size=%u extended_l2=%s", path, cs,
			     q.extended_l2 ? "on" : "off");
		if (q.preallocation)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, " preallocation=%s", q.preallocation);
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " compression_type=%s size=%llu",
			      q.compression_type ? q.compression_type : "zlib", (unsigned long long)size);
		if (backing)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, " backing_file=%s", backing);
		if (backing_fmt)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, " backing_fmt=%s", backing_fmt);
		if (q.data_file)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, " data_file=%s", q.data_file);
		if (q.data_file_raw)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, " data_file_raw=on");
		if ((v = img_opts_get(&o, "compat")))
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, " compat=%s", v);
		snprintf(buf + n, sizeof(buf) - (size_t)n, " lazy_refcounts=%s refcount_bits=%u",
			 q.lazy_refcounts ? "on" : "off", q.refcount_bits ? q.refcount_bits : 16);
		if (!quiet)
			printf("%s\n", buf);
		if (bad_prealloc) {
			img_error("%s: %sParameter 'preallocation' does not accept value '%s'", path,
				  img_create_context, q.preallocation);
			goto out;
		}
		why = qcow2_create_refusal(&q, img_opts_get(&o, "compat"), why_buf, sizeof(why_buf));
		if (why) {
			img_error("%s: %s%s", path, img_create_context, why);
			goto out;
		}
		q.size = (size + 511) & ~(uint64_t)511;  /* qcow2_co_create_opts() rounds up */
		q.backing_file = backing;
		q.backing_fmt = backing_fmt;
		ret = qcow2_create(path, &q);
		if (ret == 0 && q.data_file) {
			/* qemu creates the external data file with the virtual size. */
			char *dp = img_backing_path(path, q.data_file);
			struct stat st;

			if (dp && stat(dp, &st) == 0 && (uint64_t)st.st_size < q.size && truncate(dp, (off_t)q.size) < 0)
				ret = -errno;
			free(dp);
		}
	} else {
		if (!quiet)
			printf("Formatting '%s', fmt=raw size=%llu%s%s\n", path, (unsigned long long)size,
			       q.preallocation ? " preallocation=" : "", q.preallocation ? q.preallocation : "");
		if (bad_prealloc) {
			img_error("%s: %sinvalid parameter value: %s", path, img_create_context, q.preallocation);
			goto out;
		}
		ret = create_raw(path, size, q.preallocation);
	}
	if (ret == -ENOENT || ret == -EACCES || ret == -EPERM || ret == -ENOTDIR || ret == -EISDIR || ret == -EROFS) {
		img_error("%s: %sCould not create '%s': %s", path, img_create_context, path, img_strerror(ret));
		goto out;
	}
	if (ret < 0) {
		img_error("%s: %s%s", path, img_create_context, img_strerror(ret));
		goto out;
	}
	status = 0;
out:
	img_opts_free(&o);
	return status;
}

/* --- info */

static uint64_t actual_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

struct info_data {
	struct block_dev *bs;
	struct qcow2_info qi;
	int is_qcow2;
	struct qcow2_snapshot_info *sn;
	int nsn;
	char *full_backing;
};

static int info_collect(struct block_dev *bs, struct info_data *d)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->bs = bs;
	d->is_qcow2 = img_is_qcow2(bs);
	if (!d->is_qcow2)
		return 0;
	ret = qcow2_get_info(bs, &d->qi);
	if (ret < 0)
		return ret;
	if (qcow2_snapshot_list(bs, &d->sn, &d->nsn) < 0) {
		d->sn = NULL;
		d->nsn = 0;
	}
	if (d->qi.backing_file)
		d->full_backing = img_backing_path(bs->filename, d->qi.backing_file);
	return 0;
}

static void info_free(struct info_data *d)
{
	free(d->sn);
	free(d->full_backing);
}

static void snapshot_row(const struct qcow2_snapshot_info *sn)
{
	char date[32] = "", clk[48], vmsize[32], icount[32] = "";
	time_t t = sn->date_sec;
	struct tm tm;
	uint64_t secs = sn->vm_clock_nsec / 1000000000ULL;

	if (localtime_r(&t, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(clk, sizeof(clk), "%02d:%02d:%02d.%03d", (int)(secs / 3600), (int)((secs / 60) % 60),
		 (int)(secs % 60), (int)((sn->vm_clock_nsec / 1000000) % 1000));
	img_size_str(sn->vm_state_size, vmsize, sizeof(vmsize));
	if (sn->icount_valid)
		snprintf(icount, sizeof(icount), "%llu", (unsigned long long)sn->icount);
	printf("%-9s %-16s %8s%20s%13s%11s\n", sn->id, sn->name, vmsize, date, clk, icount);
}

static void snapshot_table(const struct qcow2_snapshot_info *sn, int n)
{
	printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
	for (int i = 0; i < n; i++)
		snapshot_row(&sn[i]);
}

static void info_human(const struct info_data *d)
{
	char s[32];

	printf("image: %s\n", d->bs->filename);
	printf("file format: %s\n", d->bs->drv->format);
	img_size_str(d->bs->size, s, sizeof(s));
	printf("virtual size: %s (%llu bytes)\n", s, (unsigned long long)d->bs->size);
	img_size_str(actual_size(d->bs->filename), s, sizeof(s));
	printf("disk size: %s\n", s);
	if (!d->is_qcow2)
		return;
	printf("cluster_size: %u\n", d->qi.cluster_size);
	if (d->qi.dirty)
		printf("cleanly shut down: no\n");
	if (d->qi.backing_file) {
		printf("backing file: %s", d->qi.backing_file);
		if (d->full_backing && strcmp(d->full_backing, d->qi.backing_file))
			printf(" (actual path: %s)", d->full_backing);
		printf("\n");
	}
	if (d->qi.backing_fmt)
		printf("backing file format: %s\n", d->qi.backing_fmt);
	if (d->nsn > 0) {
		printf("Snapshot list:\n");
		snapshot_table(d->sn, d->nsn);
	}
	printf("Format specific information:\n");
	printf("    compat: %s\n", d->qi.version == 2 ? "0.10" : "1.1");
	printf("    compression type: %s\n", d->qi.compression_type ? d->qi.compression_type : "zlib");
	if (d->qi.version >= 3)
		printf("    lazy refcounts: %s\n", d->qi.lazy_refcounts ? "true" : "false");
	printf("    refcount bits: %u\n", d->qi.refcount_bits);
	if (d->qi.version >= 3) {
		if (d->qi.data_file) {
			printf("    data file: %s\n", d->qi.data_file);
			printf("    data file raw: false\n");
		}
		printf("    corrupt: %s\n", d->qi.corrupt ? "true" : "false");
		printf("    extended l2: %s\n", d->qi.extended_l2 ? "true" : "false");
	}
}

static json_t *info_json(const struct info_data *d)
{
	json_t *o = json_object();

	if (d->nsn > 0) {
		json_t *a = json_array();

		for (int i = 0; i < d->nsn; i++) {
			const struct qcow2_snapshot_info *sn = &d->sn[i];
			json_t *s = json_object();

			if (sn->icount_valid)
				json_object_set_new(s, "icount", json_integer((json_int_t)sn->icount));
			json_object_set_new(s, "vm-clock-nsec", json_integer((json_int_t)(sn->vm_clock_nsec % 1000000000ULL)));
			json_object_set_new(s, "name", json_string(sn->name));
			json_object_set_new(s, "date-sec", json_integer(sn->date_sec));
			json_object_set_new(s, "date-nsec", json_integer(sn->date_nsec));
			json_object_set_new(s, "vm-clock-sec", json_integer((json_int_t)(sn->vm_clock_nsec / 1000000000ULL)));
			json_object_set_new(s, "id", json_string(sn->id));
			json_object_set_new(s, "vm-state-size", json_integer((json_int_t)sn->vm_state_size));
			json_array_append_new(a, s);
		}
		json_object_set_new(o, "snapshots", a);
	}
	if (d->is_qcow2 && d->qi.backing_fmt)
		json_object_set_new(o, "backing-filename-format", json_string(d->qi.backing_fmt));
	json_object_set_new(o, "virtual-size", json_integer((json_int_t)d->bs->size));
	json_object_set_new(o, "filename", json_string(d->bs->filename));
	if (d->is_qcow2)
		json_object_set_new(o, "cluster-size", json_integer(d->qi.cluster_size));
	json_object_set_new(o, "format", json_string(d->bs->drv->format));
	json_object_set_new(o, "actual-size", json_integer((json_int_t)actual_size(d->bs->filename)));
	if (d->is_qcow2) {
		json_t *fs = json_object(), *data = json_object();

		json_object_set_new(fs, "type", json_string("qcow2"));
		json_object_set_new(data, "compat", json_string(d->qi.version == 2 ? "0.10" : "1.1"));
		json_object_set_new(data, "compression-type",
				    json_string(d->qi.compression_type ? d->qi.compression_type : "zlib"));
		if (d->qi.version >= 3)
			json_object_set_new(data, "lazy-refcounts", json_boolean(d->qi.lazy_refcounts));
		json_object_set_new(data, "refcount-bits", json_integer(d->qi.refcount_bits));
		if (d->qi.version >= 3) {
			if (d->qi.data_file) {
				json_object_set_new(data, "data-file", json_string(d->qi.data_file));
				json_object_set_new(data, "data-file-raw", json_false());
			}
			json_object_set_new(data, "corrupt", json_boolean(d->qi.corrupt));
			json_object_set_new(data, "extended-l2", json_boolean(d->qi.extended_l2));
		}
		json_object_set_new(fs, "data", data);
		json_object_set_new(o, "format-specific", fs);
		if (d->qi.backing_file) {
			json_object_set_new(o, "full-backing-filename",
					    json_string(d->full_backing ? d->full_backing : d->qi.backing_file));
			json_object_set_new(o, "backing-filename", json_string(d->qi.backing_file));
		}
	}
	json_object_set_new(o, "dirty-flag", json_boolean(d->is_qcow2 && d->qi.dirty));
	return o;
}

static void json_print(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(j);
}

int img_cmd_info(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'O' },
		{ "backing-chain", no_argument, NULL, 'B' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL;
	int json = 0, chain = 0, c, ret, first = 1, status = 1;
	struct block_dev *bs, *cur;
	json_t *arr = NULL;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:U", lopts, NULL)) != -1) {
		if ((ret = img_report_option("info", c, argv, &fmt, &json)) >= 0) {
			if (ret)
				return ret;
		} else if (c == 'B') {
			chain = 1;
		} else {
			return img_bad_option("info", argv, 0);
		}
	}
	if ((c = img_open_operand("info", argc, argv, &bs, fmt, 1, NULL)))
		return c;
	if (json && chain)
		arr = json_array();
	for (cur = bs; cur; cur = chain ? cur->backing : NULL) {
		struct info_data d;
		int ret = info_collect(cur, &d);

		if (ret < 0) {
			img_error("Could not read the image information of '%s': %s", cur->filename, img_strerror(ret));
			goto out;
		}
		if (json && chain)
			json_array_append_new(arr, info_json(&d));
		else if (json)
			json_print(info_json(&d));
		else {
			if (!first)
				printf("\n");
			info_human(&d);
		}
		first = 0;
		info_free(&d);
	}
	if (arr)
		json_print(arr);
	arr = NULL;
	status = 0;
out:
	if (arr)
		json_decref(arr);
	block_close(bs);
	return status;
}

/* --- check */

static void check_human(const struct qcow2_check_result *r)
{
	if (!(r->corruptions || r->leaks || r->check_errors)) {
		printf("No errors were found on the image.\n");
	} else {
		if (r->corruptions)
			printf("\n%d errors were found on the image.\n"
			       "Data may be corrupted, or further writes to the image may corrupt it.\n", r->corruptions);
		if (r->leaks)
			printf("\n%d leaked clusters were found on the image.\n"
			       "This means waste of disk space, but no harm to data.\n", r->leaks);
		if (r->check_errors)
			printf("\n%d internal errors have occurred during the check.\n", r->check_errors);
	}
	if (r->total_clusters && r->allocated_clusters)
		printf("%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed clusters\n",
		       (unsigned long long)r->allocated_clusters, (unsigned long long)r->total_clusters,
		       r->allocated_clusters * 100.0 / (double)r->total_clusters,
		       r->fragmented_clusters * 100.0 / (double)r->allocated_clusters,
		       r->compressed_clusters * 100.0 / (double)r->allocated_clusters);
	if (r->image_end_offset)
		printf("Image end offset: %llu\n", (unsigned long long)r->image_end_offset);
}

/* qemu-img prints the ImageCheck QDict in its hash-bucket order (tdb_hash()
 * % 512 of each key), which is the order below; absent counts are omitted. */
static void check_json(const struct qcow2_check_result *r, const char *filename)
{
	json_t *o = json_object();

#define OPT_INT(key, val) \
	if (val) \
		json_object_set_new(o, key, json_integer((json_int_t)(val)))
	json_object_set_new(o, "image-end-offset", json_integer((json_int_t)r->image_end_offset));
	OPT_INT("compressed-clusters", r->compressed_clusters);
	json_object_set_new(o, "total-clusters", json_integer((json_int_t)r->total_clusters));
	OPT_INT("corruptions", r->corruptions);
	OPT_INT("corruptions-fixed", r->corruptions_fixed);
	json_object_set_new(o, "check-errors", json_integer(r->check_errors));
	OPT_INT("leaks", r->leaks);
	OPT_INT("leaks-fixed", r->leaks_fixed);
	OPT_INT("allocated-clusters", r->allocated_clusters);
	json_object_set_new(o, "filename", json_string(filename));
	json_object_set_new(o, "format", json_string("qcow2"));
	OPT_INT("fragmented-clusters", r->fragmented_clusters);
#undef OPT_INT
	json_print(o);
}

int img_cmd_check(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'O' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *cache = NULL;
	struct qcow2_check_result r;
	struct block_dev *bs;
	int json = 0, fix = 0, quiet = 0, c, ret, status;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:r:T:qU", lopts, NULL)) != -1) {
		if ((ret = img_report_option("check", c, argv, &fmt, &json)) >= 0) {
			if (ret)
				return ret;
			continue;
		}
		switch (c) {
		case 'T': cache = optarg; break;
		case 'q': quiet = 1; break;
		case 'r':
			if (!strcmp(optarg, "leaks"))
				fix = QCOW2_FIX_LEAKS;
			else if (!strcmp(optarg, "all"))
				fix = QCOW2_FIX_LEAKS | QCOW2_FIX_ERRORS;
			else {
				img_error("Unknown option value for -r (expecting 'leaks' or 'all'): %s (try 'vmm-img check --help')",
					  optarg);
				return 1;
			}
			break;
		default: return img_bad_option("check", argv, 0);
		}
	}
	if ((c = img_open_operand("check", argc, argv, &bs, fmt, !fix, cache)))
		return c;
	if (!img_is_qcow2(bs)) {
		img_error("This image format does not support checks");
		block_close(bs);
		return 63;
	}
	memset(&r, 0, sizeof(r));
	ret = qcow2_check(bs, fix, &r);
	if (ret == 0 && r.corruptions_fixed + r.leaks_fixed) {
		int lf = r.leaks_fixed, cf = r.corruptions_fixed;

		if (!json && !quiet)
			printf("The following inconsistencies were found and repaired:\n\n"
			       "    %d leaked clusters\n    %d corruptions\n\n"
			       "Double checking the fixed image now...\n", lf, cf);
		memset(&r, 0, sizeof(r));
		ret = qcow2_check(bs, 0, &r);
		r.leaks_fixed = lf;
		r.corruptions_fixed = cf;
	}
	if (ret == 0 && !quiet) {
		if (json)
			check_json(&r, argv[optind]);
		else
			check_human(&r);
	}
	if (ret < 0 || r.check_errors) {
		if (ret < 0)
			img_error("Check failed: %s", img_strerror(ret));
		else
			img_error("Check failed");
		status = 1;
	} else if (r.corruptions) {
		status = 2;
	} else if (r.leaks) {
		status = 3;
	} else {
		status = 0;
	}
	if (fix)
		qcow2_flush_metadata(bs);
	block_close(bs);
	return status;
}

/* --- snapshot */

/* qemu-img snapshot -d deletes by name only (bdrv_snapshot_delete(bs, NULL,
 * name)); the driver also takes an id, so look for the name first. */
static int snapshot_delete_by_name(struct block_dev *bs, const char *name)
{
	struct qcow2_snapshot_info *sn = NULL;
	int n = 0, found = 0, ret = qcow2_snapshot_list(bs, &sn, &n);

	if (ret < 0)
		return ret;
	for (int i = 0; i < n && !found; i++)
		found = !strcmp(sn[i].name, name);
	free(sn);
	return found ? qcow2_snapshot_delete(bs, name) : QCOW2_E_NO_SNAPSHOT;
}

int img_cmd_snapshot(int argc, char **argv)
{
	static const struct option lopts[] = { { "force-share", no_argument, NULL, 'U' }, { NULL, 0, NULL, 0 } };
	const char *name = NULL, *verb = NULL;
	struct block_dev *bs;
	int action = 0, c, ret, status = 1;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":la:c:d:qU", lopts, NULL)) != -1) {
		switch (c) {
		case 'l': case 'a': case 'c': case 'd':
			if (action)
				return img_bad_usage("snapshot", "Cannot mix '-l', '-a', '-c', '-d'");
			action = c;
			name = optarg;
			break;
		case 'q': break;     /* nothing to quieten: qemu lists even with -q */
		case 'U': break;
		case ':': return img_bad_option("snapshot", argv, 1);
		default: return img_bad_option("snapshot", argv, 0);
		}
	}
	if (optind != argc - 1)
		return img_bad_usage("snapshot", "Expecting one image file name");
	if (img_open(&bs, argv[optind], NULL, action == 'l' || !action, NULL) < 0)
		return 1;
	switch (action) {
	case 0:         /* qemu-img snapshot without an action opens the image, no more */
		status = 0;
		goto out;
	case 'l':
		if (img_is_qcow2(bs)) {
			struct qcow2_snapshot_info *sn = NULL;
			int n = 0;

			ret = qcow2_snapshot_list(bs, &sn, &n);
			if (ret < 0) {
				img_error("Could not list snapshots of '%s': %s", argv[optind], img_strerror(ret));
				goto out;
			}
			if (n > 0) {    /* qemu-img lists even with -q */
				printf("Snapshot list:\n");
				snapshot_table(sn, n);
			}
			free(sn);
		}
		status = 0;
		goto out;
	case 'c':
		verb = "create";
		ret = img_is_qcow2(bs) ? qcow2_snapshot_create(bs, name) : -ENOTSUP;
		break;
	case 'a':
		verb = "apply";
		ret = img_is_qcow2(bs) ? qcow2_snapshot_apply(bs, name) : -ENOTSUP;
		break;
	default:
		verb = "delete";
		ret = img_is_qcow2(bs) ? snapshot_delete_by_name(bs, name) : -ENOTSUP;
		break;
	}
	if (ret == 0)
		ret = qcow2_flush_metadata(bs);
	if (ret == QCOW2_E_NO_SNAPSHOT && action != 'c')     /* qemu's words for it */
		img_error("Could not %s snapshot '%s': %s", verb, name,
			  action == 'a' ? "Failed to load snapshot: No such file or directory" : "snapshot not found");
	else if (ret < 0)
		img_error("Could not %s snapshot '%s': %s", verb, name, img_strerror(ret));
	if (ret < 0) {
		goto out;
	}
	status = 0;
out:
	block_close(bs);
	return status;
}
