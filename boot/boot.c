/* Boot dispatcher (placeholder until the loaders land): refuses every file. */
#include "boot/boot.h"

int boot_load(struct guest_memory *mem, const struct boot_config *cfg,
	      struct boot_cpu_state *cpu, const char **failed_path)
{
	*failed_path = cfg->kernel;
	return -BOOT_ERR_UNSUPPORTED;
}

const char *boot_strerror(int err)
{
	return "boot loaders not built yet";
}
