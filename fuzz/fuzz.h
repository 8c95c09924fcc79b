/* Shared helpers of the libFuzzer targets in fuzz/ (one target per parser of
 * untrusted input, docs/security.md): the entry point every target defines,
 * and scratch files on tmpfs for parsers that take a path. */
#ifndef VMM_FUZZ_FUZZ_H
#define VMM_FUZZ_FUZZ_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A private scratch directory (created once per process, on /dev/shm when it
 * exists) so that relative names inside an input (qcow2 backing files) stay
 * inside it. */
static char fuzz_dir_[64];

static int fuzz_rm_(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static void fuzz_cleanup_(void)
{
	if (fuzz_dir_[0])
		nftw(fuzz_dir_, fuzz_rm_, 8, FTW_DEPTH | FTW_PHYS);
}

static inline const char *fuzz_scratch_dir(void)
{
	char *dir = fuzz_dir_;

	if (!dir[0]) {
		snprintf(dir, sizeof(fuzz_dir_), "%s/vmm-fuzz-XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			abort();
		}
		atexit(fuzz_cleanup_);
	}
	return dir;
}

/* Writes data to <scratch>/name (replacing it) and returns the path in a
 * static buffer. */
static inline const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fuzz_scratch_dir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		abort();
	}
	while (size) {
		ssize_t n = write(fd, data, size);

		if (n <= 0) {
			perror("write");
			abort();
		}
		data += n;
		size -= (size_t)n;
	}
	close(fd);
	return path;
}

/* A little reader over the rest of the input for targets that take
 * "operations" from it. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)in->p[0] << (8 * i);
	return v;
}

#endif
