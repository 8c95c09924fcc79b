/* Fuzz target: boot-loader configuration parsing (boot/isoboot.c): the input
 * is an isolinux.cfg/syslinux.cfg (first byte even) or a grub.cfg (odd);
 * INCLUDE directives get the same text back, to exercise nesting limits. */
#include "fuzz/fuzz.h"
#include "boot/isoboot.h"

struct text { const char *p; size_t n; int depth; };

static int include(void *opaque, const char *path, char **text, size_t *len)
{
	struct text *t = opaque;

	if (++t->depth > 64)
		return -1;
	*text = malloc(t->n + 1);
	if (!*text)
		return -1;
	memcpy(*text, t->p, t->n);
	(*text)[t->n] = 0;
	*len = t->n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct isoboot_entry e;
	struct text t;

	if (size < 1)
		return 0;
	t = (struct text){ (const char *)data + 1, size - 1, 0 };
	if (data[0] & 1)
		isoboot_parse_grub(t.p, t.n, &e);
	else
		isoboot_parse_syslinux(t.p, t.n, "/isolinux", include, &t, &e);
	return 0;
}
