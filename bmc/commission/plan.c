// SPDX-License-Identifier: MIT
/*
 * The plan of `tpkit commission` (docs/commission.md §4): for each slot,
 * its configuration and its record decide one action, by the table
 * below, so that --plan prints exactly what a run will do.
 */
#include "plan.h"
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const action_names[] = {
	[TP_CPLAN_SKIP] = "skip",   [TP_CPLAN_LEAVE] = "leave", [TP_CPLAN_FLASH] = "flash",
	[TP_CPLAN_BOOT] = "boot",   [TP_CPLAN_FOLLOW] = "follow",
};

const char *tp_cplan_action_name(enum tp_cplan_action a)
{
	return (unsigned)a < sizeof(action_names) / sizeof(action_names[0]) ? action_names[a] : "?";
}

/*
 * A record's state → the action (with --reflash in the second column) and
 * the reason. A slot stopped mid-flash is flashed again (its boot block
 * is blank or the whole image is there, recovery.md, but its seed may not
 * be); one that failed starts over; one the node was running on is
 * followed again, never re-flashed behind the helper's back.
 */
static const struct {
	enum tp_cplan_action act, act_reflash;
	const char *why;
} by_state[TP_CS_COUNT] = {
	[TP_CS_NEW] = { TP_CPLAN_FLASH, TP_CPLAN_FLASH, "never commissioned" },
	[TP_CS_FLASHING] = { TP_CPLAN_FLASH, TP_CPLAN_FLASH,
			     "a flash was stopped half-way: flashed again" },
	[TP_CS_FLASHED] = { TP_CPLAN_BOOT, TP_CPLAN_FLASH, "flashed and seeded, not booted yet" },
	[TP_CS_BOOTING] = { TP_CPLAN_FOLLOW, TP_CPLAN_FLASH,
			    "was booting: its console is followed again" },
	[TP_CS_RUNNING] = { TP_CPLAN_FOLLOW, TP_CPLAN_FLASH,
			    "the node helper was running: its console is followed again" },
	[TP_CS_REBOOTING] = { TP_CPLAN_FOLLOW, TP_CPLAN_FLASH,
			      "was rebooting: its console is followed again" },
	[TP_CS_DONE] = { TP_CPLAN_LEAVE, TP_CPLAN_FLASH, "already done: left alone" },
	[TP_CS_FAILED] = { TP_CPLAN_FLASH, TP_CPLAN_FLASH, "failed before: starts over" },
};

static void get(const struct tp_config *cfg, unsigned slot, const char *key, char *buf,
		size_t size)
{
	char name[TP_CONFIG_KEY_MAX];

	snprintf(name, sizeof(name), "slot/%u/%s", slot, key);
	if (tp_config_get(cfg, name, buf, size) < 0)
		snprintf(buf, size, "?");
}

/* What the node helper will do about the NVMe (node-helper.md §2,
 * migrate's decision), as far as the BMC can tell before the node runs. */
static void migrate_text(struct tp_cplan_slot *p, const struct tp_cplan_opts *o)
{
	const char *m = p->rec.module;
	const char *wipe = o->wipe_nvme ? "; an old NVMe system that boots first wipes the NVMe "
					  "and reboots (--wipe-nvme)" : "";

	if (!strcmp(p->role, "none"))
		snprintf(p->migrate, sizeof(p->migrate), "-");
	else if (!strcmp(m, "cm4"))
		snprintf(p->migrate, sizeof(p->migrate), "a CM4 stays on its eMMC");
	else if (!strcmp(p->nvme, "never"))
		snprintf(p->migrate, sizeof(p->migrate), "stays on the eMMC (nvme never)");
	else if (!strcmp(p->nvme, "required"))
		snprintf(p->migrate, sizeof(p->migrate),
			 "moves its root to the NVMe (required: fails without one)%s", wipe);
	else
		snprintf(p->migrate, sizeof(p->migrate),
			 "moves its root to an empty NVMe if an RK1 has one (nvme auto)%s", wipe);
}

static int plan_one(const struct tp_config *cfg, unsigned slot, const struct tp_cplan_opts *o,
		    struct tp_cplan_slot *p)
{
	memset(p, 0, sizeof(*p));
	p->slot = slot;
	get(cfg, slot, "role", p->role, sizeof(p->role));
	get(cfg, slot, "hostname", p->hostname, sizeof(p->hostname));
	get(cfg, slot, "image", p->image, sizeof(p->image));
	get(cfg, slot, "nvme", p->nvme, sizeof(p->nvme));
	p->rec_rc = tp_cslot_load(&p->rec, slot);
	if (p->rec_rc == -EBADMSG)
		snprintf(p->rec_err, sizeof(p->rec_err), "%s", tp_err_msg());
	else if (p->rec_rc < 0 && p->rec_rc != -ENOENT)
		return p->rec_rc;
	migrate_text(p, o);

	if (!strcmp(p->role, "none")) {
		p->action = TP_CPLAN_SKIP;
		snprintf(p->why, sizeof(p->why), "role none: not commissioned");
	} else if (p->rec_rc == -EBADMSG && !o->reflash) {
		/* Unknown is not "new": the node may be a working one. */
		p->action = TP_CPLAN_SKIP;
		snprintf(p->why, sizeof(p->why),
			 "its record is damaged: left alone (--reflash starts it over)");
	} else if (p->rec_rc == -EBADMSG) {
		p->action = TP_CPLAN_FLASH;
		snprintf(p->why, sizeof(p->why), "its record is damaged: --reflash starts over");
	} else if (o->wipe_nvme && !strcmp(p->rec.module, "cm4")) {
		return tp_err_set(-EINVAL, "--wipe-nvme: slot %u holds a CM4 (its last flash), which "
				  "has no NVMe on the Turing Pi 2; leave it out (--slot)", slot);
	} else if (o->wipe_nvme) {
		/* commission.md §11: the fresh eMMC's seed tells the old
		 * system's guard to wipe the NVMe. */
		p->action = TP_CPLAN_FLASH;
		p->wipe_nvme = true;
		snprintf(p->why, sizeof(p->why), "%s, flashed again with wipe_nvme=yes (--wipe-nvme): "
			 "an old NVMe system that boots instead wipes its NVMe and reboots",
			 tp_cstate_name(p->rec.state));
	} else if (p->rec.state == TP_CS_FAILED && !o->reflash &&
		   !strncmp(p->rec.reason, TP_CSLOT_OLD_NVME, strlen(TP_CSLOT_OLD_NVME))) {
		/* A new flash alone boots the same old system (§11). */
		p->action = TP_CPLAN_SKIP;
		snprintf(p->why, sizeof(p->why), "the old NVMe system boots instead of its eMMC: left "
			 "alone; --wipe-nvme flashes it and has the NVMe wiped (--reflash would boot "
			 "the old system again)");
	} else if (p->rec.state == TP_CS_FAILED && !o->reflash && o->unattended) {
		/* Started over at every BMC boot, a broken node would be
		 * flashed again and again with nobody looking (§12). */
		p->action = TP_CPLAN_SKIP;
		snprintf(p->why, sizeof(p->why), "failed before (%.160s): left for a person, not "
			 "started over at boot; `tpkit commission --slot %u` starts it over",
			 p->rec.reason[0] ? p->rec.reason : "no reason recorded", slot);
	} else {
		p->action = o->reflash ? by_state[p->rec.state].act_reflash :
					 by_state[p->rec.state].act;
		if (o->reflash && p->rec.state != TP_CS_NEW && p->rec.state != TP_CS_FLASHING &&
		    p->rec.state != TP_CS_FAILED)
			snprintf(p->why, sizeof(p->why), "%s, flashed again (--reflash)",
				 tp_cstate_name(p->rec.state));
		else if (p->rec.state == TP_CS_FAILED && p->rec.reason[0])
			snprintf(p->why, sizeof(p->why), "%s (%.180s)", by_state[p->rec.state].why,
				 p->rec.reason);
		else
			snprintf(p->why, sizeof(p->why), "%s", by_state[p->rec.state].why);
	}
	return 0;
}

int tp_cplan_make(const struct tp_config *cfg, unsigned mask, const struct tp_cplan_opts *o,
		  struct tp_cplan_slot *out)
{
	int n = 0;

	for (unsigned slot = 1; slot <= TP_SLOTS_MAX; slot++) {
		int rc;

		if (!(mask & TP_SLOT_BIT(slot)))
			continue;
		rc = plan_one(cfg, slot, o, &out[n]);
		if (rc < 0)
			return rc;
		n++;
	}
	return n;
}
