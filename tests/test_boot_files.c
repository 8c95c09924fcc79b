/* boot/boot.c: the dispatcher's answers for files that are not kernels
 * (random bytes, empty, missing, a directory, ELF32 without multiboot), the
 * firmware fallback without -kernel, and the error texts vmm prints. */
#include <errno.h>
#include <sys/stat.h>

#include "tests/check.h"
#include "tests/test_boot_synth.h"

__attribute__((weak)) int firmware_load(struct guest_memory *mem, const struct boot_config *cfg,
					struct boot_cpu_state *cpu, const char **failed_path);

static struct guest_memory mem;

static int load_path(const char *path, const char **failed)
{
	struct boot_config cfg = { .kernel = path, .ncpus = 1 };
	struct boot_cpu_state cpu;
	*failed = NULL;
	return boot_load(&mem, &cfg, &cpu, failed);
}

int main(void)
{
	const char *failed;
	if (guest_memory_init(&mem, 32 << 20) < 0) {
		perror("guest_memory_init");
		return 2;
	}

	uint8_t rnd[16384];
	srand(42);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)rand();
	char *p = synth_write_file(rnd, sizeof(rnd));
	CHECK_EQ(load_path(p, &failed), -BOOT_ERR_FORMAT);
	CHECK(failed == p);
	CHECK_STR(boot_strerror(-BOOT_ERR_FORMAT), "not a bzImage, ELF vmlinux or multiboot kernel");
	unlink(p);
	free(p);

	p = synth_write_file("", 0);
	CHECK_EQ(load_path(p, &failed), -BOOT_ERR_FORMAT);
	CHECK(failed == p);
	unlink(p);
	free(p);

	CHECK_EQ(load_path("/nonexistent/vmlinuz", &failed), -BOOT_ERR_IO);
	CHECK_STR(failed, "/nonexistent/vmlinuz");
	CHECK_EQ(boot_errno(), ENOENT);
	CHECK_STR(boot_strerror(-BOOT_ERR_IO), strerror(ENOENT));

	CHECK_EQ(load_path("/tmp", &failed), -BOOT_ERR_IO);
	CHECK_EQ(boot_errno(), EISDIR);
	/* A FIFO is refused at once instead of blocking in open(). */
	char fifo[] = "/tmp/vmm-boot-fifo-XXXXXX";
	int tfd = mkstemp(fifo);
	close(tfd);
	unlink(fifo);
	CHECK_EQ(mkfifo(fifo, 0600), 0);
	CHECK_EQ(load_path(fifo, &failed), -BOOT_ERR_IO);
	CHECK_EQ(boot_errno(), EINVAL);
	unlink(fifo);

	/* ELF32 without a multiboot header is not something we boot. */
	struct synth s = synth_mb_elf32();
	memset(s.buf + 0x1000, 0, 12);
	p = synth_write_file(s.buf, s.len);
	CHECK_EQ(load_path(p, &failed), -BOOT_ERR_FORMAT);
	unlink(p);
	free(p);
	free(s.buf);

	/* A "HdrS" file too short for its boot sector: probe says not bzImage. */
	uint8_t tiny[0x100] = { 0 };
	p = synth_write_file(tiny, sizeof(tiny));
	CHECK_EQ(load_path(p, &failed), -BOOT_ERR_FORMAT);
	unlink(p);
	free(p);

	/* No -kernel: the firmware loader, or a clear refusal without it. */
	struct boot_config cfg = { .kernel = NULL, .ncpus = 1 };
	struct boot_cpu_state cpu;
	int r = boot_load(&mem, &cfg, &cpu, &failed);
	if (!firmware_load) {
		CHECK_EQ(r, -BOOT_ERR_NO_FIRMWARE);
		CHECK(failed == NULL);
		CHECK_STR(boot_strerror(r), "no -kernel given and firmware boot is not built");
	}

	/* Every code has its own text. */
	for (int e = 1; e < BOOT_ERR_MAX; e++) {
		CHECK(boot_strerror(-e) != NULL);
		CHECK(strcmp(boot_strerror(-e), "unknown boot error") != 0);
	}
	CHECK_STR(boot_strerror(-BOOT_ERR_MAX), "unknown boot error");
	guest_memory_destroy(&mem);
	return check_done();
}
