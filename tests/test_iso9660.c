/* ISO 9660 parser tests: images made by xorriso (nested directories, long
 * names, Rock Ridge, Joliet, plain ISO) and hostile images patched in memory
 * (truncated, bad magic, no PVD, bad block size, loops, extents beyond the
 * image, malformed records), each asserting the exact error code. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "boot/iso9660.h"
#include "check.h"
#include "test_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/test_iso9660.XXXXXX";

struct mem { uint8_t *b; size_t n; };

static int mem_read(void *opaque, uint64_t off, void *buf, size_t len)
{
	struct mem *m = opaque;
	if (off > m->n || len > m->n - off)
		return -5;
	memcpy(buf, m->b + off, len);
	return 0;
}

/* tree/rel in tmpdir: the tree make_iso packs */
static void put_file(const char *rel, const char *text)
{
	char r[256];
	snprintf(r, sizeof(r), "tree/%s", rel);
	test_put_file(tmpdir, r, text, strlen(text));
}

static int make_iso(const char *name, const char *opts)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "xorriso -as mkisofs %s -o %s/%s %s/tree >/dev/null 2>&1", opts, tmpdir, name, tmpdir);
	return system(cmd);
}

static struct mem load_iso(const char *name)
{
	char p[512];
	struct mem m = { 0, 0 };
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	int fd = open(p, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) { perror(p); exit(2); }
	m.n = (size_t)st.st_size;
	m.b = malloc(m.n);
	if (read(fd, m.b, m.n) != (ssize_t)m.n) exit(2);
	close(fd);
	return m;
}

static const char deep_text[] = "deep file contents\n";
static const char long_text[] = "long name\n";

static void check_tree(const char *name, const char *opts, int rr, int joliet, int long_names)
{
	CHECK_EQ(make_iso(name, opts), 0);
	struct mem m = load_iso(name);
	struct iso9660 iso;
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n), 0);
	CHECK_EQ(iso.rock_ridge, rr);
	CHECK_EQ(iso.joliet_extent != 0, joliet);
	CHECK_STR(iso.volume_id, "VMMTEST");
	struct iso9660_entry e;
	CHECK_EQ(iso9660_lookup(&iso, "/dir1/dir2/dir3/deep.txt", &e), 0);
	CHECK_EQ(e.size, sizeof(deep_text) - 1);
	CHECK_EQ(e.is_dir, 0);
	CHECK_EQ(iso9660_lookup(&iso, "DIR1/Dir2", &e), 0);
	CHECK_EQ(e.is_dir, 1);
	uint8_t *buf = NULL;
	size_t len = 0;
	CHECK_EQ(iso9660_load(&iso, "/dir1/dir2/dir3/deep.txt", 1024, &buf, &len), 0);
	CHECK_EQ(len, sizeof(deep_text) - 1);
	if (buf)
		CHECK_MEM(buf, deep_text, len);
	free(buf);
	if (long_names) {
		buf = NULL;
		CHECK_EQ(iso9660_load(&iso, "/a_rather_long_file_name_beyond_8.3.text", 1024, &buf, &len), 0);
		if (buf)
			CHECK_STR((char *)buf, long_text);
		free(buf);
	}
	CHECK_EQ(iso9660_load(&iso, "/dir1/dir2/dir3/deep.txt", 4, &buf, &len), -ISO_ERR_TOO_BIG);
	CHECK_EQ(iso9660_load(&iso, "/dir1", 4096, &buf, &len), -ISO_ERR_IS_DIR);
	CHECK_EQ(iso9660_lookup(&iso, "/dir1/missing", &e), -ISO_ERR_NOT_FOUND);
	CHECK_EQ(iso9660_lookup(&iso, "/dir1/dir2/dir3/deep.txt/x", &e), -ISO_ERR_NOT_DIR);
	free(m.b);
}

/* Finds the directory record named name (ISO name, without ";1") in the
 * directory at extent; returns its offset in the image or 0. */
static size_t find_rec(const struct mem *m, uint32_t extent, const char *name)
{
	size_t base = (size_t)extent * 2048;
	for (size_t p = 0; p < 2048;) {
		uint8_t len = m->b[base + p];
		if (!len)
			break;
		uint8_t nl = m->b[base + p + 32];
		size_t want = strlen(name);
		if (nl >= want && !memcmp(m->b + base + p + 33, name, want) &&
		    (nl == want || m->b[base + p + 33 + want] == ';'))
			return base + p;
		p += len;
	}
	return 0;
}

static void put32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
	p[4] = (uint8_t)(v >> 24); p[5] = (uint8_t)(v >> 16); p[6] = (uint8_t)(v >> 8); p[7] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static void check_hostile(void)
{
	/* plain ISO 9660 (no RR/Joliet) so names are in the records we patch */
	CHECK_EQ(make_iso("plain.iso", "-V VMMTEST --norock"), 0);
	struct mem orig = load_iso("plain.iso");
	struct mem m = { malloc(orig.n), orig.n };
	struct iso9660 iso;
	struct iso9660_entry e;
	uint8_t *pvd = m.b + 16 * 2048;
#define RESET() memcpy(m.b, orig.b, orig.n), m.n = orig.n
	RESET();
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n), 0);
	uint32_t root = iso.root_extent;

	/* truncated: image ends inside the PVD */
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, 16 * 2048 + 100), -ISO_ERR_TRUNCATED);
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, 1000), -ISO_ERR_TRUNCATED);
	/* no magic */
	pvd[1] = 'X';
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n), -ISO_ERR_NOT_ISO);
	RESET();
	/* descriptor set without a PVD: type 3 then the terminator */
	pvd[0] = 3;
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n), -ISO_ERR_NO_PVD);
	RESET();
	/* logical block size 512 */
	pvd[128] = 0; pvd[129] = 2;
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n), -ISO_ERR_BAD_HEADER);
	RESET();
	/* root record not a directory */
	pvd[156 + 25] = 0;
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n), -ISO_ERR_BAD_HEADER);
	RESET();
	/* root extent beyond the image */
	put32be(pvd + 156 + 2, 0x7fffffff);
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n), -ISO_ERR_RANGE);
	RESET();
	/* root size beyond the image */
	put32be(pvd + 156 + 10, 0xffffffff);
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n), -ISO_ERR_RANGE);
	RESET();

	size_t dir1 = find_rec(&m, root, "DIR1");
	CHECK(dir1 != 0);
	if (!dir1)
		goto out;
	uint32_t dir1_ext = get32(m.b + dir1 + 2);
	size_t dir2 = find_rec(&m, dir1_ext, "DIR2");
	CHECK(dir2 != 0);
	/* loop: DIR1/DIR2 points back at the root */
	put32be(m.b + dir2 + 2, root);
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n), 0);
	CHECK_EQ(iso9660_lookup(&iso, "/DIR1/DIR2/DIR1/DIR2/DIR1", &e), -ISO_ERR_LOOP);
	RESET();
	/* loop: DIR1 points at itself */
	put32be(m.b + dir1 + 2, dir1_ext);
	size_t self = find_rec(&m, dir1_ext, "DIR2");
	put32be(m.b + self + 2, dir1_ext);
	CHECK_EQ(iso9660_lookup(&iso, "/DIR1/DIR2/DIR3", &e), -ISO_ERR_LOOP);
	RESET();
	/* directory extent beyond the file */
	put32be(m.b + dir1 + 2, (uint32_t)(m.n / 2048) + 10);
	CHECK_EQ(iso9660_lookup(&iso, "/DIR1/DIR2", &e), -ISO_ERR_RANGE);
	RESET();
	/* huge file size */
	size_t top = find_rec(&m, root, "TOP.TXT");
	CHECK(top != 0);
	put32be(m.b + top + 10, 0xfffffff0);
	CHECK_EQ(iso9660_lookup(&iso, "/TOP.TXT", &e), -ISO_ERR_RANGE);
	uint8_t *buf;
	size_t len;
	CHECK_EQ(iso9660_load(&iso, "/TOP.TXT", 1 << 20, &buf, &len), -ISO_ERR_RANGE);
	RESET();
	/* file extent plus size ends one byte past the image */
	put32be(m.b + top + 2, (uint32_t)(m.n / 2048) - 1);
	put32be(m.b + top + 10, 2049);
	CHECK_EQ(iso9660_lookup(&iso, "/TOP.TXT", &e), -ISO_ERR_RANGE);
	RESET();
	/* record length below the minimum */
	m.b[dir1] = 20;
	CHECK_EQ(iso9660_lookup(&iso, "/DIR1", &e), -ISO_ERR_BAD_RECORD);
	RESET();
	/* a record crossing the end of its directory: root size cut inside DIR1 */
	put32be(pvd + 156 + 10, (uint32_t)(dir1 - (size_t)root * 2048 + 34));
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n), 0);
	CHECK_EQ(iso9660_lookup(&iso, "/NOPE", &e), -ISO_ERR_BAD_RECORD);
	RESET();
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n), 0);
	/* name length larger than the record */
	m.b[dir1 + 32] = 200;
	CHECK_EQ(iso9660_lookup(&iso, "/DIR1", &e), -ISO_ERR_BAD_RECORD);
	RESET();
	/* record length zero: the rest of the block is padding, DIR1 unreachable
	 * only when it follows; the first record "." made 0 hides everything */
	m.b[(size_t)root * 2048] = 0;
	CHECK_EQ(iso9660_lookup(&iso, "/DIR1", &e), -ISO_ERR_NOT_FOUND);
	RESET();
	/* the read callback fails inside the claimed image size */
	CHECK_EQ(iso9660_open(&iso, mem_read, &m, m.n + 100 * 2048), 0);
	put32be(m.b + top + 2, (uint32_t)(m.n / 2048) + 10);
	CHECK_EQ(iso9660_load(&iso, "/TOP.TXT", 1 << 20, &buf, &len), -ISO_ERR_IO);
	RESET();
	CHECK_STR(iso9660_strerror(-ISO_ERR_LOOP), "directory loop");
	CHECK_STR(iso9660_strerror(-999), "unknown ISO 9660 error");
out:
	free(m.b);
	free(orig.b);
}

int main(void)
{
	if (system("command -v xorriso >/dev/null 2>&1") != 0) {
		printf("xorriso not installed: skipped\n");
		return 77;
	}
	if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 2; }
	put_file("dir1/dir2/dir3/deep.txt", deep_text);
	put_file("a_rather_long_file_name_beyond_8.3.text", long_text);
	put_file("top.txt", "top\n");
	check_tree("rr.iso", "-V VMMTEST -R", 1, 0, 1);
	check_tree("joliet.iso", "-V VMMTEST -J --norock", 0, 1, 1);
	check_tree("rrj.iso", "-V VMMTEST -R -J", 1, 1, 1);
	check_tree("plain.iso", "-V VMMTEST --norock", 0, 0, 0);
	check_hostile();
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd)) {}
	return check_done();
}
