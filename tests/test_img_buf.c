/* Unit test of vmm-img's I/O buffers (qcow2/tools/img_common.c
 * img_alloc_buf): small buffers are page-aligned; from 1 MiB up they are
 * 2 MiB-aligned whole huge pages advised MADV_HUGEPAGE, so the kernel marks
 * the mapping THP-eligible (/proc/self/smaps "THPeligible: 1") whenever
 * transparent huge pages are not disabled on the host. */
#include "qcow2/tools/img_common.h"
#include "tests/check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The "THPeligible:" value of the smaps entry that contains p, or -1. */
static int thp_eligible(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	int inside = 0, val = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {   /* a mapping's first line */
			inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (inside && sscanf(line, "THPeligible: %d", &val) == 1)
			break;
	}
	fclose(f);
	return val;
}

static int thp_enabled(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char buf[128] = "";

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, "[never]") == NULL && buf[0] != 0;
}

int main(void)
{
	uint8_t *small = img_alloc_buf(4096), *mid = img_alloc_buf(64 << 10);
	uint8_t *one = img_alloc_buf(1 << 20), *four = img_alloc_buf(4 << 20);

	CHECK(small && mid && one && four);
	CHECK_EQ((uintptr_t)small % 4096, 0);
	CHECK_EQ((uintptr_t)mid % 4096, 0);
	CHECK_EQ((uintptr_t)one % IMG_HUGE_PAGE, 0);
	CHECK_EQ((uintptr_t)four % IMG_HUGE_PAGE, 0);
	/* Usable over the whole requested length. */
	memset(one, 0xa5, 1 << 20);
	memset(four, 0x5a, 4 << 20);
	CHECK_EQ(one[(1 << 20) - 1], 0xa5);
	CHECK_EQ(four[(4 << 20) - 1], 0x5a);
	if (thp_enabled()) {
		CHECK_EQ(thp_eligible(one), 1);
		CHECK_EQ(thp_eligible(four), 1);
	} else {
		printf("transparent huge pages disabled on this host: eligibility not checked\n");
	}
	free(small);
	free(mid);
	free(one);
	free(four);
	return check_done();
}
