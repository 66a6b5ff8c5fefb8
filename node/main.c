// SPDX-License-Identifier: MIT
/*
 * tpkit-node: the node helper's command line (docs/node-helper.md §1).
 *
 *   tpkit-node [--root DIR] [--config FILE] [--once] [--json] run|status|reset|guard
 *
 * Exit status (docs/node-helper.md §8): 0 every step finished (or, with
 * --once, the one step run did), 1 a step failed, 2 a usage, node.conf or
 * journal error.
 */
#include "node.h"
#include "common/err.h"
#include "common/json.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXIT_STEP = 1, EXIT_SETUP = 2 };

struct opts {
	const char *root;
	const char *config;     /* as given, or NULL: <root>TP_NODE_CONF */
	bool once, json;
	const char *cmd;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tpkit-node [--root DIR] [--config FILE] [--once] [--json] "
		   "run|status|reset|guard\n"
		   "  run      run the steps not finished yet, reporting each on the console\n"
		   "  status   each step and what the journal says of it\n"
		   "  reset    forget the journal: every step runs again\n"
		   "  guard    at boot: say if this is an old NVMe system booted instead of a\n"
		   "           freshly flashed eMMC; wipe the NVMe if that seed asks for it\n"
		   "  --root DIR     prefix every path (tests: a fake root)\n"
		   "  --config FILE  node.conf (default %s under the root)\n"
		   "  --once         run at most one unfinished step\n"
		   "  --json         status as one JSON object a line\n", TP_NODE_CONF);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, '1' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': o->root = optarg; break;
		case 'c': o->config = optarg; break;
		case '1': o->once = true; break;
		case 'j': o->json = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -EINVAL;
	}
	o->cmd = argv[optind];
	if (strcmp(o->cmd, "run") && strcmp(o->cmd, "status") && strcmp(o->cmd, "reset") &&
	    strcmp(o->cmd, "guard")) {
		fprintf(stderr, "tpkit-node: unknown command \"%s\"\n", o->cmd);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int load_conf(const struct opts *o, struct tp_node_conf *nc, char *notes, size_t nsize)
{
	char file[TP_PATH_MAX];

	if (o->config)
		snprintf(file, sizeof(file), "%s", o->config);
	else if (tp_path(file, sizeof(file), "%s", TP_NODE_CONF) < 0)
		return tp_err_set(-ENAMETOOLONG, "path too long");
	return tp_node_conf_load(nc, file, notes, nsize);
}

static int journal_dir(char *dir, size_t size)
{
	return tp_path(dir, size, "%s", TP_JOURNAL_DIR) < 0
		       ? tp_err_set(-ENAMETOOLONG, "path too long")
		       : 0;
}

/*
 * The one place a reporter is chosen. Until node.conf is read only the plain
 * backend can speak (a refused node.conf has no key to sign with); once it
 * is read, the signed backend (common/report.h) takes over. If it cannot
 * start, the plain one is opened again to say why.
 */
static int pick_reporter(struct tp_node_reporter *r, const struct tp_node_conf *nc)
{
	int rc;

	tp_node_reporter_close(r);
	rc = tp_node_reporter_signed(r, nc);
	if (rc < 0) {
		char why[TP_ERR_MAX];

		snprintf(why, sizeof(why), "%s", tp_err_msg());
		tp_node_reporter_plain(r, nc);
		tp_err_set(rc, "%s", why);
	}
	return rc;
}

/* Is step i finished according to both the journal and the node? */
static int finished(const struct tp_journal *j, size_t i, struct tp_node_ctx *c)
{
	const struct tp_step_ops *s = &tp_steps[i];
	const struct tp_journal_entry *e = tp_journal_find(j, s->name);
	int d;

	if (!e || !strcmp(e->result, "failed"))
		return 0;
	d = s->done(c);
	if (d == 1) {
		tp_node_report(c->rep, s->name, "skip", "already %s (journal and check agree)",
			       e->result);
		return 1;
	}
	if (d < 0)
		tp_node_report(c->rep, s->name, "redo", "journal says %s, check failed: %s",
			       e->result, tp_err_msg());
	else
		tp_node_report(c->rep, s->name, "redo", "journal says %s, the node does not agree",
			       e->result);
	return 0;
}

/* Run one step and journal what came of it; 0 or the step's -errno. */
static int run_step(struct tp_journal *j, size_t i, struct tp_node_ctx *c)
{
	const struct tp_step_ops *s = &tp_steps[i];
	int rc, jrc;

	tp_node_report(c->rep, s->name, "start", "%s", s->text);
	c->why[0] = '\0';
	tp_err_clear();
	rc = s->run(c);
	if (rc < 0) {
		char reason[TP_ERR_MAX];

		snprintf(reason, sizeof(reason), "%s", *tp_err_msg() ? tp_err_msg() : strerror(-rc));
		tp_node_report(c->rep, s->name, "fail", "%s (%s)", reason, s->fail_text);
		jrc = tp_journal_record(j, s->name, "failed", (int64_t)time(NULL));
		if (jrc < 0)
			tp_node_report(c->rep, "helper", "warn", "journal: %s", tp_err_msg());
		return rc;
	}
	if (rc == TP_STEP_REBOOT)
		return rc;
	tp_node_report(c->rep, s->name, rc == TP_STEP_SKIP ? "skip" : "done", "%s", c->why);
	jrc = tp_journal_record(j, s->name, rc == TP_STEP_SKIP ? "skipped" : "done",
				(int64_t)time(NULL));
	if (jrc < 0) {
		/* Not resumable without a journal: stop rather than go on. */
		tp_node_report(c->rep, "helper", "fail", "journal: %s", tp_err_msg());
		return jrc;
	}
	return 0;
}

static int cmd_run(const struct opts *o)
{
	struct tp_node_reporter rep;
	struct tp_node_conf nc;
	struct tp_journal j;
	struct tp_node_ctx c = { .conf = &nc, .rep = &rep };
	char notes[1024], dir[TP_PATH_MAX];
	int rc, code = 0;

	tp_node_reporter_plain(&rep, NULL);
	rc = load_conf(o, &nc, notes, sizeof(notes));
	if (rc < 0) {
		tp_node_report(&rep, "helper", "fail", "%s", tp_err_msg());
		tp_node_reporter_close(&rep);
		return EXIT_SETUP;
	}
	rc = pick_reporter(&rep, &nc);
	/* The reporter holds its own copy of the key now: no step needs it. */
	tp_node_conf_wipe(&nc);
	if (rc < 0) {
		tp_node_report(&rep, "helper", "fail", "reporter: %s", tp_err_msg());
		code = EXIT_SETUP;
		goto out;
	}
	if (*notes)
		tp_node_report(&rep, "helper", "note", "%s", notes);
	tp_node_report(&rep, "helper", "start", "slot %u %s %s instance %s", nc.slot, nc.module,
		       nc.role, nc.instance_id);
	rc = journal_dir(dir, sizeof(dir));
	if (rc == 0)
		rc = tp_journal_open(&j, dir, nc.instance_id, notes, sizeof(notes));
	if (rc < 0) {
		tp_node_report(&rep, "helper", "fail", "journal: %s", tp_err_msg());
		code = EXIT_SETUP;
		goto out;
	}
	if (*notes)
		tp_node_report(&rep, "helper", "note", "%s", notes);
	for (size_t i = 0; i < TP_STEP_COUNT; i++) {
		if (finished(&j, i, &c))
			continue;
		rc = run_step(&j, i, &c);
		if (rc < 0) {
			tp_node_report(&rep, "helper", "fail", "stopped at step %s",
				       tp_steps[i].name);
			code = EXIT_STEP;
			goto out;
		}
		if (rc == TP_STEP_REBOOT) {
			tp_node_report(&rep, "helper", "pause", "%s: %s", tp_steps[i].name, c.why);
			goto out;
		}
		if (o->once && i + 1 < TP_STEP_COUNT) {
			tp_node_report(&rep, "helper", "pause", "--once: stopped after %s",
				       tp_steps[i].name);
			goto out;
		}
	}
	tp_node_report(&rep, "helper", "done", "every step finished");
out:
	tp_node_conf_wipe(&nc);
	tp_node_reporter_close(&rep);
	return code;
}

static int cmd_status(const struct opts *o)
{
	struct tp_node_conf nc;
	struct tp_journal j;
	struct tp_json js;
	char dir[TP_PATH_MAX];
	bool other = false;
	int rc;

	rc = load_conf(o, &nc, NULL, 0);
	if (rc < 0)
		goto fail;
	tp_node_conf_wipe(&nc);
	rc = journal_dir(dir, sizeof(dir));
	if (rc == 0)
		rc = tp_journal_load(&j, dir);
	if (rc == -ENOENT)
		j.n = 0;
	else if (rc < 0)
		goto fail;
	else if (strcmp(j.instance_id, nc.instance_id))
		other = true;
	if (other && !o->json)
		printf("journal of instance %s, not this node's %s: every step is pending\n",
		       j.instance_id, nc.instance_id);
	for (size_t i = 0; i < TP_STEP_COUNT; i++) {
		const struct tp_journal_entry *e = other ? NULL : tp_journal_find(&j, tp_steps[i].name);
		const char *result = e ? e->result : "pending";

		if (o->json) {
			tp_json_event(&js, stdout, "node_step");
			tp_json_str(&js, "step", tp_steps[i].name);
			tp_json_str(&js, "result", result);
			if (e)
				tp_json_int(&js, "time", e->time);
			else
				tp_json_null(&js, "time");
			tp_json_str(&js, "text", tp_steps[i].text);
			tp_json_obj_end(&js);
		} else {
			printf("%-12s %-8s %s\n", tp_steps[i].name, result, tp_steps[i].text);
		}
	}
	if (o->json) {
		/* The same closing line as tpkit's commands (docs/json.md). */
		tp_json_event(&js, stdout, "result");
		tp_json_str(&js, "command", "node status");
		tp_json_bool(&js, "ok", true);
		tp_json_str(&js, "instance_id", nc.instance_id);
		tp_json_obj_end(&js);
	}
	return 0;
fail:
	fprintf(stderr, "tpkit-node: %s\n", tp_err_msg());
	if (o->json) {
		tp_json_event(&js, stdout, "result");
		tp_json_str(&js, "command", "node status");
		tp_json_bool(&js, "ok", false);
		tp_json_str(&js, "error", tp_err_msg());
		tp_json_int(&js, "errno", -rc);
		tp_json_int(&js, "exit", EXIT_SETUP);
		tp_json_obj_end(&js);
	}
	return EXIT_SETUP;
}

static int cmd_reset(void)
{
	struct tp_journal j;
	char dir[TP_PATH_MAX];
	int rc = journal_dir(dir, sizeof(dir));

	if (rc == 0) {
		rc = tp_journal_load(&j, dir);
		if (rc == -ENOENT || rc == -EINVAL || rc == 0)
			rc = tp_journal_reset(&j);
	}
	if (rc < 0) {
		fprintf(stderr, "tpkit-node: %s\n", tp_err_msg());
		return EXIT_SETUP;
	}
	printf("journal removed: every step runs again\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };

	if (parse(argc, argv, &o) < 0)
		return EXIT_SETUP;
	tp_root_set(o.root ? o.root : "/");
	if (!strcmp(o.cmd, "run"))
		return cmd_run(&o);
	if (!strcmp(o.cmd, "status"))
		return cmd_status(&o);
	if (!strcmp(o.cmd, "guard"))
		return tp_node_guard();
	return cmd_reset();
}
