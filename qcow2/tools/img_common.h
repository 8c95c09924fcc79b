/* Helpers shared by vmm-img and vmm-io: qemu-img's size syntax and size_to_str(),
 * qemu-io's cvtstr()/timestr(), image opening with qemu-style error lines,
 * -o option lists, the progress line, and the optional block-layer and qcow2
 * entry points (block status, truncate) with fallbacks while they are absent. */
#ifndef VMM_QCOW2_TOOLS_IMG_COMMON_H
#define VMM_QCOW2_TOOLS_IMG_COMMON_H

#include "block/block.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "qcow2/qcow2.h"

/* The program name used as the prefix of error lines ("vmm-img", "vmm-io"). */
extern const char *img_prog;

/* One line on stderr: "<prog>: <message>". */
void img_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* qemu's size syntax: a number (fraction allowed), optional suffix
 * b/k/K/M/G/T/P/E (powers of 1024; 'b' is ignored). 0 or -EINVAL/-ERANGE. */
int img_parse_size(const char *s, uint64_t *out);
/* qemu-io's cvtnum(): img_parse_size() up to INT64_MAX ("1.5k" is 1536). */
int img_parse_int(const char *s, int64_t *out);
/* qemu-img's cvtnum_full(name, s, 0, max): a size as img_parse_size; on
 * error prints qemu-img's message (on one line) and returns < 0. */
int img_cvtnum(const char *name, const char *s, uint64_t max, uint64_t *out);
/* qemu_strtoul(s, NULL, 0, ...) as qemu-img takes counts: decimal, 0x hex or
 * 0 octal, no suffix, nothing after the number. 0 or -EINVAL/-ERANGE. */
int img_parse_ulong(const char *s, uint64_t *out);

/* qemu's size_to_str(): "1 GiB", "324 KiB", "0 B". buf >= 32 bytes. */
void img_size_str(uint64_t val, char *buf, size_t size);
/* qemu-io's cvtstr(): "64 KiB", "1.062 MiB", "32 bytes". */
void img_cvtstr(double value, char *buf, size_t size);
/* qemu-io's timestr(): "00.00 sec" or "0:00:01.23". */
void img_timestr(const struct timespec *t, char *buf, size_t size);
struct timespec img_time_sub(struct timespec a, struct timespec b);

/* The one engine of the process. */
struct block_engine *img_engine(void);

/* Cache mode names of qemu-img -t: none, writeback, writethrough, directsync,
 * unsafe. Fills the open options; -EINVAL (and no message) for an unknown name. */
int img_parse_cache(const char *mode, struct block_open_opts *o);

/* Opens path (fmt NULL: probe) and prints "Could not open 'path': reason" on
 * failure. Returns 0 or the negative code. */
int img_open(struct block_dev **out, const char *path, const char *fmt, int read_only,
	     const char *cache);

/* Error text for a code from the block layer or the qcow2 driver. */
const char *img_strerror(int err);

/* Block status of [off, off+len) in bs alone (see block_get_status). */
int img_block_status(struct block_dev *bs, uint64_t off, uint64_t len, uint64_t *pnum,
		     uint64_t *host_off, int *flags);
/* Status through the backing chain: *depth = layer that answers (0 = bs),
 * *layer = that layer, *flags = its flags with ALLOCATED meaning "present"
 * (qemu-img map); unallocated everywhere: flags = ZERO, depth = last layer. */
int img_chain_status(struct block_dev *bs, uint64_t off, uint64_t len, uint64_t *pnum,
		     uint64_t *host_off, int *flags, int *depth, struct block_dev **layer);
int img_truncate(struct block_dev *bs, uint64_t size);

/* bs is opened by the qcow2 driver (the qcow2_* calls accept it). */
int img_is_qcow2(struct block_dev *bs);

/* "-o a=b,c=d" lists (qemu's ",," escapes a comma). */
struct img_opt {
	char *key, *val;
	int used;
};
struct img_opts {
	struct img_opt *v;
	int n;
};
int img_opts_parse(struct img_opts *o, const char *s);
/* Repeated -o: appends ",arg" to *optstr (a malloc'd string or NULL). 0 or -1. */
int img_opts_append(char **optstr, const char *arg);
const char *img_opts_get(struct img_opts *o, const char *key);
/* First option nobody asked for, or NULL. */
const char *img_opts_unused(const struct img_opts *o);
void img_opts_free(struct img_opts *o);
/* "on"/"off"/"true"/"false": 1/0, -1 otherwise. */
int img_parse_bool(const char *s);
/* --output human|json: sets *json; else prints qemu-img's error and returns -1. */
int img_parse_output(const char *s, int *json);

/* The progress line of qemu-img -p: "    (12.34/100%)\r" on stdout. */
struct img_progress {
	int enabled;
	double last;
};
void img_progress_update(struct img_progress *p, double percent);
void img_progress_end(struct img_progress *p);

/* A page-aligned buffer (O_DIRECT-safe) of len bytes; free() it. From 1 MiB
 * up: 2 MiB-aligned, rounded up to whole 2 MiB and advised MADV_HUGEPAGE. */
#define IMG_HUGE_PAGE ((size_t)2 << 20)
void *img_alloc_buf(size_t len);

#endif
