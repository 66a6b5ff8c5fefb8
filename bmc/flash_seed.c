// SPDX-License-Identifier: MIT
/*
 * The seeding step of a flash run, and of `tpkit seed` on a node already
 * flashed (docs/seeding.md §4 says what goes into the image and why).
 *
 * In a flash the step runs on the slot's writer thread as the pipeline's
 * before_head step: the body is on the eMMC and read back, the boot area
 * is still blank, so a seeding that fails leaves a node that does not boot
 * rather than one that boots the image's defaults (a known password).
 *
 * On a node already flashed the boot block is there. It is read, blanked
 * and flushed before the first seeded byte goes out, and put back (and
 * read back) only once the seed is on the eMMC and verified: a seeding cut
 * short at any instant again leaves no boot block, never a half-seeded
 * root that boots.
 */
#include "flash_seed.h"
#include "common/image.h"
#include "common/log.h"
#include "common/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tp_flash_seed_plan(struct tp_flash_seed *fs, unsigned slot, const char *module)
{
	struct tp_seed_req req = { .slot = slot, .module = module,
				   .node_helper = fs->node_helper, .wipe_nvme = fs->wipe_nvme };
	int rc;

	if (fs->plan && !strcmp(fs->module, module))
		return 0;
	tp_flash_seed_free(fs);
	fs->slot = slot;
	snprintf(fs->module, sizeof(fs->module), "%s", module);
	rc = tp_seed_plan_make(&req, &fs->plan);
	if (rc < 0) {
		fs->plan = NULL;
		return rc;
	}
	/* Said once per slot, however often the plan is remade: the node
	 * still commissions, but only with internet (docs/seeding.md §9). */
	if (tp_seed_plan_note(fs->plan) && !fs->noted) {
		TP_WARN("slot %u: no k3s bundle goes into the image: %s; the node will download "
			"k3s and needs internet", slot, tp_seed_plan_note(fs->plan));
		fs->noted = true;
	}
	return 0;
}

int tp_flash_seed_before_head(void *cookie, struct tp_sink *s, const void *head, size_t len)
{
	struct tp_flash_seed *fs = cookie;

	return tp_seed_apply(fs->plan, s, head, len, &fs->res);
}

/* The boot block put back as the pipeline writes it, then read back. */
static int put_boot_block(struct tp_sink *s, const unsigned char *bb, size_t len)
{
	unsigned char *back;
	int rc = tp_image_put_boot_block(s, bb, len);

	if (rc < 0)
		return rc;
	back = malloc(len);
	if (!back)
		return tp_err_set(-ENOMEM, "out of memory reading back the boot block");
	rc = tp_sink_pread(s, back, len, 0);
	if (rc == 0 && memcmp(back, bb, len))
		rc = tp_err_set(-EIO, "the boot block read back from %s differs from what was "
				"written; the node will not boot. Flash the slot again", s->desc);
	free(back);
	return rc;
}

int tp_flash_seed_existing(struct tp_flash_seed *fs, struct tp_sink *s)
{
	static const unsigned char zero[TP_IMAGE_BOOT_BLOCK];
	size_t hlen = TP_IMAGE_HEAD_SIZE;
	unsigned char *head;
	uint64_t base, size;
	char where[256];
	int rc;

	if (s->size && s->size < hlen)
		return tp_err_set(-ENOSPC, "%s holds only %llu bytes: no image there to seed",
				  s->desc, (unsigned long long)s->size);
	head = malloc(hlen);
	if (!head)
		return tp_err_set(-ENOMEM, "out of memory for the image's first MiB");
	rc = tp_sink_pread(s, head, hlen, 0);
	if (rc < 0) {
		tp_err_prefix(rc, "reading the partition table from %s: ", s->desc);
		goto out;
	}
	/* A blank boot block is what an interrupted flash or seeding leaves
	 * (seeding.md §7): the partition table went with it, and nothing
	 * here can tell which image the rest of the eMMC holds. */
	if (!memcmp(head, zero, sizeof(zero))) {
		rc = tp_err_set(-ENOENT, "%s: the boot block (its first %u KiB, with the partition "
				"table) is blank, as an interrupted flash or seeding leaves it; "
				"flash the node again (tpkit flash --seed)", s->desc,
				TP_IMAGE_BOOT_BLOCK / 1024);
		goto out;
	}
	/* Nothing written yet: an image without a root to seed is refused
	 * with the eMMC as it was. */
	rc = tp_seed_find_root(s, head, hlen, &base, &size, where, sizeof(where));
	if (rc < 0)
		goto out;
	rc = tp_sink_pwrite(s, zero, sizeof(zero), 0);
	if (rc == 0)
		rc = tp_sink_flush(s);
	if (rc == 0)
		rc = tp_seed_apply(fs->plan, s, head, hlen, &fs->res);
	if (rc == 0)
		rc = tp_sink_flush(s);
	if (rc < 0) {
		fs->boot_blank = true;
		goto out;
	}
	rc = put_boot_block(s, head, TP_IMAGE_BOOT_BLOCK);
	fs->boot_blank = rc < 0;
out:
	free(head);
	return rc;
}

void tp_flash_seed_record(const struct tp_flash_seed *fs, unsigned slot)
{
	char name[32], text[48];

	/* Kept for the migration to NVMe (commissioning.md §5.1): the root
	 * that boots must be the one seeded here. A record that cannot be
	 * written loses only that check; the seeding itself stands. */
	snprintf(name, sizeof(name), "slot%u.root_uuid", slot);
	snprintf(text, sizeof(text), "%s\n", fs->res.root_uuid);
	(void)tp_state_save(name, text);
}

void tp_flash_seed_free(struct tp_flash_seed *fs)
{
	tp_seed_plan_free(fs->plan);
	fs->plan = NULL;
	fs->module[0] = '\0';
}
