/* Fuzz target: split-virtqueue chain parsing (devices/virtio/queue.c, virtio
 * 1.2 section 2.7). Guest memory is the fuzz input: two RAM regions with a
 * hole between them hold the input's bytes; the first 4 bytes choose the
 * queue size and features, the rest is RAM (descriptor table, rings and
 * indirect tables wherever the input puts them). Pops until empty or broken,
 * pushing each chain back. */
#include "fuzz/fuzz.h"
#include "devices/virtio/queue.h"

#define RAM0 0x10000u
#define RAM1 0x10000u
#define GAP  0x100000u

static uint8_t ram0[RAM0], ram1[RAM1];
static struct guest_memory mem;
static struct virtq_elem elem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct virtq q;
	uint16_t qsize;
	uint64_t features;
	unsigned cfg;

	if (!mem.nregions) {
		guest_memory_add_region(&mem, 0, RAM0, ram0);
		guest_memory_add_region(&mem, GAP, RAM1, ram1);
	}
	cfg = (unsigned)fuzz_take(&in, 4);
	qsize = (uint16_t)(1u << (cfg % 9));            /* 1..256 */
	features = ((cfg >> 4) & 1 ? 1ULL << 28 : 0) | ((cfg >> 5) & 1 ? 1ULL << 29 : 0);
	memset(ram0, 0, sizeof(ram0));
	memset(ram1, 0, sizeof(ram1));
	memcpy(ram0, in.p, in.n < RAM0 ? in.n : RAM0);
	if (in.n > RAM0)
		memcpy(ram1, in.p + RAM0, in.n - RAM0 < RAM1 ? in.n - RAM0 : RAM1);

	virtq_init(&q, &mem);
	/* Rings at fixed spots of the first region, or (cfg bit 6) in the
	 * second region straddling its end so that setup fails. */
	if (virtq_setup(&q, qsize, 0x0, 0x4000, 0x6000, features) != 0)
		return 0;
	if ((cfg >> 6) & 1)
		virtq_setup(&q, qsize, GAP + RAM1 - 16 * qsize, 0x4000, 0x6000, features);
	for (int i = 0; i < 4 * 256; i++) {
		int r = virtq_pop(&q, &elem);

		if (r <= 0)
			break;
		for (unsigned j = 0; j < elem.out_num + elem.in_num; j++)     /* touch every byte */
			if (elem.iov[j].iov_len)
				((volatile uint8_t *)elem.iov[j].iov_base)[elem.iov[j].iov_len - 1] ^= 0;
		virtq_push(&q, elem.head, (uint32_t)elem.in_len);
		virtq_should_notify(&q);
	}
	return 0;
}
