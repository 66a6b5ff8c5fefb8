/* SPDX-License-Identifier: MIT */
/*
 * tpkit-node, the helper that commissions a node from its first boot
 * (docs/node-helper.md). One internal header for node/: the node's
 * configuration, the reporter, the command runner, the step table and the
 * context the steps share. The program uses common/, never bmc/ or board/.
 */
#ifndef TP_NODE_H
#define TP_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/path.h"

/* ---- node.conf (node/conf.c; docs/node-helper.md §3) ---------------------- */

#define TP_NODE_CONF "/etc/tpkit/node.conf"

struct tp_node_conf {
	unsigned slot;           /* 1..4 */
	char module[8];          /* rk1 | cm4 */
	char role[8];            /* server | agent | none */
	char hostname[64];
	char server[256];        /* k3s URL; empty on the server itself */
	char instance_id[40];    /* the seeding's instance-id: the journal's owner */
	char report_key[65];     /* 64 hex digits; secret */
	char nvme[16];           /* auto | never | required (optional key) */
	bool wipe_nvme;          /* wipe_nvme=yes: read by an old NVMe system's guard (§16) */
	/* Optional keys (docs/node-helper.md §3): "" when absent. */
	char k3s_version[64];    /* vX.Y.Z+k3sN */
	char k3s_bundle[256];    /* the seeded bundle's directory */
	char argocd_repo[256];   /* server only: ArgoCD's root application */
	char argocd_path[256];
	char argocd_revision[128];
	char k3s_cluster[8];     /* server: single | init | join (docs/commission.md §14) */
};

/*
 * Read and check file: a regular file, mode 0600, owned by root (or by the
 * user running the helper, which is root on a node: tests run unprivileged).
 * Every required key present and valid; unknown keys are listed in notes
 * (may be NULL) and otherwise ignored, so an older helper reads a newer
 * seeding's file. 0, or -errno/-EINVAL with a message naming the key and
 * the file.
 */
int tp_node_conf_load(struct tp_node_conf *nc, const char *file, char *notes, size_t nsize);

/* Wipe the secret. */
void tp_node_conf_wipe(struct tp_node_conf *nc);

/* ---- reporting (node/report_out.c; docs/node-helper.md §5) --------------- */

struct tp_node_reporter {
	int (*emit)(void *ctx, const char *step, const char *event, const char *text);
	void *ctx;
};

/* The plain-text backend: "tpkit-node: STEP EVENT TEXT" on the console
 * device (<root>/sys/class/tty/console/active) and on stderr. */
int tp_node_reporter_plain(struct tp_node_reporter *r, const struct tp_node_conf *nc);
/* The signed backend: one authenticated report line (common/report.h) per
 * event on the console, keyed with nc->report_key, under a new run id; the
 * plain line on stderr. 0 or -errno with a message (a bad key is named as
 * node.conf's report_key, never quoted). */
int tp_node_reporter_signed(struct tp_node_reporter *r, const struct tp_node_conf *nc);
/* Close the console; wipes the signed backend's key. */
void tp_node_reporter_close(struct tp_node_reporter *r);

/* Report one event; a failure to report is logged, never fatal. */
void tp_node_report(const struct tp_node_reporter *r, const char *step, const char *event,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- what first boot made of the seed (node/identity.c) ------------------ */

/* Report, as progress lines of step: "hostname NAME", per login user
 * "user NAME password L|NP|P|? key SHA256:... (TYPE)" (or "keys none"), and
 * "hostkey SHA256:... (TYPE)" per SSH host key (docs/node-helper.md §14).
 * Never fails: what cannot be read is reported as such. */
void tp_node_identity_report(const struct tp_node_reporter *r, const char *step);

/* ---- external commands (node/run.c) -------------------------------------- */

#define TP_RUN_TAIL 512

struct tp_run_result {
	int status;                /* exit code; 128+N when killed by signal N */
	char tail[TP_RUN_TAIL];    /* the last lines of its stderr */
};

/*
 * Run argv[0] (looked up in TPKIT_NODE_PATH if set, else PATH), no shell,
 * stdin /dev/null, stdout to our stderr (the journal), stderr captured.
 * Returns 0 when it ran (whatever its exit code: see res->status), or
 * -errno when it could not be started, with a message.
 */
int tp_node_run(const char *const argv[], struct tp_run_result *res);

/* tp_node_run() with env, "NAME=value" strings (NULL-terminated), added to
 * the command's environment (k3s's install.sh takes its options so). */
int tp_node_run_env(const char *const argv[], const char *const env[], struct tp_run_result *res);

/* tp_node_run() with its stdout (the first size-1 bytes) in out, not in the
 * journal: for commands whose answer the helper reads. */
int tp_node_run_out(const char *const argv[], char *out, size_t size, struct tp_run_result *res);

/* tp_node_run() with the text in on its stdin instead of /dev/null (sfdisk
 * reads its script so). */
int tp_node_run_in(const char *const argv[], const char *in, struct tp_run_result *res);

/* tp_node_run() that wants exit code 0: else -EIO with a message naming the
 * command, its exit code and its stderr's last lines. */
int tp_node_run_ok(const char *const argv[]);
/* The same with in on its stdin (tp_node_run_in()). */
int tp_node_run_ok_in(const char *const argv[], const char *in);
int tp_node_run_ok_env(const char *const argv[], const char *const env[]);

/* ---- k3s and ArgoCD (node/k3s.c, node/argocd.c; docs/node-helper.md §12, §13) */

struct tp_node_ctx;

/* The step bodies; steps.c holds the rows. */
int tp_k3s_prep_done(struct tp_node_ctx *c);
int tp_k3s_prep_run(struct tp_node_ctx *c);
int tp_k3s_install_done(struct tp_node_ctx *c);
int tp_k3s_install_run(struct tp_node_ctx *c);
int tp_k3s_ready_done(struct tp_node_ctx *c);
int tp_k3s_ready_run(struct tp_node_ctx *c);
int tp_argocd_done(struct tp_node_ctx *c);
int tp_argocd_run(struct tp_node_ctx *c);

/* Verify the seeded bundle in dir (unrooted) against its SHA256SUMS and its
 * VERSION against version, then put k3s and the airgap images in place
 * (node/k3s_bundle.c). 0 or -errno with a message naming the file. */
int tp_k3s_bundle_install(const char *dir, const char *version,
			  const struct tp_node_reporter *rep);

/* The device of the running root: the source of the last mount on "/" in
 * <root>/proc/self/mountinfo (node/steps.c). 0 or -errno with a message. */
int tp_node_root_source(char *src, size_t size);

/* ---- the guard (node/guard.c; docs/node-helper.md §16) ------------------- */

enum tp_guard_act {
	TP_GUARD_NOTHING,  /* nothing to say: why says why (stderr only) */
	TP_GUARD_REPORT,   /* the old NVMe system booted: report it */
	TP_GUARD_WIPE,     /* ... and the fresh seed asks for the NVMe's wipe */
};

/* What the guard found; seed_* are the eMMC's tpkit seed, if any. */
struct tp_guard_facts {
	const char *module;         /* this system's node.conf */
	const char *instance_id;
	const char *root_src;       /* the running root's device */
	bool seed_found;            /* a valid node.conf on the eMMC's root */
	const char *seed_instance;
	bool seed_wipe;
};

/* The guard's decision (pure): anything in doubt is TP_GUARD_NOTHING. */
enum tp_guard_act tp_guard_decide(const struct tp_guard_facts *f, char *why, size_t size);

/* `tpkit-node guard`: look, decide, report (signed with the eMMC seed's
 * key) and, asked to, wipe the NVMe and reboot. Returns the exit status. */
int tp_node_guard(void);

/* ---- the journal (node/journal.c; docs/node-helper.md §4) ---------------- */

#define TP_JOURNAL_DIR "/var/lib/tpkit-node"
#define TP_JOURNAL_FILE "journal"
#define TP_JOURNAL_MAX 32

struct tp_journal_entry {
	char step[32];
	char result[16];          /* done | skipped | failed */
	int64_t time;             /* seconds since the epoch */
};

struct tp_journal {
	char dir[TP_PATH_MAX];
	char file[TP_PATH_MAX];
	char instance_id[40];
	size_t n;
	struct tp_journal_entry e[TP_JOURNAL_MAX];
};

/*
 * Open the journal in dir (made 0700 if missing) for instance_id. A journal
 * of another instance (the node was flashed again) is started afresh; a
 * journal that cannot be parsed is moved aside to journal.bad and started
 * afresh. Either case is described in note (may be NULL; "" when nothing
 * happened). 0 or -errno with a message.
 */
int tp_journal_open(struct tp_journal *j, const char *dir, const char *instance_id, char *note,
		    size_t nsize);

/* Read the journal in dir without changing anything (status): 0, -ENOENT
 * (none; no message), -EINVAL (cannot be parsed) or -errno. */
int tp_journal_load(struct tp_journal *j, const char *dir);

/* The entry of step, or NULL. */
const struct tp_journal_entry *tp_journal_find(const struct tp_journal *j, const char *step);

/* Record step's result (replacing an older entry) and write the journal
 * atomically (common/atomic.h). 0 or -errno. */
int tp_journal_record(struct tp_journal *j, const char *step, const char *result, int64_t time);

/* Remove the journal file. 0 or -errno. */
int tp_journal_reset(struct tp_journal *j);

/* Parse a journal's text (exposed for tests): 0 or -EINVAL with the line. */
int tp_journal_parse(struct tp_journal *j, const char *text);

/* ---- steps (node/steps.c, node/steps.def) -------------------------------- */

enum tp_step_id {
#define STEP(id, name, text) TP_STEP_##id,
#include "steps.def"
#undef STEP
	TP_STEP_COUNT
};

/* What the steps share. */
struct tp_node_ctx {
	const struct tp_node_conf *conf;
	const struct tp_node_reporter *rep;
	char why[256];            /* run(): why a step was skipped */
};

/* run() returns 0 (done), TP_STEP_SKIP (not applicable; ctx->why says why)
 * or -errno (failed; tp_err_msg() says why). done() returns 1 (done), 0 or
 * -errno. */
#define TP_STEP_SKIP 1
/* run() asked for a reboot (migrate, docs/node-helper.md §15): nothing is
 * journaled for the step, the helper stops with exit 0, and the step runs
 * again at the next boot, where its own check decides. */
#define TP_STEP_REBOOT 2

struct tp_step_ops {
	const char *name;
	const char *text;          /* what it does, for status and docs */
	const char *fail_text;     /* what a failure means for the node */
	int (*done)(struct tp_node_ctx *c);
	int (*run)(struct tp_node_ctx *c);
};

extern const struct tp_step_ops tp_steps[TP_STEP_COUNT];

#endif
