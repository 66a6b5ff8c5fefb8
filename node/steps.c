// SPDX-License-Identifier: MIT
/*
 * The steps (docs/node-helper.md §2), one ops row each: done() says whether
 * there is nothing left to do (so a resumed helper trusts the journal only
 * when the node agrees), run() does the work or says why it does not apply,
 * and the failure text says what a failure leaves the node as. A step not
 * built yet fails and says so: it never passes silently.
 */
#include "node.h"
#include "migrate.h"
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* cloud-init writes result.json when its last stage has run
 * (docs/node-helper.md §6). */
#define CLOUDINIT_RESULT "/run/cloud-init/result.json"
#define SELF_UNIT "tpkit-node.service"

static const char *const apt_timers[] = { "apt-daily.timer", "apt-daily-upgrade.timer" };

static int exists(const char *rooted, int *yes)
{
	char path[TP_PATH_MAX];
	struct stat st;

	if (tp_path(path, sizeof(path), "%s", rooted) < 0)
		return tp_err_set(-ENAMETOOLONG, "path too long: %s", rooted);
	if (stat(path, &st) == 0) {
		*yes = 1;
		return 0;
	}
	if (errno == ENOENT || errno == ENOTDIR) {
		*yes = 0;
		return 0;
	}
	return tp_err_set(-errno, "cannot look at %s: %s", path, strerror(errno));
}

/* ---- cloudinit ------------------------------------------------------------ */

static const char cloudinit_fail[] = "nothing else was started";

/* Is any of apt's timers still active? 1, 0 or -errno. */
static int apt_timer_active(void)
{
	for (size_t i = 0; i < sizeof(apt_timers) / sizeof(apt_timers[0]); i++) {
		const char *argv[] = { "systemctl", "is-active", "--quiet", apt_timers[i], NULL };
		struct tp_run_result res;
		int rc = tp_node_run(argv, &res);

		if (rc < 0)
			return rc;
		if (res.status == 0)
			return 1;
	}
	return 0;
}

static int cloudinit_done(struct tp_node_ctx *c)
{
	int yes, rc;

	(void)c;
	rc = exists(CLOUDINIT_RESULT, &yes);
	if (rc < 0 || !yes)
		return rc;
	/* Timers held on an earlier boot run again after a reboot. */
	rc = apt_timer_active();
	return rc < 0 ? rc : !rc;
}

/* result.json's "errors" list is empty ("errors": []). 1, 0, or -errno. */
static int cloudinit_clean(void)
{
	char text[16384];
	const char *p;
	ssize_t n = tp_file_read(CLOUDINIT_RESULT, text, sizeof(text));

	if (n < 0)
		return (int)n;
	p = strstr(text, "\"errors\"");
	if (!p)
		return 0;
	p += strlen("\"errors\"");
	p += strspn(p, " \t\r\n:");
	if (*p++ != '[')
		return 0;
	p += strspn(p, " \t\r\n");
	return *p == ']';
}

static int cloudinit_run(struct tp_node_ctx *c)
{
	const char *wait[] = { "cloud-init", "status", "--wait", NULL };
	const char *hold[] = { "systemctl", "stop", apt_timers[0], apt_timers[1], NULL };
	struct tp_run_result res;
	int yes, rc;

	rc = exists(CLOUDINIT_RESULT, &yes);
	if (rc < 0)
		return rc;
	if (!yes) {
		tp_node_report(c->rep, "cloudinit", "progress", "waiting for cloud-init");
		rc = tp_node_run(wait, &res);
		if (rc < 0)
			return rc;
		rc = exists(CLOUDINIT_RESULT, &yes);
		if (rc < 0)
			return rc;
		if (!yes)
			return tp_err_set(-EIO, "cloud-init status --wait: exit %d%s%s, and %s is "
					  "missing", res.status, *res.tail ? ": " : "", res.tail,
					  CLOUDINIT_RESULT);
	}
	/* Errors in a module (a package that failed to install) do not stop
	 * commissioning, but the BMC should see them. */
	rc = cloudinit_clean();
	if (rc < 0)
		return rc;
	if (rc == 0)
		tp_node_report(c->rep, "cloudinit", "progress",
			       "cloud-init finished with errors (see %s)", CLOUDINIT_RESULT);
	/* The users, keys and hostname exist now: the BMC can check them
	 * against what it seeded (docs/node-helper.md §14). */
	tp_node_identity_report(c->rep, "cloudinit");
	/* Commissioning installs packages itself later; apt's daily runs
	 * would take the dpkg lock in the middle (docs/node-helper.md §2). */
	return tp_node_run_ok(hold);
}

/* ---- migrate -------------------------------------------------------------- */

static const char migrate_fail[] = "the node keeps running from its eMMC";

/* The source of the last mount on "/" in mountinfo (proc(5)): field 5 is
 * the mount point, the source follows the " - " separator and the type. */
int tp_node_root_source(char *src, size_t size)
{
	char text[65536], *line, *save = NULL;
	ssize_t n = tp_file_read("/proc/self/mountinfo", text, sizeof(text));
	int found = 0;

	if (n < 0)
		return (int)n;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mnt[256], fstype[64], source[256];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 || strcmp(mnt, "/"))
			continue;
		if (sscanf(sep + 3, "%63s %255s", fstype, source) != 2)
			continue;
		snprintf(src, size, "%s", source);
		found = 1;
	}
	return found ? 0 : tp_err_set(-ENOENT, "no mount on / in /proc/self/mountinfo");
}

enum mig { MIG_NA, MIG_DONE, MIG_NEEDED };

/* What is left to do, with the reason in why and the root's device in
 * src. -errno on an error. */
static int migrate_plan(struct tp_node_ctx *c, char *why, size_t size, char src[256])
{
	const struct tp_node_conf *nc = c->conf;
	int nvme, rc;

	if (strcmp(nc->module, "rk1")) {
		/* A CM4 on this board has no NVMe lane (docs/node-helper.md §2). */
		snprintf(why, size, "not applicable: module %s", nc->module);
		return MIG_NA;
	}
	if (!strcmp(nc->nvme, "never")) {
		snprintf(why, size, "not applicable: nvme=never in node.conf");
		return MIG_NA;
	}
	rc = tp_node_root_source(src, 256);
	if (rc < 0)
		return rc;
	if (!strncmp(src, "/dev/nvme", 9)) {
		snprintf(why, size, "root already on %s", src);
		return MIG_DONE;
	}
	rc = exists("/sys/block/nvme0n1", &nvme);
	if (rc < 0)
		return rc;
	if (!nvme) {
		if (!strcmp(nc->nvme, "required"))
			return tp_err_set(-ENODEV, "nvme=required, but there is no "
					  "/sys/block/nvme0n1");
		snprintf(why, size, "not applicable: no NVMe (no /sys/block/nvme0n1)");
		return MIG_NA;
	}
	/* A user's NVMe is never wiped; a reboot that came back to the eMMC
	 * is a failure (docs/node-helper.md §15). */
	rc = tp_migrate_check(c, why, size);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return MIG_NA;
	snprintf(why, size, "root on %s, NVMe present", src);
	return MIG_NEEDED;
}

static int migrate_done(struct tp_node_ctx *c)
{
	char why[256], src[256];
	int rc = migrate_plan(c, why, sizeof(why), src);

	return rc < 0 ? rc : rc != MIG_NEEDED;
}

static int migrate_run(struct tp_node_ctx *c)
{
	char src[256];
	int rc = migrate_plan(c, c->why, sizeof(c->why), src);

	if (rc < 0)
		return rc;
	if (rc == MIG_NA)
		return TP_STEP_SKIP;
	if (rc == MIG_DONE)
		return 0;
	return tp_migrate_run(c, src);
}

/* ---- k3s and ArgoCD (node/k3s.c, node/argocd.c) ---------------------------- */

static const char k3s_prep_fail[] = "k3s is not installed";
static const char k3s_install_fail[] = "k3s is not running";
static const char k3s_ready_fail[] = "the node has not joined the cluster";
static const char argocd_fail[] = "the cluster runs without ArgoCD";

#define k3s_prep_done tp_k3s_prep_done
#define k3s_prep_run tp_k3s_prep_run
#define k3s_install_done tp_k3s_install_done
#define k3s_install_run tp_k3s_install_run
#define k3s_ready_done tp_k3s_ready_done
#define k3s_ready_run tp_k3s_ready_run
#define argocd_done tp_argocd_done
#define argocd_run tp_argocd_run

/* ---- done ----------------------------------------------------------------- */

static const char done_fail[] = "the helper runs again at the next boot";

static int done_done(struct tp_node_ctx *c)
{
	const char *argv[] = { "systemctl", "is-enabled", "--quiet", SELF_UNIT, NULL };
	struct tp_run_result res;
	int rc = tp_node_run(argv, &res);

	(void)c;
	return rc < 0 ? rc : res.status != 0;
}

static int done_run(struct tp_node_ctx *c)
{
	const char *argv[] = { "systemctl", "disable", SELF_UNIT, NULL };

	(void)c;
	return tp_node_run_ok(argv);
}

/* ---- the table -------------------------------------------------------------- */

const struct tp_step_ops tp_steps[TP_STEP_COUNT] = {
#define STEP(id, name, text) [TP_STEP_##id] = { name, text, id##_fail, id##_done, id##_run },
#include "steps.def"
#undef STEP
};
