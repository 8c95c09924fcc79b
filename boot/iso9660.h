/* ISO 9660 reader for untrusted CD images: volume descriptors, directory
 * records and path lookup (ECMA-119 sections 8.4 PVD, 9.1 directory record),
 * with Rock Ridge NM names (RRIP 4.1.4 over SUSP) and Joliet (UCS-2 SVD).
 * Every structure is bounds-checked before use (libfdt style). */
#ifndef VMM_BOOT_ISO9660_H
#define VMM_BOOT_ISO9660_H

#include <stddef.h>
#include <stdint.h>

#define ISO9660_BLOCK 2048u

/* Error codes (negative returns); iso9660_strerror() gives the text. */
enum {
	ISO_ERR_IO = 1,        /* the read callback failed */
	ISO_ERR_TRUNCATED,     /* image too short for the volume descriptors */
	ISO_ERR_NOT_ISO,       /* no "CD001" at sector 16 */
	ISO_ERR_NO_PVD,        /* descriptor set without a primary volume descriptor */
	ISO_ERR_BAD_HEADER,    /* PVD field out of range (block size, root record) */
	ISO_ERR_BAD_RECORD,    /* directory record too short, crosses its block or its directory */
	ISO_ERR_RANGE,         /* an extent lies (partly) beyond the image */
	ISO_ERR_LOOP,          /* a directory refers back to one already on the path */
	ISO_ERR_NOT_FOUND,
	ISO_ERR_NOT_DIR,       /* a path component other than the last is a file */
	ISO_ERR_IS_DIR,        /* a file was expected */
	ISO_ERR_TOO_BIG,       /* a file larger than the caller's limit, or a path too deep */
	ISO_ERR_NOMEM,
	ISO_ERR_MAX
};

/* Reads [off, off+len) of the image; returns 0 or a negative errno. */
typedef int (*iso9660_read_fn)(void *opaque, uint64_t off, void *buf, size_t len);

struct iso9660 {
	iso9660_read_fn read;
	void *opaque;
	uint64_t image_size;     /* bytes; every extent is checked against it */
	uint32_t root_extent, root_size;     /* primary (or Rock Ridge) tree */
	uint32_t joliet_extent, joliet_size; /* 0 when there is no Joliet SVD */
	int rock_ridge;          /* the root "." record carries SUSP SP */
	int use_joliet;          /* names from the Joliet tree (no Rock Ridge) */
	char volume_id[33];
};

struct iso9660_entry {
	uint32_t extent;         /* first block of the data */
	uint32_t size;           /* bytes */
	int is_dir;
	char name[256];          /* Rock Ridge / Joliet name, else ISO name without ";1" */
};

/* Parses the volume descriptor set of an image of image_size bytes. */
int iso9660_open(struct iso9660 *iso, iso9660_read_fn read, void *opaque, uint64_t image_size);

/* A read callback over a file descriptor (opaque = (void *)(intptr_t)fd). */
int iso9660_read_fd(void *opaque, uint64_t off, void *buf, size_t len);

/* Looks up an absolute or relative-to-root path ("/isolinux/isolinux.cfg");
 * components compare case-insensitively. */
int iso9660_lookup(const struct iso9660 *iso, const char *path, struct iso9660_entry *out);

/* Calls fn for each entry of directory dir (not "." and ".."); fn returning
 * nonzero stops the walk and that value is returned. */
int iso9660_readdir(const struct iso9660 *iso, const struct iso9660_entry *dir,
		    int (*fn)(void *arg, const struct iso9660_entry *e), void *arg);

/* Reads a whole file into a malloc'ed buffer (NUL-terminated one past *len);
 * -ISO_ERR_TOO_BIG when it is larger than max. */
int iso9660_load(const struct iso9660 *iso, const char *path, size_t max, uint8_t **buf, size_t *len);

const char *iso9660_strerror(int err);

#endif
