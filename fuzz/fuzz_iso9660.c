/* Fuzz target: ISO 9660 parsing (boot/iso9660.c: volume descriptors, Joliet,
 * Rock Ridge, directory records, path lookup) and the boot-loader
 * configuration search on it (boot/isoboot.c isoboot_find: isolinux.cfg,
 * grub.cfg). The input is the image, read through a memory callback. */
#include "fuzz/fuzz.h"
#include "boot/iso9660.h"
#include "boot/isoboot.h"

struct img { const uint8_t *p; size_t n; };

static int mem_read(void *opaque, uint64_t off, void *buf, size_t len)
{
	const struct img *m = opaque;

	if (off > m->n || len > m->n - off)
		return -5;   /* -EIO */
	memcpy(buf, m->p + off, len);
	return 0;
}

static int on_entry(void *opaque, const struct iso9660_entry *e)
{
	(*(int *)opaque)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img m = { data, size };
	struct iso9660 iso;
	struct iso9660_entry e;
	static struct isoboot_entry be;
	const char *cfg;
	uint8_t *buf;
	size_t len;
	int count = 0;

	if (iso9660_open(&iso, mem_read, &m, size) != 0)
		return 0;
	if (iso9660_lookup(&iso, "/", &e) == 0)
		iso9660_readdir(&iso, &e, on_entry, &count);
	if (iso9660_lookup(&iso, "/isolinux", &e) == 0 && e.is_dir)
		iso9660_readdir(&iso, &e, on_entry, &count);
	if (iso9660_load(&iso, "/isolinux/isolinux.cfg", 1 << 20, &buf, &len) == 0)
		free(buf);
	isoboot_find(&iso, &be, &cfg);
	return 0;
}
