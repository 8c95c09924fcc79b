/* Unit tests for block/snapshot.c (-snapshot's temporary qcow2 overlays):
 * the guest sees its own writes, the image's bytes never change and it is
 * opened read-only, the overlay is mode 0600 and already unlinked once
 * open, two overlays on one image are independent, errors are one line. */
#include "tests/check.h"
#include "tests/qcow2_test_util.h"
#include "block/snapshot.h"
#include "qcow2/qcow2.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMG_SIZE (1u << 20)

static char dir[64], tmpdir[96];

/* Entries in tmpdir (the overlays must never be visible there). */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Our fds whose link names contain needle: how many, and the open flags and
 * st_mode of the last one (through /proc/self/fd and fdinfo). */
static int find_fds(const char *needle, int *flags, mode_t *mode)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char p[300], link[PATH_MAX + 1];
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		ssize_t l = readlink(p, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = '\0';
		if (!strstr(link, needle))
			continue;
		struct stat st;
		if (stat(p, &st) == 0)
			*mode = st.st_mode & 07777;
		snprintf(p, sizeof(p), "/proc/self/fdinfo/%s", e->d_name);
		FILE *f = fopen(p, "r");
		char line[128];
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "flags: %o", flags) == 1)
				break;
		if (f)
			fclose(f);
		n++;
	}
	closedir(d);
	return n;
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

/* One image (path, whose guest-visible content is virt), opened through an
 * overlay with format fmt (NULL: probed; expect_fmt is what the overlay's
 * backing is). */
static void check_image(const char *path, const char *fmt, const char *expect_fmt, const uint8_t *virt)
{
	size_t len0, len1;
	uint8_t *before = qt_slurp(path, &len0), buf[8192], pat[8192];
	struct stat st0, st1;
	struct block_engine *eng;
	struct block_dev *a = NULL, *b = NULL;
	struct block_open_opts o = { .format = fmt, .cache_direct = 1 };
	char msg[512] = "";

	CHECK(before != NULL);
	CHECK_EQ(stat(path, &st0), 0);
	CHECK_EQ(block_engine_create(&eng, 16, 1), 0);
	CHECK_EQ(block_open_snapshot(&a, path, &o, eng, tmpdir, msg, sizeof(msg)), 0);
	if (!a) {
		fprintf(stderr, "block_open_snapshot(%s): %s\n", path, msg);
		free(before);
		block_engine_destroy(eng);
		return;
	}
	CHECK_EQ(count_entries(tmpdir), 0);         /* unlinked right after open */
	CHECK_STR(a->drv->format, "qcow2");
	CHECK_EQ(a->read_only, 0);
	CHECK_EQ(a->size, IMG_SIZE);
	CHECK(a->backing != NULL);
	if (a->backing) {
		CHECK_STR(a->backing->drv->format, expect_fmt);
		CHECK_EQ(a->backing->read_only, 1);
		CHECK(a->backing->filename[0] == '/');  /* absolute, even for a relative path */
	}
	int flags = -1;
	mode_t mode = 0;
	CHECK_EQ(find_fds("vmm-snapshot.", &flags, &mode), 1);
	CHECK_EQ(mode, 0600);
	CHECK((flags & O_ACCMODE) == O_RDWR);
	CHECK(find_fds(" (deleted)", &flags, &mode) >= 1);
	int n = find_fds(strrchr(path, '/') ? strrchr(path, '/') : path, &flags, &mode);
	CHECK(n >= 1);                               /* the image: open, read-only */
	CHECK((flags & O_ACCMODE) == O_RDONLY);

	/* Reads come from the image; writes stay in the overlay. */
	CHECK_EQ(block_pread_sync(a, 4096, buf, 8192), 0);
	CHECK_MEM(buf, virt + 4096, 8192);
	fill(pat, sizeof(pat), 99);
	CHECK_EQ(block_pwrite_sync(a, 4096 + 512, pat, 4096), 0);
	CHECK_EQ(block_pwrite_sync(a, IMG_SIZE - 512, pat, 512), 0);
	CHECK_EQ(block_pread_sync(a, 4096, buf, 8192), 0);
	CHECK_MEM(buf, virt + 4096, 512);
	CHECK_MEM(buf + 512, pat, 4096);
	CHECK_MEM(buf + 4608, virt + 4096 + 4608, 8192 - 4608);
	CHECK_EQ(block_flush_sync(a), 0);

	/* A second overlay on the same image at the same time (parallel test
	 * runs): it sees the pristine image, not the first one's writes. */
	CHECK_EQ(block_open_snapshot(&b, path, &o, eng, tmpdir, msg, sizeof(msg)), 0);
	if (b) {
		CHECK_EQ(block_pread_sync(b, 4096, buf, 8192), 0);
		CHECK_MEM(buf, virt + 4096, 8192);
		fill(pat, sizeof(pat), 5);
		CHECK_EQ(block_pwrite_sync(b, 0, pat, 1024), 0);
		CHECK_EQ(block_pread_sync(b, 0, buf, 1024), 0);
		CHECK_MEM(buf, pat, 1024);
		CHECK_EQ(block_pread_sync(a, 0, buf, 1024), 0);
		CHECK_MEM(buf, virt, 1024);
		block_close(b);
	}
	block_close(a);
	block_engine_destroy(eng);

	uint8_t *after = qt_slurp(path, &len1);
	CHECK(after != NULL);
	CHECK_EQ(len1, len0);
	if (after && len1 == len0)
		CHECK_MEM(after, before, len0);
	CHECK_EQ(stat(path, &st1), 0);
	CHECK_EQ(st1.st_mtim.tv_sec, st0.st_mtim.tv_sec);
	CHECK_EQ(st1.st_mtim.tv_nsec, st0.st_mtim.tv_nsec);
	CHECK_EQ(count_entries(tmpdir), 0);
	CHECK_EQ(find_fds("vmm-snapshot.", &flags, &mode), 0);
	free(before);
	free(after);
}

static void test_errors(void)
{
	struct block_engine *eng;
	struct block_dev *bs = (struct block_dev *)1;
	struct block_open_opts o = { 0 };
	char msg[512] = "", path[160], nodir[160];

	CHECK_EQ(block_engine_create(&eng, 4, 1), 0);
	snprintf(path, sizeof(path), "%s/missing.img", dir);
	CHECK_EQ(block_open_snapshot(&bs, path, &o, eng, tmpdir, msg, sizeof(msg)), -ENOENT);
	CHECK(bs == NULL);
	CHECK_STR(msg, "No such file or directory");
	CHECK_EQ(count_entries(tmpdir), 0);

	snprintf(path, sizeof(path), "%s/disk.raw", dir);
	snprintf(nodir, sizeof(nodir), "%s/nodir", dir);
	CHECK_EQ(block_open_snapshot(&bs, path, &o, eng, nodir, msg, sizeof(msg)), -ENOENT);
	CHECK(bs == NULL);
	char want[400];
	snprintf(want, sizeof(want), "snapshot: cannot create a temporary overlay in %s: No such file or directory"
		 " (set TMPDIR to a writable directory)", nodir);
	CHECK_STR(msg, want);
	CHECK(strchr(msg, '\n') == NULL);

	/* tmpdir NULL: $TMPDIR, then /var/tmp. */
	setenv("TMPDIR", nodir, 1);
	CHECK_STR(block_snapshot_dir(), nodir);
	CHECK_EQ(block_open_snapshot(&bs, path, &o, eng, NULL, msg, sizeof(msg)), -ENOENT);
	CHECK_STR(msg, want);
	setenv("TMPDIR", "", 1);
	CHECK_STR(block_snapshot_dir(), "/var/tmp");
	unsetenv("TMPDIR");
	CHECK_STR(block_snapshot_dir(), "/var/tmp");
	setenv("TMPDIR", tmpdir, 1);
	CHECK_EQ(block_open_snapshot(&bs, path, &o, eng, NULL, msg, sizeof(msg)), 0);
	CHECK_EQ(count_entries(tmpdir), 0);
	if (bs)
		block_close(bs);

	/* A qcow2 image that is not one (bad magic under format=qcow2). */
	o.format = "qcow2";
	CHECK(block_open_snapshot(&bs, path, &o, eng, tmpdir, msg, sizeof(msg)) < 0);
	CHECK(bs == NULL);
	CHECK(msg[0] != '\0' && strchr(msg, '\n') == NULL);
	CHECK_EQ(count_entries(tmpdir), 0);
	block_engine_destroy(eng);
}

int main(void)
{
	uint8_t *data = malloc(IMG_SIZE), *qdata = calloc(1, IMG_SIZE);
	char raw[128], q[128];
	struct block_engine *eng;
	struct block_dev *bs;
	struct block_open_opts rw = { .format = "qcow2" };

	snprintf(dir, sizeof(dir), "/tmp/test_block_snapshot.XXXXXX");
	if (!data || !qdata || !mkdtemp(dir)) {
		perror("set-up");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", dir);
	CHECK_EQ(mkdir(tmpdir, 0700), 0);
	fill(data, IMG_SIZE, 1);
	snprintf(raw, sizeof(raw), "%s/disk.raw", dir);
	CHECK_EQ(qt_write_file(raw, data, IMG_SIZE), 0);

	/* A qcow2 image with data in it (some clusters allocated, the rest not). */
	snprintf(q, sizeof(q), "%s/disk.qcow2", dir);
	struct qcow2_create_opts co = { .size = IMG_SIZE };
	CHECK_EQ(qcow2_create(q, &co), 0);
	CHECK_EQ(block_engine_create(&eng, 4, 1), 0);
	CHECK_EQ(block_open(&bs, q, &rw, eng, NULL), 0);
	CHECK_EQ(block_pwrite_sync(bs, 0, data, 256 << 10), 0);
	memcpy(qdata, data, 256 << 10);
	block_close(bs);
	block_engine_destroy(eng);

	check_image(raw, "raw", "raw", data);
	check_image(raw, NULL, "raw", data);              /* probed */
	check_image(q, NULL, "qcow2", qdata);
	check_image(q, "qcow2", "qcow2", qdata);
	/* A relative name: the overlay's backing file is still absolute. */
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) && chdir(dir) == 0) {
		check_image("disk.qcow2", NULL, "qcow2", qdata);
		CHECK_EQ(chdir(cwd), 0);
	}
	test_errors();

	qt_sh("rm -rf %s", dir);
	free(data);
	free(qdata);
	return check_done();
}
