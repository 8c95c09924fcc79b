/* Scatter-gather helpers (block/iov.h): every function walks the iovec
 * once, skipping whole entries until byte off, and never touches memory
 * outside [iov_base, iov_base + iov_len) of an entry. */
#include "block/iov.h"

#include <errno.h>
#include <string.h>

int block_iov_slice(const struct iovec *src, int cnt, size_t skip, size_t len, struct iovec *dst, int max)
{
	int n = 0;

	for (int i = 0; i < cnt && len > 0; i++) {
		size_t l = src[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		if (n == max)
			return -ENOBUFS;
		dst[n].iov_base = (char *)src[i].iov_base + skip;
		dst[n].iov_len = l;
		n++;
		len -= l;
		skip = 0;
	}
	return n;
}

enum iov_op { IOV_TO_BUF, IOV_FROM_BUF, IOV_MEMSET };

/* The one walk behind to_buf, from_buf and memset: c is the fill byte. */
static size_t iov_walk(const struct iovec *iov, int cnt, size_t off, void *buf, size_t len, enum iov_op op, int c)
{
	char *b = buf;
	size_t done = 0;

	for (int i = 0; i < cnt && done < len; i++) {
		size_t l = iov[i].iov_len, k;
		char *p;

		if (off >= l) {
			off -= l;
			continue;
		}
		p = (char *)iov[i].iov_base + off;
		k = l - off < len - done ? l - off : len - done;
		if (op == IOV_TO_BUF)
			memcpy(b + done, p, k);
		else if (op == IOV_FROM_BUF)
			memcpy(p, b + done, k);
		else
			memset(p, c, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t block_iov_to_buf(const struct iovec *iov, int cnt, size_t off, void *buf, size_t len)
{
	return iov_walk(iov, cnt, off, buf, len, IOV_TO_BUF, 0);
}

size_t block_iov_from_buf(const struct iovec *iov, int cnt, size_t off, const void *buf, size_t len)
{
	return iov_walk(iov, cnt, off, (void *)buf, len, IOV_FROM_BUF, 0);
}

size_t block_iov_memset(const struct iovec *iov, int cnt, size_t off, int c, size_t len)
{
	return iov_walk(iov, cnt, off, NULL, len, IOV_MEMSET, c);
}

void block_iov_advance(struct iovec **iov, int *cnt, size_t n)
{
	struct iovec *v = *iov;
	int left = *cnt;

	while (left > 0 && n >= v->iov_len) {
		n -= v->iov_len;
		v++;
		left--;
	}
	if (left > 0) {
		v->iov_base = (char *)v->iov_base + n;
		v->iov_len -= n;
	}
	*iov = v;
	*cnt = left;
}

size_t block_iov_size(const struct iovec *iov, int cnt)
{
	size_t total = 0;

	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	return total;
}
