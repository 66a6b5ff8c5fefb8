// SPDX-License-Identifier: MIT
#include "pull.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

void tp_pull_init(struct tp_pull *p, tp_pull_fn next, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->next = next;
	p->ctx = ctx;
}

void tp_pull_release(struct tp_pull *p)
{
	free(p->peek);
	p->peek = NULL;
	p->peek_len = p->peek_pos = p->peek_cap = 0;
}

int tp_pull_peek(struct tp_pull *p, size_t want, const unsigned char **buf, size_t *got)
{
	if (want > p->peek_cap) {
		unsigned char *n = realloc(p->peek, want);

		if (!n)
			return tp_err_set(-ENOMEM, "out of memory for a %zu-byte look-ahead", want);
		p->peek = n;
		p->peek_cap = want;
	}
	while (p->peek_len < want) {
		size_t take;

		if (!p->cur_len) {
			const void *b;
			size_t n;
			int rc = p->next(p->ctx, &b, &n);

			if (rc < 0)
				return rc;
			if (!n)
				break;
			p->cur = b;
			p->cur_len = n;
		}
		take = want - p->peek_len < p->cur_len ? want - p->peek_len : p->cur_len;
		memcpy(p->peek + p->peek_len, p->cur, take);
		p->peek_len += take;
		p->cur += take;
		p->cur_len -= take;
	}
	*buf = p->peek;
	*got = p->peek_len < want ? p->peek_len : want;
	return 0;
}

int tp_pull_next(struct tp_pull *p, const void **buf, size_t *n)
{
	int rc;

	if (p->peek_pos < p->peek_len) {
		*buf = p->peek + p->peek_pos;
		*n = p->peek_len - p->peek_pos;
		p->peek_pos = p->peek_len;
	} else if (p->cur_len) {
		*buf = p->cur;
		*n = p->cur_len;
		p->cur_len = 0;
	} else {
		rc = p->next(p->ctx, buf, n);
		if (rc < 0)
			return rc;
	}
	p->pos += *n;
	return 0;
}

int tp_pull_read(struct tp_pull *p, void *buf, size_t len, size_t *got)
{
	size_t done = 0;

	while (done < len) {
		const unsigned char *src;
		size_t avail, take;

		if (p->peek_pos < p->peek_len) {
			src = p->peek + p->peek_pos;
			avail = p->peek_len - p->peek_pos;
		} else if (p->cur_len) {
			src = p->cur;
			avail = p->cur_len;
		} else {
			const void *b;
			int rc = p->next(p->ctx, &b, &avail);

			if (rc < 0)
				return rc;
			if (!avail)
				break;
			p->cur = b;
			p->cur_len = avail;
			continue;
		}
		take = len - done < avail ? len - done : avail;
		memcpy((unsigned char *)buf + done, src, take);
		done += take;
		if (src == p->cur) {
			p->cur += take;
			p->cur_len -= take;
		} else {
			p->peek_pos += take;
		}
	}
	p->pos += done;
	*got = done;
	return 0;
}
