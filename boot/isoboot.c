/* Direct ISO boot, the image half: finds the boot-loader configuration on
 * the ISO 9660 image (parsed by boot/isoboot_cfg.c), reads the kernel and
 * initrds its entry names (sizes bounded) and hands them to the Linux loader
 * as memfds. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "boot/isoboot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_MAX_BYTES (1u << 20)
#define FILE_MAX_BYTES ((size_t)1 << 31)

static int iso_include(void *opaque, const char *path, char **text, size_t *len)
{
	uint8_t *b;
	int r = iso9660_load(opaque, path, CFG_MAX_BYTES, &b, len);
	if (r)
		return r;
	*text = (char *)b;
	return 0;
}

int isoboot_find(const struct iso9660 *iso, struct isoboot_entry *out, const char **cfg_path)
{
	static const char *const syslinux[] = {
		"/isolinux/isolinux.cfg", "/boot/isolinux/isolinux.cfg", "/isolinux.cfg",
		"/syslinux/syslinux.cfg", "/boot/syslinux/syslinux.cfg", "/syslinux.cfg",
	};
	static const char *const grub[] = {
		"/boot/grub/grub.cfg", "/grub/grub.cfg", "/EFI/BOOT/grub.cfg", "/boot/grub2/grub.cfg",
	};
	for (size_t i = 0; i < sizeof(syslinux) / sizeof(syslinux[0]); i++) {
		char *t;
		size_t n;
		if (iso_include((void *)iso, syslinux[i], &t, &n))
			continue;
		char dir[ISOBOOT_PATH_MAX];
		size_t dl = (size_t)(strrchr(syslinux[i], '/') - syslinux[i]);
		memcpy(dir, syslinux[i], dl);
		dir[dl] = 0;
		int r = isoboot_parse_syslinux(t, n, dl ? dir : "/", iso_include, (void *)iso, out);
		free(t);
		if (cfg_path)
			*cfg_path = syslinux[i];
		if (r != -ISOBOOT_ERR_NO_ENTRY)
			return r;
	}
	for (size_t i = 0; i < sizeof(grub) / sizeof(grub[0]); i++) {
		char *t;
		size_t n;
		if (iso_include((void *)iso, grub[i], &t, &n))
			continue;
		int r = isoboot_parse_grub(t, n, out);
		free(t);
		if (cfg_path)
			*cfg_path = grub[i];
		if (r != -ISOBOOT_ERR_NO_ENTRY)
			return r;
	}
	return -ISOBOOT_ERR_NO_CONFIG;
}

void isoboot_image_free(struct isoboot_image *img)
{
	free(img->kernel);
	free(img->initrd);
	img->kernel = img->initrd = NULL;
	img->kernel_len = img->initrd_len = 0;
}

int isoboot_load(const struct iso9660 *iso, const struct isoboot_entry *e, const char *extra,
		 struct isoboot_image *img)
{
	memset(img, 0, sizeof(*img));
	int r = iso9660_load(iso, e->kernel, FILE_MAX_BYTES, &img->kernel, &img->kernel_len);
	if (r)
		return r;
	for (const char *p = e->initrd; *p;) {
		size_t l = strcspn(p, ",");
		char path[ISOBOOT_PATH_MAX];
		if (l && l < sizeof(path)) {
			uint8_t *b;
			size_t n;
			memcpy(path, p, l);
			path[l] = 0;
			r = iso9660_load(iso, path, FILE_MAX_BYTES, &b, &n);
			if (r)
				goto fail;
			size_t at = (img->initrd_len + 3) & ~(size_t)3;
			if (at + n > FILE_MAX_BYTES) {
				free(b);
				r = -ISO_ERR_TOO_BIG;
				goto fail;
			}
			uint8_t *nb = realloc(img->initrd, at + n ? at + n : 1);
			if (!nb) {
				free(b);
				r = -ISOBOOT_ERR_NOMEM;
				goto fail;
			}
			memset(nb + img->initrd_len, 0, at - img->initrd_len);
			memcpy(nb + at, b, n);
			free(b);
			img->initrd = nb;
			img->initrd_len = at + n;
		}
		p += l;
		if (*p)
			p++;
	}
	r = snprintf(img->cmdline, sizeof(img->cmdline), "%s%s%s", e->append,
		     e->append[0] && extra && *extra ? " " : "", extra ? extra : "");
	if (r < 0 || (size_t)r >= sizeof(img->cmdline)) {
		r = -ISOBOOT_ERR_TOO_LONG;
		goto fail;
	}
	return 0;
fail:
	isoboot_image_free(img);
	return r;
}

static int write_memfd(const char *name, const void *buf, size_t len, char *path, size_t plen)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	const uint8_t *p = buf;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			return e;
		}
		p += n;
		left -= (size_t)n;
	}
	snprintf(path, plen, "/proc/self/fd/%d", fd);
	return 0; /* fd stays open: the path names it until isoboot_release() */
}

int isoboot_prepare(const char *iso_path, char *kernel_path, size_t kp_len,
		    char *initrd_path, size_t ip_len, char *cmdline, size_t cl_len,
		    char *err, size_t errlen)
{
	struct iso9660 iso;
	struct isoboot_entry *e = NULL;
	struct isoboot_image img;
	const char *cfg = NULL;
	struct stat st;
	int r;

	memset(&img, 0, sizeof(img));
	int fd = open(iso_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", iso_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	r = iso9660_open(&iso, iso9660_read_fd, (void *)(intptr_t)fd, (uint64_t)st.st_size);
	if (r) {
		snprintf(err, errlen, "%s: %s", iso_path, iso9660_strerror(r));
		goto out;
	}
	e = malloc(sizeof(*e));
	if (!e) {
		r = -ISOBOOT_ERR_NOMEM;
		snprintf(err, errlen, "%s: out of memory", iso_path);
		goto out;
	}
	r = isoboot_find(&iso, e, &cfg);
	if (r) {
		snprintf(err, errlen, "%s%s%s: %s", iso_path, cfg ? ":" : "", cfg ? cfg : "", isoboot_strerror(r));
		goto out;
	}
	r = isoboot_load(&iso, e, "console=ttyS0", &img);
	if (r) {
		snprintf(err, errlen, "%s: entry '%s' (%s, %s): %s", iso_path, e->label, e->kernel,
			 e->initrd[0] ? e->initrd : "no initrd", isoboot_strerror(r));
		goto out;
	}
	if (strlen(img.cmdline) >= cl_len) {
		r = -ISOBOOT_ERR_TOO_LONG;
		snprintf(err, errlen, "%s: command line too long", iso_path);
		goto out;
	}
	strcpy(cmdline, img.cmdline);
	r = write_memfd("iso-kernel", img.kernel, img.kernel_len, kernel_path, kp_len);
	if (!r) {
		initrd_path[0] = 0;
		if (img.initrd)
			r = write_memfd("iso-initrd", img.initrd, img.initrd_len, initrd_path, ip_len);
	}
	if (r)
		snprintf(err, errlen, "memfd: %s", strerror(-r));
out:
	isoboot_image_free(&img);
	free(e);
	close(fd);
	return r;
}

void isoboot_release(const char *path)
{
	int fd;
	char end;
	if (path && sscanf(path, "/proc/self/fd/%d%c", &fd, &end) == 1 && fd > 2)
		close(fd);
}

const char *isoboot_strerror(int err)
{
	switch (-err) {
	case ISOBOOT_ERR_NO_CONFIG: return "no isolinux, syslinux or grub configuration";
	case ISOBOOT_ERR_NO_ENTRY: return "no Linux boot entry in the configuration";
	case ISOBOOT_ERR_TOO_LONG: return "path or command line too long";
	case ISOBOOT_ERR_INCLUDE: return "INCLUDE nested too deeply";
	case ISOBOOT_ERR_NOMEM: return "out of memory";
	default: return iso9660_strerror(err);
	}
}
