// SPDX-License-Identifier: MIT
#include "slots.h"
#include "err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int parse_num(const char **p, unsigned *out)
{
	unsigned v = 0;
	int digits = 0;

	while (isdigit((unsigned char)**p)) {
		v = v * 10 + (unsigned)(**p - '0');
		if (v > 1000)
			return -1;
		(*p)++;
		digits++;
	}
	*out = v;
	return digits ? 0 : -1;
}

int tp_slots_parse(const char *list, unsigned nslots, unsigned *mask)
{
	const char *p = list;
	unsigned m = 0, a, b;

	if (!list || !*list)
		return tp_err_set(-EINVAL, "empty slot list; give slots as 2, 1-4 or 1,3");
	for (;;) {
		const char *item = p;

		if (parse_num(&p, &a) < 0)
			goto bad;
		b = a;
		if (*p == '-') {
			p++;
			if (parse_num(&p, &b) < 0)
				goto bad;
		}
		if (*p != ',' && *p != '\0')
			goto bad;
		if (a > b && b >= 1 && a <= nslots)
			return tp_err_set(-EINVAL, "slot list \"%s\": \"%.*s\" is a reversed range; "
					  "write %u-%u", list, (int)(p - item), item, b, a);
		if (a < 1 || b > nslots || a > b)
			return tp_err_set(-EINVAL,
					  "slot list \"%s\": \"%.*s\" is not within 1-%u",
					  list, (int)(p - item), item, nslots);
		for (unsigned s = a; s <= b; s++)
			m |= TP_SLOT_BIT(s);
		if (*p == '\0')
			break;
		p++;
	}
	*mask = m;
	return 0;
bad:
	return tp_err_set(-EINVAL, "invalid slot list \"%s\" (at \"%s\"); give slots as 2, 1-4 or 1,3",
			  list, p);
}

char *tp_slots_format(unsigned mask, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned s = 1; s <= 32 && len < size; s++) {
		unsigned e = s;

		if (!(mask & TP_SLOT_BIT(s)))
			continue;
		while (e < 32 && (mask & TP_SLOT_BIT(e + 1)))
			e++;
		if (e == s)
			len += (size_t)snprintf(buf + len, size - len, "%s%u", len ? "," : "", s);
		else
			len += (size_t)snprintf(buf + len, size - len, "%s%u-%u", len ? "," : "",
						s, e);
		s = e;
	}
	return buf;
}

unsigned tp_slots_count(unsigned mask)
{
	return (unsigned)__builtin_popcount(mask);
}
