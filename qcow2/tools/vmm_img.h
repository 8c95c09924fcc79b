/* vmm-img's commands, one function per qemu-img command (argv[0] is the
 * command name), split by group: vmm_img.c (create, info, check, snapshot),
 * vmm_img_data.c (convert, compare, map, resize, commit, rebase),
 * vmm_img_bench.c (bench). Each returns the process exit status. */
#ifndef VMM_QCOW2_TOOLS_VMM_IMG_H
#define VMM_QCOW2_TOOLS_VMM_IMG_H

#include <stdint.h>

int img_cmd_create(int argc, char **argv);
int img_cmd_info(int argc, char **argv);
int img_cmd_check(int argc, char **argv);
int img_cmd_snapshot(int argc, char **argv);
int img_cmd_convert(int argc, char **argv);
int img_cmd_compare(int argc, char **argv);
int img_cmd_map(int argc, char **argv);
int img_cmd_resize(int argc, char **argv);
int img_cmd_commit(int argc, char **argv);
int img_cmd_rebase(int argc, char **argv);
int img_cmd_bench(int argc, char **argv);

/* Creates an image as `create` does (optstr: the -o list, may be NULL);
 * prints qemu's "Formatting ..." line unless quiet. Returns an exit status. */
int img_create(const char *path, const char *fmt, const char *optstr, const char *backing,
	       const char *backing_fmt, int unsafe, int have_size, uint64_t size, int quiet);
/* Put between "<path>: " and the reason when the format rejects a value
 * (convert sets qemu's "error while converting qcow2: "); default "". */
extern const char *img_create_context;
/* backing resolved against the directory of image (malloc'd). */
char *img_backing_path(const char *image, const char *backing);

/* Prints "<cmd> --help" usage (the qemu-img syntax line) on stdout. */
void img_cmd_usage(const char *cmd);
/* One line for a bad option or argument count, then exit status 1. */
int img_bad_usage(const char *cmd, const char *what);
/* The one image operand left after getopt (else "Expecting one image file
 * name"), opened as img_open. Returns 0, or the command's exit status. */
int img_open_operand(const char *cmd, int argc, char **argv, struct block_dev **bs, const char *fmt,
		     int read_only, const char *cache);
/* The same for the option getopt just refused (missing_arg: ':' case). */
int img_bad_option(const char *cmd, char **argv, int missing_arg);
/* The options info, map and check share (-f FMT, -U, --output human|json)
 * and the errors for a missing argument or an unknown option: 0 when it
 * handled getopt's c, the exit status (1) after an error, -1 when c is one
 * of the command's own options. */
int img_report_option(const char *cmd, int c, char **argv, const char **fmt, int *json);

#endif
