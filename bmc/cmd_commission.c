// SPDX-License-Identifier: MIT
/*
 * tpkit commission [--plan] [--slot LIST] [--reflash] [--wipe-nvme]: the
 * configured slots taken from whatever state they are in to a node whose
 * helper reported done (docs/commission.md). --plan says what a run would
 * do and touches nothing; a run takes the commissioning lock, follows the
 * plan (bmc/commission/run.c) and prints its events as they come.
 */
#include "cli.h"
#include "commission/run.h"
#include "commission/live.h"
#include "status_watch.h"
#include "common/cancel.h"
#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/slots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void help(void)
{
	printf("Usage: tpkit commission [--plan] [--slot LIST] [--reflash] [--wipe-nvme]\n"
	       "                        [--unattended] [OPTIONS]\n\n"
	       "Take each configured slot (tpkit config) to a node whose helper reported done:\n"
	       "flash the slot's image and seed it, power it on, follow its console and the\n"
	       "node helper's verified reports (cloud-init, NVMe migration, k3s, ArgoCD).\n"
	       "Each slot's state is kept on the SD card: a second run resumes, and leaves a\n"
	       "slot that is done alone. A state that times out is retried (a power cycle,\n"
	       "then a new flash), then reported failed with the node's last console lines.\n"
	       "See docs/commission.md.\n\n"
	       "  --plan             say what would happen to each slot and why; touch nothing\n"
	       "  --slot LIST        only these slots (default: all): 2, 1-4, 1,3\n"
	       "  --reflash          flash again even a slot that is done or running\n"
	       "  --wipe-nvme        flash the RK1 slots again, seeding wipe_nvme=yes: an old\n"
	       "                     NVMe system that boots instead of the fresh eMMC wipes\n"
	       "                     its NVMe and reboots (docs/runbooks/old-nvme-boots.md)\n"
	       "  --unattended       for the BMC's init script: no terminal, no prompt; the\n"
	       "                     events and verdicts go to syslog (daemon, tag tpkit);\n"
	       "                     no configuration, or every slot done: exit 0 at once;\n"
	       "                     a slot that failed before waits for a person (exit 1)\n"
	       "  --node-helper FILE the node helper to install (default: the installed one)\n"
	       "%s"
	       "  --json             one JSON object per line: plan, log, result (docs/json.md)\n"
	       "  -v, -q, --board-rev, --gpio, -h: as every command (tpkit --help)\n\n"
	       "Exit codes: 0 every slot done or left alone, 1 a slot failed, 2 usage,\n"
	       "3 board, 4 another tpkit commission runs (its pid is named).\n\n"
	       "On a terminal a live table shows each slot while it runs (tpkit status\n"
	       "--watch shows the same from another shell); at the end a summary says how\n"
	       "to fetch the server's kubeconfig (tpkit kubeconfig).\n"
	       "Runbooks (re-flash, replace a module, boot loop, ...): docs/runbooks/.\n",
	       "  --loader, --rpiboot-dir, ...: the module options of tpkit flash\n");
}

static const char *action_text(const struct tp_cplan_slot *p, char *buf, size_t size)
{
	switch (p->action) {
	case TP_CPLAN_FLASH:
		snprintf(buf, size, "flash %s, seed, power on, follow the node helper", p->image);
		break;
	case TP_CPLAN_BOOT:
		snprintf(buf, size, "power on, follow the node helper");
		break;
	case TP_CPLAN_FOLLOW:
		snprintf(buf, size, "follow the node helper on its console");
		break;
	default:
		snprintf(buf, size, "nothing");
	}
	return buf;
}

static void print_plan(const struct tp_cli *c, const struct tp_cplan_slot *p, size_t n)
{
	char act[400];

	for (size_t i = 0; i < n; i++) {
		action_text(&p[i], act, sizeof(act));
		if (c->json) {
			struct tp_json j;

			tp_json_event(&j, stdout, "plan");
			tp_json_int(&j, "slot", p[i].slot);
			tp_json_str(&j, "action", tp_cplan_action_name(p[i].action));
			tp_json_str(&j, "does", act);
			tp_json_str(&j, "why", p[i].why);
			tp_json_str(&j, "state", p[i].rec_rc == -EBADMSG ? "damaged" :
						 tp_cstate_name(p[i].rec.state));
			tp_json_str(&j, "role", p[i].role);
			tp_json_str(&j, "hostname", p[i].hostname);
			tp_json_str(&j, "image", p[i].image);
			tp_json_str(&j, "nvme", p[i].nvme);
			tp_json_str(&j, "migrate", p[i].migrate);
			tp_json_obj_end(&j);
			continue;
		}
		printf("slot %u (%s, %s): %s\n", p[i].slot, p[i].hostname, p[i].role,
		       p[i].action == TP_CPLAN_LEAVE || p[i].action == TP_CPLAN_SKIP ? p[i].why : act);
		if (p[i].action != TP_CPLAN_LEAVE && p[i].action != TP_CPLAN_SKIP)
			printf("  why: %s\n", p[i].why);
		if (p[i].action == TP_CPLAN_FLASH)
			printf("  nvme: %s\n", p[i].migrate);
		if (p[i].rec_rc == -EBADMSG)
			printf("  record: %s\n", p[i].rec_err);
	}
	fflush(stdout);
}

/* How the run is shown: plain lines, the live table on a terminal, or
 * syslog when unattended (docs/commission.md §12). */
struct ui {
	const struct tp_cli *c;
	bool unattended, live;
	struct tp_watch w;
	uint64_t drawn_ms;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* An event as syslog lines: the failures louder than the progress. */
static void log_event(const struct tp_cevent *e)
{
	enum tp_log_level lv = !strcmp(e->kind, "failed") ? TP_LOG_ERR :
			       !strcmp(e->kind, "timeout") || !strcmp(e->kind, "retry") ||
					       !strcmp(e->kind, "rejected") || !strcmp(e->kind, "console") ?
			       TP_LOG_WARN : TP_LOG_INFO;
	const char *p = e->text;

	if (strcmp(e->kind, "console")) {
		tp_log(lv, "slot %u: %s [%s]: %s", e->slot, e->kind, e->state, e->text);
		return;
	}
	while (*p) {
		size_t l = strcspn(p, "\n");

		tp_log(lv, "slot %u: console | %.*s", e->slot, (int)l, p);
		p += l + (p[l] == '\n');
	}
}

/* Every round of the run: the live table at most once a second. */
static void on_tick(void *cookie)
{
	struct ui *u = cookie;
	bool ended;

	if (!u->live || mono_ms() - u->drawn_ms < 1000)
		return;
	u->drawn_ms = mono_ms();
	(void)tp_watch_update(&u->w, &ended);
}

static void on_event(void *cookie, const struct tp_cevent *e)
{
	struct ui *u = cookie;
	const struct tp_cli *c = u->c;
	bool ended;

	if (u->unattended) {
		log_event(e);
		if (!c->json)
			return;
	}
	if (u->live && !c->json) {
		/* The table shows the progress; what goes wrong is printed
		 * above it, and the table drawn again below. */
		if (!strcmp(e->kind, "console") || !strcmp(e->kind, "failed") ||
		    !strcmp(e->kind, "timeout") || !strcmp(e->kind, "rejected")) {
			tp_watch_erase(&u->w);
			u->live = false;
			on_event(u, e);
			u->live = true;
		}
		u->drawn_ms = mono_ms();
		(void)tp_watch_update(&u->w, &ended);
		return;
	}
	if (c->json) {
		struct tp_json j;

		/* What the unattended run logs, as a line. */
		tp_json_event(&j, stdout, "log");
		tp_json_int(&j, "slot", e->slot);
		tp_json_str(&j, "kind", e->kind);
		tp_json_str(&j, "state", e->state);
		tp_json_str(&j, "text", e->text);
		tp_json_obj_end(&j);
	} else if (!strcmp(e->kind, "console")) {
		/* The evidence of a failure: the node's last words, indented. */
		const char *p = e->text;

		fprintf(stderr, "slot %u: its console's last lines:\n", e->slot);
		while (*p) {
			size_t l = strcspn(p, "\n");

			fprintf(stderr, "  | %.*s\n", (int)l, p);
			p += l + (p[l] == '\n');
		}
	} else if (!strcmp(e->kind, "failed") || !strcmp(e->kind, "timeout") ||
		   !strcmp(e->kind, "rejected")) {
		fprintf(stderr, "slot %u: %s [%s]: %s\n", e->slot, e->kind, e->state, e->text);
	} else if (c->verbosity >= 0) {
		printf("slot %u: %s [%s]: %s\n", e->slot, e->kind, e->state, e->text);
	}
	fflush(stdout);
}

/* Under --json the run's result line, with a row per slot. */
static void json_done(const struct tp_cli *c, int code, const struct tp_cplan_slot *p,
		      const struct tp_crun_result *res, size_t n)
{
	struct tp_json j;

	if (!c->json)
		return;
	tp_cli_json_result(c, &j, NULL, code == 0);
	if (code)
		tp_json_int(&j, "exit", code);
	tp_json_arr_begin(&j, "slots");
	for (size_t i = 0; i < n; i++) {
		tp_json_obj_begin(&j, NULL);
		tp_json_int(&j, "slot", p[i].slot);
		tp_json_str(&j, "action", tp_cplan_action_name(p[i].action));
		if (res) {
			tp_json_str(&j, "state", tp_cstate_name(res[i].rec.state));
			tp_json_int(&j, "flashes", res[i].rec.flashes);
			tp_json_str(&j, "reason", res[i].rec.reason);
		} else {
			tp_json_str(&j, "state", p[i].rec_rc == -EBADMSG ? "damaged" :
						 tp_cstate_name(p[i].rec.state));
		}
		tp_json_obj_end(&j);
	}
	tp_json_arr_end(&j);
	tp_json_obj_end(&j);
	fflush(stdout);
}

static void summary(const struct tp_cli *c, const struct tp_cplan_slot *p,
		    const struct tp_crun_result *res, size_t n)
{
	if (c->json)
		return; /* json_done() */
	for (size_t i = 0; i < n; i++) {
		const struct tp_cslot *r = &res[i].rec;
		const char *word = p[i].action == TP_CPLAN_SKIP  ? "skipped" :
				   p[i].action == TP_CPLAN_LEAVE ? "already done: left alone" :
								   tp_cstate_name(r->state);

		if (c->verbosity >= 0) {
			printf("slot %u: %s%s%s\n", res[i].slot, word,
			       r->state == TP_CS_FAILED ? ": " : "",
			       r->state == TP_CS_FAILED ? r->reason : "");
		}
	}
	fflush(stdout);
}

/* What happened to a slot, in a few words, for the end's table. */
static void happened(const struct tp_cplan_slot *p, const struct tp_cslot *r, char *buf,
		     size_t size)
{
	if (p->action == TP_CPLAN_SKIP)
		snprintf(buf, size, "not commissioned (role none)");
	else if (p->action == TP_CPLAN_LEAVE)
		snprintf(buf, size, "%s", p->why);
	else if (r->state == TP_CS_FAILED)
		snprintf(buf, size, "%s", r->reason);
	else if (r->state == TP_CS_DONE)
		snprintf(buf, size, "%s, %s", r->flashes ? "flashed and seeded" : "followed",
			 "its helper done");
	else
		snprintf(buf, size, "stopped in state %s", tp_cstate_name(r->state));
}

/*
 * The end (docs/commission.md §12): every slot's hostname, address, role,
 * state and what happened, and for a server that is done where its
 * kubeconfig is and the command that fetches it. addr[slot] is the
 * configured address ("" for dhcp: the node's is not known to the BMC).
 */
static void end_table(const struct ui *u, const struct tp_cplan_slot *p,
		      const struct tp_crun_result *res, size_t n, char addr[][64])
{
	char what[TP_CSLOT_TEXT_MAX + 64], kc[256];

	for (size_t i = 0; i < n; i++) {
		const struct tp_cslot *r = &res[i].rec;

		happened(&p[i], r, what, sizeof(what));
		if (u->unattended)
			tp_log(r->state == TP_CS_FAILED ? TP_LOG_ERR : TP_LOG_INFO,
			       "slot %u (%s, %s): %s: %s", res[i].slot, p[i].hostname, p[i].role,
			       tp_cstate_name(r->state), what);
		if (u->unattended || u->c->json || u->c->verbosity < 0)
			continue;
		if (i == 0)
			printf("\nSLOT HOSTNAME         ADDRESS         ROLE   STATE    WHAT HAPPENED\n");
		printf("%-4u %-16.63s %-15.63s %-6s %-8s %s\n", res[i].slot, p[i].hostname,
		       addr[res[i].slot][0] ? addr[res[i].slot] : "(dhcp)", p[i].role,
		       tp_cstate_name(r->state), what);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned slot = res[i].slot;

		if (strcmp(p[i].role, "server") || res[i].rec.state != TP_CS_DONE ||
		    tp_clive_kubeconfig(slot, kc, sizeof(kc)) < 0)
			continue;
		if (u->unattended)
			tp_log(TP_LOG_INFO, "slot %u: kubeconfig at %s on %s; tpkit kubeconfig "
			       "--slot %u -o FILE fetches it", slot, kc, p[i].hostname, slot);
		if (u->unattended || u->c->json || u->c->verbosity < 0)
			continue;
		printf("\nThe server's kubeconfig: %s on %s (slot %u). Fetch it with:\n"
		       "  tpkit kubeconfig --slot %u -o kubeconfig\n", kc, p[i].hostname, slot, slot);
	}
	fflush(stdout);
}

/* No value file at all: nobody configured this board (an unattended run
 * then has nothing to do; docs/commission.md §12). */
static bool unconfigured(const struct tp_config *cfg)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (cfg->item[i].value)
			return false;
	return true;
}

/* What tpkit config check warns of (docs/commission.md §14), said once
 * before a run or a plan; it stops nothing. */
static void warn_config(const struct tp_config *cfg)
{
	char buf[2048];
	int n = tp_config_warnings(cfg, buf, sizeof(buf));

	if (n > 0)
		tp_cli_warn_lines("commission", buf);
}

/* A module's own option (--loader, ...): checked by its module, kept in
 * the flash options, as tpkit flash does. */
struct mopt_dst {
	struct tp_flash_opts *o;
	const struct tp_flash_module *m;
	const struct tp_flash_mopt *opt;
};

static int set_mopt(const struct tp_cli *c, void *dst, const char *arg)
{
	const struct mopt_dst *d = dst;

	if (tp_flash_opt_set(d->o, d->m, d->opt, arg) < 0)
		return tp_cli_usage(c, "%s", tp_err_msg());
	return 0;
}

int cmd_commission_main(struct tp_cli *c, int argc, char **argv)
{
	struct tp_crun_opts ro = { .flash = { .enum_timeout_ms = CONFIG_TPKIT_FLASH_ENUM_TIMEOUT_MS },
				   .event = on_event, .tick = on_tick };
	struct tp_cplan_opts po = { 0 };
	unsigned mask = TP_SLOTS_ALL;
	bool plan_only = false, failed = false;
	const struct tp_cli_opt own[] = {
		{ "plan", 0, TP_CLI_FLAG, &plan_only },
		{ "slot", 0, TP_CLI_SLOTS, &mask },
		{ "reflash", 0, TP_CLI_FLAG, &po.reflash },
		{ "wipe-nvme", 0, TP_CLI_FLAG, &po.wipe_nvme },
		{ "node-helper", 0, TP_CLI_STR, &ro.flash.node_helper },
		{ "unattended", 0, TP_CLI_FLAG, &po.unattended },
	};
	struct tp_cli_opt opts[TP_FLASH_MOPTS_MAX + sizeof(own) / sizeof(own[0]) + 1];
	struct mopt_dst md[TP_FLASH_MOPTS_MAX];
	struct ui *u = NULL;
	char addr[TP_SLOTS_MAX + 1][64] = { { 0 } };
	bool idle = true;
	struct tp_cplan_slot plan[TP_SLOTS_MAX];
	struct tp_crun_result res[TP_SLOTS_MAX];
	struct tp_config *cfg;
	struct tp_board *b = NULL;
	size_t nl = 0;
	int rc, n, lock = -1, ret;

	tp_image_opts_init(&ro.flash.io);
	/* The modules' own options (--loader, ...), as tpkit flash has them. */
	for (size_t i = 0; i < TP_FLASH_MODULES; i++)
		for (size_t j = 0; j < tp_flash_modules[i]->nopts && nl < TP_FLASH_MOPTS_MAX; j++) {
			md[nl] = (struct mopt_dst){ &ro.flash, tp_flash_modules[i],
						    &tp_flash_modules[i]->opts[j] };
			opts[nl] = (struct tp_cli_opt){ md[nl].opt->name, 0, TP_CLI_FN, &md[nl],
							set_mopt };
			nl++;
		}
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		opts[nl++] = own[i];
	opts[nl] = (struct tp_cli_opt){ 0 };
	if ((rc = tp_cli_parse(c, argc, argv, opts, help, 0)) != TP_CLI_GO)
		return rc;
	if (po.unattended && !plan_only) {
		/* No terminal at boot: everything worth knowing goes to syslog. */
		tp_log_syslog_open("tpkit");
		if (c->verbosity <= 1)
			tp_log_set_level(TP_LOG_INFO);
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return tp_cli_fail(c, tp_err_set(-ENOMEM, "out of memory"));
	rc = tp_config_init(cfg, NULL);
	if (rc == 0)
		rc = tp_config_load(cfg);
	if (rc == 0 && po.unattended && !plan_only && unconfigured(cfg)) {
		TP_INFO("commission --unattended: no configuration in %s: nothing to do", cfg->dir);
		tp_config_free(cfg);
		free(cfg);
		json_done(c, TP_EXIT_OK, NULL, NULL, 0);
		return TP_EXIT_OK;
	}
	if (rc == 0)
		rc = tp_config_check(cfg);
	if (rc == 0)
		warn_config(cfg);
	for (unsigned slot = 1; rc == 0 && slot <= TP_SLOTS_MAX; slot++) {
		char key[32];

		snprintf(key, sizeof(key), "net/slot/%u/address", slot);
		if (tp_config_get(cfg, key, addr[slot], sizeof(addr[slot])) < 0 ||
		    !strcmp(addr[slot], "dhcp"))
			addr[slot][0] = '\0';
		addr[slot][strcspn(addr[slot], "/")] = '\0';
	}
	n = rc < 0 ? rc : tp_cplan_make(cfg, mask, &po, plan);
	tp_config_free(cfg);
	free(cfg);
	if (n < 0) {
		if (po.unattended)
			TP_ERR("commission: %s", tp_err_msg());
		return tp_cli_fail(c, n);
	}
	if (plan_only) {
		print_plan(c, plan, (size_t)n);
		json_done(c, TP_EXIT_OK, plan, NULL, (size_t)n);
		return TP_EXIT_OK;
	}
	for (int i = 0; i < n; i++)
		idle = idle && (plan[i].action == TP_CPLAN_LEAVE || plan[i].action == TP_CPLAN_SKIP);
	if (po.unattended && idle) {
		/* A failed slot waits for a person (§12): said, and exit 1. */
		for (int i = 0; i < n; i++)
			if (plan[i].action == TP_CPLAN_SKIP && plan[i].rec.state == TP_CS_FAILED) {
				TP_ERR("slot %u: %s", plan[i].slot, plan[i].why);
				failed = true;
			}
		if (failed) {
			TP_INFO("commission --unattended: nothing to do but for slots that failed "
				"before: left for a person");
			json_done(c, TP_EXIT_FAIL, plan, NULL, (size_t)n);
			return TP_EXIT_FAIL;
		}
		TP_INFO("commission --unattended: every slot is done or not commissioned: "
			"left alone");
		json_done(c, TP_EXIT_OK, plan, NULL, (size_t)n);
		return TP_EXIT_OK;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return tp_cli_fail(c, tp_err_set(-ENOMEM, "out of memory"));
	u->c = c;
	u->unattended = po.unattended;
	u->live = !po.unattended && !c->json && c->verbosity >= 0 && isatty(STDOUT_FILENO);
	/* The live table: the slots this run takes on or leaves alone. */
	for (int i = 0; i < n; i++)
		if (plan[i].action == TP_CPLAN_SKIP)
			mask &= ~TP_SLOT_BIT(plan[i].slot);
	tp_watch_init(&u->w, stdout, mask, u->live, false);
	ro.cookie = u;
	if ((rc = tp_commission_lock(&lock)) < 0) {
		if (po.unattended)
			TP_ERR("commission: %s", tp_err_msg());
		free(u);
		return rc == -EBUSY ? (tp_cli_fail(c, rc), TP_EXIT_BUSY) : tp_cli_fail(c, rc);
	}
	rc = tp_cancel_install();
	if (rc < 0) {
		tp_commission_unlock(lock);
		free(u);
		return tp_cli_fail(c, rc);
	}
	if ((ret = tp_cli_board_open(c, &b)) == 0 && (ret = tp_cli_board_recover(c, b)) == 0) {
		if (c->verbosity >= 0 && !po.unattended)
			print_plan(c, plan, (size_t)n);
		rc = tp_crun(b, plan, (size_t)n, &ro, res);
		if (u->live) {
			bool ended;

			(void)tp_watch_update(&u->w, &ended); /* the last state, left on screen */
		}
		if (rc >= 0 && !po.unattended)
			summary(c, plan, res, (size_t)n);
		if (rc >= 0)
			end_table(u, plan, res, (size_t)n, addr);
		else if (po.unattended)
			TP_ERR("commission: %s", tp_err_msg());
		ret = rc < 0 ? (rc == -ECANCELED ? 128 + tp_cancel_signal() : tp_cli_fail(c, rc)) :
		      rc > 0 ? TP_EXIT_FAIL :
			       TP_EXIT_OK;
		if (rc >= 0 || rc == -ECANCELED)
			json_done(c, ret, plan, res, (size_t)n);
	}
	if (b)
		tp_board_close(b);
	else if (po.unattended && ret)
		TP_ERR("commission: %s", tp_err_msg());
	tp_commission_unlock(lock);
	free(u);
	return ret;
}
