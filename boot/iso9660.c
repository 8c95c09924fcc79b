/* ISO 9660 reader (ECMA-119 8.4 primary volume descriptor, 8.5 supplementary
 * (Joliet: escape sequences %/@ %/C %/E), 9.1 directory records; Rock Ridge
 * NM entries per RRIP 1.12 4.1.4 inside the SUSP system use area). Hostile
 * images: every record is checked against its block, its directory and the
 * image; directory loops on a lookup path are reported, never followed. */
#include "boot/iso9660.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ISO_MAX_DEPTH 64
#define ISO_MAX_DESCRIPTORS 64

static uint32_t get32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int iso9660_read_fd(void *opaque, uint64_t off, void *buf, size_t len)
{
	int fd = (int)(intptr_t)opaque;
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int iso_read(const struct iso9660 *iso, uint64_t off, void *buf, size_t len)
{
	if (off > iso->image_size || len > iso->image_size - off)
		return -ISO_ERR_RANGE;
	return iso->read(iso->opaque, off, buf, len) ? -ISO_ERR_IO : 0;
}

static int extent_ok(const struct iso9660 *iso, uint32_t extent, uint32_t size)
{
	uint64_t start = (uint64_t)extent * ISO9660_BLOCK;
	return start <= iso->image_size && size <= iso->image_size - start;
}

int iso9660_open(struct iso9660 *iso, iso9660_read_fn read, void *opaque, uint64_t image_size)
{
	uint8_t vd[ISO9660_BLOCK];
	struct iso9660 t;
	int have_pvd = 0;

	memset(&t, 0, sizeof(t));
	t.read = read;
	t.opaque = opaque;
	t.image_size = image_size;
	for (unsigned i = 0; i < ISO_MAX_DESCRIPTORS; i++) {
		uint64_t off = (uint64_t)(16 + i) * ISO9660_BLOCK;
		if (off + ISO9660_BLOCK > image_size)
			{ if (!have_pvd) return -ISO_ERR_TRUNCATED; break; }
		int r = iso_read(&t, off, vd, sizeof(vd));
		if (r)
			return r;
		if (memcmp(vd + 1, "CD001", 5) != 0) {
			if (i == 0)
				return -ISO_ERR_NOT_ISO;
			break;
		}
		if (vd[0] == 255)
			break;
		if (vd[0] != 1 && vd[0] != 2)
			continue;
		/* Logical block size (8.4.12), root directory record (8.4.18). */
		uint16_t bs = (uint16_t)(vd[128] | vd[129] << 8);
		const uint8_t *root = vd + 156;
		if (bs != ISO9660_BLOCK || root[0] < 34 || !(root[25] & 2))
			return -ISO_ERR_BAD_HEADER;
		uint32_t ext = get32le(root + 2), size = get32le(root + 10);
		if (!extent_ok(&t, ext, size))
			return -ISO_ERR_RANGE;
		if (vd[0] == 1 && !have_pvd) {
			have_pvd = 1;
			t.root_extent = ext;
			t.root_size = size;
			memcpy(t.volume_id, vd + 40, 32);
			t.volume_id[32] = 0;
			for (int k = 31; k >= 0 && t.volume_id[k] == ' '; k--)
				t.volume_id[k] = 0;
		} else if (vd[0] == 2 && vd[88] == '%' && vd[89] == '/' &&
			   (vd[90] == '@' || vd[90] == 'C' || vd[90] == 'E')) {
			t.joliet_extent = ext;
			t.joliet_size = size;
		}
	}
	if (!have_pvd)
		return -ISO_ERR_NO_PVD;
	/* Rock Ridge: SUSP "SP" entry at the start of the root's "." system use. */
	if (t.root_size >= 34) {
		int r = iso_read(&t, (uint64_t)t.root_extent * ISO9660_BLOCK, vd, ISO9660_BLOCK);
		if (r)
			return r;
		unsigned len = vd[0], nl = vd[32];
		unsigned su = 33 + nl + !(nl & 1);
		if (len >= 34 && len <= ISO9660_BLOCK && su + 7 <= len && vd[su] == 'S' && vd[su + 1] == 'P' &&
		    vd[su + 4] == 0xbe && vd[su + 5] == 0xef)
			t.rock_ridge = 1;
	}
	t.use_joliet = !t.rock_ridge && t.joliet_extent;
	*iso = t;
	return 0;
}

/* Fills e->name from a directory record rec of length len (validated). */
static void record_name(const struct iso9660 *iso, int joliet, const uint8_t *rec, unsigned len,
			struct iso9660_entry *e)
{
	unsigned nl = rec[32], o = 0;
	const uint8_t *n = rec + 33;

	e->name[0] = 0;
	if (iso->rock_ridge && !joliet) {
		unsigned p = 33 + nl + !(nl & 1);
		while (p + 4 <= len) {
			unsigned el = rec[p + 2];
			if (el < 4 || p + el > len)
				break;
			if (rec[p] == 'N' && rec[p + 1] == 'M' && el >= 5 && !(rec[p + 4] & 6)) {
				for (unsigned k = 5; k < el && o + 1 < sizeof(e->name); k++)
					e->name[o++] = (char)rec[p + k];
				e->name[o] = 0;
			}
			p += el;
		}
		if (o)
			return;
	}
	if (joliet) {
		for (unsigned k = 0; k + 1 < nl; k += 2) {
			unsigned c = (unsigned)n[k] << 8 | n[k + 1];
			if (c == ';')
				break;
			if (c < 0x80) {
				if (o + 1 >= sizeof(e->name)) break;
				e->name[o++] = (char)c;
			} else if (c < 0x800) {
				if (o + 2 >= sizeof(e->name)) break;
				e->name[o++] = (char)(0xc0 | c >> 6);
				e->name[o++] = (char)(0x80 | (c & 0x3f));
			} else {
				if (o + 3 >= sizeof(e->name)) break;
				e->name[o++] = (char)(0xe0 | c >> 12);
				e->name[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
				e->name[o++] = (char)(0x80 | (c & 0x3f));
			}
		}
	} else {
		for (unsigned k = 0; k < nl && n[k] != ';' && o + 1 < sizeof(e->name); k++)
			e->name[o++] = (char)n[k];
		if (o && e->name[o - 1] == '.')
			o--;
	}
	e->name[o] = 0;
}

static int walk_dir(const struct iso9660 *iso, int joliet, uint32_t extent, uint32_t size,
		    int (*fn)(void *arg, const struct iso9660_entry *e), void *arg)
{
	uint8_t blk[ISO9660_BLOCK];

	if (!extent_ok(iso, extent, size))
		return -ISO_ERR_RANGE;
	for (uint32_t done = 0; done < size; done += ISO9660_BLOCK) {
		uint32_t avail = size - done < ISO9660_BLOCK ? size - done : ISO9660_BLOCK;
		int r = iso_read(iso, ((uint64_t)extent * ISO9660_BLOCK) + done, blk, avail);
		if (r)
			return r;
		for (uint32_t p = 0; p < avail;) {
			unsigned len = blk[p];
			if (len == 0)
				break; /* padding to the next block (9.1.1) */
			if (len < 34 || p + len > avail)
				return -ISO_ERR_BAD_RECORD;
			const uint8_t *rec = blk + p;
			unsigned nl = rec[32];
			if (nl == 0 || 33 + nl > len)
				return -ISO_ERR_BAD_RECORD;
			p += len;
			if (nl == 1 && (rec[33] == 0 || rec[33] == 1))
				continue;
			struct iso9660_entry e;
			e.extent = get32le(rec + 2) + rec[1];
			e.size = get32le(rec + 10);
			e.is_dir = !!(rec[25] & 2);
			if (get32le(rec + 2) > UINT32_MAX - rec[1])
				return -ISO_ERR_RANGE;
			record_name(iso, joliet, rec, len, &e);
			if (!e.name[0])
				continue;
			r = fn(arg, &e);
			if (r)
				return r;
		}
	}
	return 0;
}

int iso9660_readdir(const struct iso9660 *iso, const struct iso9660_entry *dir,
		    int (*fn)(void *arg, const struct iso9660_entry *e), void *arg)
{
	if (!dir->is_dir)
		return -ISO_ERR_NOT_DIR;
	return walk_dir(iso, iso->use_joliet, dir->extent, dir->size, fn, arg);
}

struct find_arg {
	const char *name;
	size_t len;
	struct iso9660_entry *out;
};

static int find_cb(void *arg, const struct iso9660_entry *e)
{
	struct find_arg *f = arg;
	if (strlen(e->name) == f->len && strncasecmp(e->name, f->name, f->len) == 0) {
		*f->out = *e;
		return 1;
	}
	return 0;
}

int iso9660_lookup(const struct iso9660 *iso, const char *path, struct iso9660_entry *out)
{
	uint32_t seen[ISO_MAX_DEPTH];
	unsigned depth = 0;
	struct iso9660_entry cur;

	memset(&cur, 0, sizeof(cur));
	cur.is_dir = 1;
	cur.extent = iso->use_joliet ? iso->joliet_extent : iso->root_extent;
	cur.size = iso->use_joliet ? iso->joliet_size : iso->root_size;
	seen[depth++] = cur.extent;
	for (const char *p = path;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, "/");
		if (n == 1 && p[0] == '.') {
			p += n;
			continue;
		}
		if (!cur.is_dir)
			return -ISO_ERR_NOT_DIR;
		if (depth >= ISO_MAX_DEPTH || n >= sizeof(cur.name))
			return -ISO_ERR_TOO_BIG;
		struct iso9660_entry next;
		struct find_arg fa = { p, n, &next };
		int r = walk_dir(iso, iso->use_joliet, cur.extent, cur.size, find_cb, &fa);
		if (r < 0)
			return r;
		if (r == 0)
			return -ISO_ERR_NOT_FOUND;
		if (!extent_ok(iso, next.extent, next.size))
			return -ISO_ERR_RANGE;
		if (next.is_dir) {
			for (unsigned i = 0; i < depth; i++)
				if (seen[i] == next.extent)
					return -ISO_ERR_LOOP;
			seen[depth++] = next.extent;
		}
		cur = next;
		p += n;
	}
	*out = cur;
	return 0;
}

int iso9660_load(const struct iso9660 *iso, const char *path, size_t max, uint8_t **buf, size_t *len)
{
	struct iso9660_entry e;
	int r = iso9660_lookup(iso, path, &e);
	if (r)
		return r;
	if (e.is_dir)
		return -ISO_ERR_IS_DIR;
	if (e.size > max)
		return -ISO_ERR_TOO_BIG;
	uint8_t *b = malloc((size_t)e.size + 1);
	if (!b)
		return -ISO_ERR_NOMEM;
	r = iso_read(iso, (uint64_t)e.extent * ISO9660_BLOCK, b, e.size);
	if (r) {
		free(b);
		return r;
	}
	b[e.size] = 0;
	*buf = b;
	*len = e.size;
	return 0;
}

const char *iso9660_strerror(int err)
{
	static const char *const msg[ISO_ERR_MAX] = {
		[ISO_ERR_IO] = "read error",
		[ISO_ERR_TRUNCATED] = "image too short for an ISO 9660 volume",
		[ISO_ERR_NOT_ISO] = "not an ISO 9660 image (no CD001 at sector 16)",
		[ISO_ERR_NO_PVD] = "no primary volume descriptor",
		[ISO_ERR_BAD_HEADER] = "bad volume descriptor (block size or root record)",
		[ISO_ERR_BAD_RECORD] = "malformed directory record",
		[ISO_ERR_RANGE] = "extent beyond the end of the image",
		[ISO_ERR_LOOP] = "directory loop",
		[ISO_ERR_NOT_FOUND] = "no such file on the ISO",
		[ISO_ERR_NOT_DIR] = "not a directory",
		[ISO_ERR_IS_DIR] = "is a directory",
		[ISO_ERR_TOO_BIG] = "file or path too large",
		[ISO_ERR_NOMEM] = "out of memory",
	};
	int e = -err;
	if (e <= 0 || e >= ISO_ERR_MAX || !msg[e])
		return "unknown ISO 9660 error";
	return msg[e];
}
