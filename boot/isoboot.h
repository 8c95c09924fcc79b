/* Direct ISO boot: finds the default entry of the ISO's boot-loader
 * configuration (ISOLINUX/SYSLINUX cfg: DEFAULT, LABEL, KERNEL/LINUX, INITRD,
 * APPEND with initrd=, INCLUDE, MENU DEFAULT; GRUB grub.cfg: menuentry,
 * linux/initrd, set default) and reads kernel and initrd out of the image
 * for the Linux loader. Configuration text is untrusted: bounded everywhere. */
#ifndef VMM_BOOT_ISOBOOT_H
#define VMM_BOOT_ISOBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "boot/iso9660.h"

enum {
	ISOBOOT_ERR_NO_CONFIG = 100, /* no isolinux/syslinux/grub configuration found */
	ISOBOOT_ERR_NO_ENTRY,        /* configuration without a Linux entry */
	ISOBOOT_ERR_TOO_LONG,        /* a path or command line exceeds its buffer */
	ISOBOOT_ERR_INCLUDE,         /* INCLUDE nested too deeply */
	ISOBOOT_ERR_NOMEM,
	ISOBOOT_ERR_MAX
};

#define ISOBOOT_PATH_MAX 512
#define ISOBOOT_CMDLINE_MAX 2048

struct isoboot_entry {
	char label[128];
	char kernel[ISOBOOT_PATH_MAX];      /* absolute path on the ISO */
	char initrd[ISOBOOT_PATH_MAX * 2];  /* comma-separated absolute paths, "" when none */
	char append[ISOBOOT_CMDLINE_MAX];   /* kernel arguments without initrd= */
};

/* Reads an included file (path absolute on the ISO); returns 0 and a
 * malloc'ed NUL-terminated text, or a negative code. */
typedef int (*isoboot_include_fn)(void *opaque, const char *path, char **text, size_t *len);

/* Parses an isolinux.cfg/syslinux.cfg. dir is the directory of the file
 * (relative paths resolve against it); inc may be NULL (INCLUDE ignored).
 * Default entry: the DEFAULT label, else the label with MENU DEFAULT, else
 * the first label that boots a Linux kernel (not a .c32 module). */
int isoboot_parse_syslinux(const char *text, size_t len, const char *dir,
			   isoboot_include_fn inc, void *opaque, struct isoboot_entry *out);

/* Parses a grub.cfg: top-level menuentry blocks, `set default=N|title|id`. */
int isoboot_parse_grub(const char *text, size_t len, struct isoboot_entry *out);

/* Finds and parses the ISO's configuration; *cfg_path (may be NULL) names it. */
int isoboot_find(const struct iso9660 *iso, struct isoboot_entry *out, const char **cfg_path);

struct isoboot_image {
	uint8_t *kernel;
	size_t kernel_len;
	uint8_t *initrd;          /* concatenated initrds (4-byte aligned), NULL when none */
	size_t initrd_len;
	char cmdline[ISOBOOT_CMDLINE_MAX + 64];
};

/* Reads e's kernel and initrds from iso; cmdline = e->append + " " + extra
 * (extra may be NULL). */
int isoboot_load(const struct iso9660 *iso, const struct isoboot_entry *e, const char *extra,
		 struct isoboot_image *img);
void isoboot_image_free(struct isoboot_image *img);

/* Everything -kernel-from-iso needs: opens the ISO at iso_path, finds its
 * default entry, and writes kernel and initrd into memfds whose
 * "/proc/self/fd/N" paths are returned (open until isoboot_release();
 * initrd_path "" when none), with the command line plus "console=ttyS0".
 * On failure returns a negative code and a one-line message in err. */
int isoboot_prepare(const char *iso_path, char *kernel_path, size_t kp_len,
		    char *initrd_path, size_t ip_len, char *cmdline, size_t cl_len,
		    char *err, size_t errlen);

/* Closes the memfd behind a path isoboot_prepare() returned (after the
 * loader has read it; a machine brought up again calls prepare again). */
void isoboot_release(const char *path);

/* Text for an -ISO_ERR_* or -ISOBOOT_ERR_* code. */
const char *isoboot_strerror(int err);

#endif
