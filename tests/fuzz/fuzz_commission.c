// SPDX-License-Identifier: MIT
/* libFuzzer target: what tpkit commission reads that it did not write
 * itself in this run (docs/commission.md §8, §11). Byte 0 picks:
 *  - even: a slot's record (commission-slotN, kept on the SD card, which
 *    anyone with the card can edit): refused whole with -EBADMSG, or
 *    parsed into a record whose text parses back to the same text;
 *  - odd: a node's kernel command line as it comes over the console
 *    (the node is not trusted), judged against a seeded record: never a
 *    crash, and a foreign root always says which. */
#include "bmc/commission/monitor.h"
#include "bmc/commission/state.h"
#include "fuzz_util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void record(const char *text)
{
	static char a[8192], b[8192];
	struct tp_cslot s, t;
	int rc = tp_cslot_parse(&s, 1, text, "fuzz");

	if (rc == -EBADMSG)
		return;
	if (rc != 0 || tp_cslot_format(&s, a, sizeof(a)) < 0 ||
	    tp_cslot_parse(&t, 1, a, "again") != 0 || tp_cslot_format(&t, b, sizeof(b)) < 0 ||
	    strcmp(a, b))
		abort();
}

static void cmdline(const char *line, size_t len)
{
	struct tp_cslot rec;
	char found[256] = "";

	tp_cslot_init(&rec, 1);
	strcpy(rec.root_uuid, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0");
	if (len & 1)
		strcpy(rec.nvme_root_uuid, "11111111-2222-4333-8444-555555555555");
	if (tp_cmon_root_foreign(&rec, line, len, found, sizeof(found)) == 1 && !found[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1 || size > 16384)
		return 0;
	if (!(text = tp_fuzz_text(data, size)))
		return 0;
	if (data[0] & 1)
		cmdline(text, size - 1);
	else
		record(text);
	free(text);
	return 0;
}
