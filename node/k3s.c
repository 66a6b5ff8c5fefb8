// SPDX-License-Identifier: MIT
/*
 * The k3s steps (docs/node-helper.md §12): k3s_prep (memory cgroup, the
 * br_netfilter and overlay modules, IP forwarding), k3s_install (the seeded
 * bundle verified against its SHA256SUMS and installed by k3s's own
 * install.sh, or install.sh from get.k3s.io without a bundle) and k3s_ready
 * (the API and the node Ready on a server, the agent's kubelet healthy).
 * Every done() looks at the node, never at the journal. Paths the helper
 * reads or writes are under --root; commands are not (docs/node-helper.md
 * §1), except the installed k3s, run by its rooted path so that the binary
 * checked is the one installed.
 */
#define _GNU_SOURCE
#include "node.h"
#include "common/atomic.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* k3s's documented places (node-helper.md §12). */
#define K3S_BIN "/usr/local/bin/k3s"
#define K3S_IMAGES "/var/lib/rancher/k3s/agent/images"
#define K3S_KUBECONFIG "/etc/rancher/k3s/k3s.yaml"
#define K3S_CONFIG "/etc/rancher/k3s/config.yaml"
#define K3S_INSTALL_URL "https://get.k3s.io"
#define K3S_DOWNLOADED TP_JOURNAL_DIR "/k3s-install.sh"
#define KUBELET_HEALTHZ "http://127.0.0.1:10248/healthz"
/* The CM4's kernel flags (node-helper.md §12, §12.1). */
#define CGROUP_FLAGS "cgroup_enable=cpuset cgroup_memory=1 cgroup_enable=memory"
#define CMDLINE "/boot/firmware/cmdline.txt"
/* Written before the one reboot k3s_prep may ask for: never a second. */
#define REBOOT_MARK TP_JOURNAL_DIR "/k3s-cgroup-reboot"
#define MODULES_CONF "/etc/modules-load.d/tpkit-k3s.conf"
#define SYSCTL_CONF "/etc/sysctl.d/90-tpkit-k3s.conf"
#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
/* k3s_ready's deadline (seconds) and poll interval; TPKIT_NODE_K3S_TIMEOUT
 * overrides the deadline (tests). An agent may wait for its server. */
#define READY_TIMEOUT 900
#define READY_INTERVAL_MS 2000
#define READY_PROGRESS_S 30

static const char *const modules[] = { "br_netfilter", "overlay" };
static const char modules_text[] = "br_netfilter\noverlay\n";
static const char sysctl_text[] = "net.ipv4.ip_forward = 1\n";

static int k3s_role(struct tp_node_ctx *c)
{
	if (!strcmp(c->conf->role, "none")) {
		snprintf(c->why, sizeof(c->why), "not applicable: role none");
		return 0;
	}
	return 1;
}

static int is_server(const struct tp_node_ctx *c)
{
	return !strcmp(c->conf->role, "server");
}

static const char *unit_of(const struct tp_node_ctx *c)
{
	return is_server(c) ? "k3s.service" : "k3s-agent.service";
}

static int rooted(char *buf, size_t size, const char *path)
{
	return tp_path(buf, size, "%s", path);
}

static int present(const char *path)
{
	char full[TP_PATH_MAX];
	struct stat st;

	return rooted(full, sizeof(full), path) == 0 && stat(full, &st) == 0;
}

/* file (rooted) holds exactly text. */
static int holds(const char *file, const char *text)
{
	char buf[4096];
	ssize_t n = tp_file_read(file, buf, sizeof(buf));

	return n >= 0 && (size_t)n == strlen(text) && !memcmp(buf, text, (size_t)n);
}

static int write_rooted(const char *file, const char *text, mode_t mode)
{
	char full[TP_PATH_MAX], dir[TP_PATH_MAX];
	int rc = rooted(full, sizeof(full), file);

	if (rc < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s", full);
	*strrchr(dir, '/') = '\0';
	rc = tp_dir_make(dir, 0755, 0);
	return rc < 0 ? rc : tp_file_write_atomic(full, text, strlen(text), mode);
}

/* ---- k3s_prep --------------------------------------------------------------- */

/* Is the memory controller there? cgroup v2 lists it in
 * cgroup.controllers; a v1 system has it enabled in /proc/cgroups. */
static int memory_cgroup(void)
{
	char text[4096], *save = NULL;
	ssize_t n = tp_file_read("/sys/fs/cgroup/cgroup.controllers", text, sizeof(text));

	if (n >= 0) {
		for (char *w = strtok_r(text, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
			if (!strcmp(w, "memory"))
				return 1;
		return 0;
	}
	n = tp_file_read("/proc/cgroups", text, sizeof(text));
	if (n < 0)
		return 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[32];
		unsigned h, g, en;

		if (sscanf(l, "%31s %u %u %u", name, &h, &g, &en) == 4 && !strcmp(name, "memory"))
			return en == 1;
	}
	return 0;
}

static int modules_loaded(void)
{
	char p[64];

	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		snprintf(p, sizeof(p), "/sys/module/%s", modules[i]);
		if (!present(p))
			return 0;
	}
	return 1;
}

static int ip_forward_on(void)
{
	char v[8];
	ssize_t n = tp_file_read(IP_FORWARD, v, sizeof(v));

	return n > 0 && v[0] == '1';
}

int tp_k3s_prep_done(struct tp_node_ctx *c)
{
	if (!strcmp(c->conf->role, "none"))
		return 1;
	return memory_cgroup() && modules_loaded() && ip_forward_on() &&
	       holds(MODULES_CONF, modules_text) && holds(SYSCTL_CONF, sysctl_text);
}

/* Does text hold word as a whole blank-separated word? */
static int has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; (p = strstr(p, word)); p += n)
		if ((p == text || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

/* A CM4 without the memory cgroup: the flags go on cmdline.txt's one line
 * (node-helper.md §12.1), and the node reboots once. */
static int cm4_cgroup(struct tp_node_ctx *c)
{
	const char *reboot[] = { "systemctl", "reboot", NULL };
	char line[4096], flags[] = CGROUP_FLAGS, *save = NULL, stamp[64];
	ssize_t n;
	size_t len;
	int rc;

	if (present(REBOOT_MARK))
		return tp_err_set(-ENOTSUP, "no memory cgroup even after the reboot with \"%s\" "
				  "in %s: k3s cannot run", CGROUP_FLAGS, CMDLINE);
	n = tp_file_read("/proc/cmdline", line, sizeof(line));
	if (n > 0 && has_word(line, "cgroup_enable=memory") && has_word(line, "cgroup_memory=1"))
		return tp_err_set(-ENOTSUP, "no memory cgroup, though the kernel booted with "
				  "cgroup_enable=memory cgroup_memory=1: k3s cannot run");
	n = tp_file_read(CMDLINE, line, sizeof(line) - sizeof(flags) - 2);
	if (n < 0)
		return tp_err_prefix((int)n, "no memory cgroup and cannot read %s: ", CMDLINE);
	/* One line: the firmware reads only the first (node-helper.md §12.1). */
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	for (char *w = strtok_r(flags, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!has_word(line, w))
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s",
						len ? " " : "", w);
	snprintf(line + len, sizeof(line) - len, "\n");
	rc = write_rooted(CMDLINE, line, 0644);
	if (rc < 0)
		return rc;
	snprintf(stamp, sizeof(stamp), "%lld\n", (long long)time(NULL));
	rc = write_rooted(REBOOT_MARK, stamp, 0600);
	if (rc < 0)
		return rc;
	tp_node_report(c->rep, "k3s_prep", "progress",
		       "no memory cgroup: added %s to %s; rebooting once", CGROUP_FLAGS, CMDLINE);
	rc = tp_node_run_ok(reboot);
	if (rc < 0)
		return rc;
	/* Not done: the journal says failed, and the helper, started again
	 * after the boot, runs this step again. */
	return tp_err_set(-EINPROGRESS, "rebooting for the memory cgroup; the helper runs "
			  "this step again after the boot");
}

int tp_k3s_prep_run(struct tp_node_ctx *c)
{
	const char *modprobe[] = { "modprobe", "-a", modules[0], modules[1], NULL };
	char full[TP_PATH_MAX];
	int rc;

	if (!k3s_role(c))
		return TP_STEP_SKIP;
	if (!memory_cgroup()) {
		/* The RK1's kernel has it built in or not: nothing to switch on. */
		if (strcmp(c->conf->module, "cm4"))
			return tp_err_set(-ENOTSUP, "no memory cgroup (/sys/fs/cgroup/"
					  "cgroup.controllers lacks memory): the %s kernel must "
					  "provide it; k3s cannot run", c->conf->module);
		return cm4_cgroup(c);
	}
	if (present(REBOOT_MARK)) {
		rc = rooted(full, sizeof(full), REBOOT_MARK);
		if (rc == 0)
			tp_file_remove_durable(full);
	}
	/* k3s's unit loads them too (node-helper.md §12); loading them now
	 * and at every boot keeps the node ready before its first start. */
	if (!modules_loaded()) {
		rc = tp_node_run_ok(modprobe);
		if (rc < 0)
			return rc;
		if (!modules_loaded())
			return tp_err_set(-ENODEV, "modprobe -a br_netfilter overlay succeeded, "
					  "but /sys/module lacks one of them");
	}
	rc = write_rooted(MODULES_CONF, modules_text, 0644);
	if (rc < 0)
		return rc;
	/* node-helper.md §12.1: packets between pods and the node
	 * are routed. The file keeps it after a reboot; /proc sets it now. */
	rc = write_rooted(SYSCTL_CONF, sysctl_text, 0644);
	if (rc < 0)
		return rc;
	if (!ip_forward_on()) {
		rc = tp_file_write(IP_FORWARD, "1\n");
		if (rc < 0)
			return tp_err_prefix(rc, "cannot set net.ipv4.ip_forward: ");
	}
	snprintf(c->why, sizeof(c->why), "memory cgroup, br_netfilter and overlay loaded, "
		 "net.ipv4.ip_forward=1");
	return 0;
}

/* ---- k3s_install -------------------------------------------------------------- */

/* The version this node must run: node.conf's, else the bundle's VERSION. */
static int want_version(const struct tp_node_ctx *c, char *v, size_t size)
{
	char file[TP_PATH_MAX];
	ssize_t n;

	if (*c->conf->k3s_version) {
		snprintf(v, size, "%s", c->conf->k3s_version);
		return 0;
	}
	if (!*c->conf->k3s_bundle)
		return tp_err_set(-EINVAL, "node.conf has neither k3s_version nor k3s_bundle");
	snprintf(file, sizeof(file), "%s/VERSION", c->conf->k3s_bundle);
	n = tp_file_read(file, v, size);
	if (n <= 0)
		return tp_err_set(n < 0 ? (int)n : -EINVAL, "no k3s_version, and %s is "
				  "unreadable or empty", file);
	v[strcspn(v, " \r\n")] = '\0';
	return 0;
}

/* The installed k3s says version first on its first line
 * ("k3s version v1.31.4+k3s1 (...)"): 1 yes, 0 no. */
static int version_matches(const char *version, char *got, size_t size)
{
	char bin[TP_PATH_MAX];
	const char *argv[] = { bin, "--version", NULL };
	struct tp_run_result res;
	char *w;

	got[0] = '\0';
	if (rooted(bin, sizeof(bin), K3S_BIN) < 0 || access(bin, X_OK) < 0)
		return 0;
	if (tp_node_run_out(argv, got, size, &res) < 0 || res.status)
		return 0;
	got[strcspn(got, "\n")] = '\0';
	/* A word, not a prefix: v1.31.4+k3s1 is in v1.31.4+k3s12. */
	w = strstr(got, version);
	return w && (w == got || w[-1] == ' ') &&
	       (w[strlen(version)] == ' ' || !w[strlen(version)]);
}

static int unit_enabled(const char *unit)
{
	const char *argv[] = { "systemctl", "is-enabled", "--quiet", unit, NULL };
	struct tp_run_result res;

	return tp_node_run(argv, &res) == 0 && res.status == 0;
}

int tp_k3s_install_done(struct tp_node_ctx *c)
{
	char v[64], got[256];

	if (!strcmp(c->conf->role, "none"))
		return 1;
	if (want_version(c, v, sizeof(v)) < 0)
		return 0;
	return version_matches(v, got, sizeof(got)) && unit_enabled(unit_of(c));
}

static int download_install_sh(const char *script)
{
	const char *argv[] = { "curl", "-sSfL", "--retry", "2", "--max-time", "120", "-o", script,
			       K3S_INSTALL_URL, NULL };
	struct tp_run_result res;
	int rc;

	rc = tp_node_run(argv, &res);
	if (rc < 0)
		return tp_err_prefix(rc, "no k3s bundle was seeded, and ");
	if (res.status)
		return tp_err_set(-ENETUNREACH, "no k3s bundle was seeded, and %s cannot be "
				  "downloaded (curl exit %d%s%s): no network? Seed a bundle "
				  "(docs/node-helper.md §12)", K3S_INSTALL_URL, res.status,
				  *res.tail ? ": " : "", res.tail);
	return 0;
}

/* Does config.yaml (rooted) have a line starting with prefix? */
static int yaml_line(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; *p; p += strcspn(p, "\n"), p += *p == '\n')
		if (!strncmp(p, prefix, n))
			return 1;
	return 0;
}

/*
 * Before k3s first starts: the seeded config.yaml says what node.conf's
 * k3s_cluster says (docs/commission.md §14). A server that should join but
 * has cluster-init, or none of either, would start a cluster of its own;
 * stopping here leaves the node without k3s rather than beside the cluster.
 */
static int check_cluster_config(const struct tp_node_ctx *c)
{
	const char *mode = c->conf->k3s_cluster;
	char text[8192], want[300];
	ssize_t n;
	int init, server;

	if (!is_server(c) || !*mode)
		return 0; /* an older seeding: no k3s_cluster to hold it to */
	n = tp_file_read(K3S_CONFIG, text, sizeof(text));
	if (n < 0)
		return tp_err_prefix((int)n, "cannot read %s: ", K3S_CONFIG);
	init = yaml_line(text, "cluster-init: true");
	server = yaml_line(text, "server:");
	snprintf(want, sizeof(want), "server: \"%s\"", c->conf->server);
	if (!strcmp(mode, "init") && (!init || server))
		return tp_err_set(-EINVAL, "%s does not agree with node.conf (k3s_cluster=init): "
				  "the first server needs cluster-init: true and no server:; seed "
				  "the node again (tpkit seed)", K3S_CONFIG);
	if (!strcmp(mode, "join") && (init || !yaml_line(text, want)))
		return tp_err_set(-EINVAL, "%s does not agree with node.conf (k3s_cluster=join): "
				  "a joining server needs server: \"%s\" and no cluster-init; seed "
				  "the node again (tpkit seed)", K3S_CONFIG, c->conf->server);
	if (!strcmp(mode, "single") && (init || server))
		return tp_err_set(-EINVAL, "%s does not agree with node.conf (k3s_cluster=single): "
				  "the only server has neither cluster-init nor server:; seed the "
				  "node again (tpkit seed)", K3S_CONFIG);
	return 0;
}

int tp_k3s_install_run(struct tp_node_ctx *c)
{
	char version[64], exec[32], pinned[96], script[TP_PATH_MAX], bdir[TP_PATH_MAX];
	char got[256];
	const char *start[] = { "systemctl", "start", "--no-block", unit_of(c), NULL };
	const char *env[5] = { "INSTALL_K3S_SKIP_START=true", exec, NULL, NULL, NULL };
	const char *argv[3] = { NULL, NULL, NULL };
	int rc;

	if (!k3s_role(c))
		return TP_STEP_SKIP;
	rc = check_cluster_config(c);
	if (rc < 0)
		return rc;
	rc = want_version(c, version, sizeof(version));
	if (rc < 0)
		return rc;
	/* install.sh decides server or agent by K3S_URL, which we do not set:
	 * the role is said outright (node-helper.md §12.2). */
	snprintf(exec, sizeof(exec), "INSTALL_K3S_EXEC=%s", is_server(c) ? "server" : "agent");
	if (*c->conf->k3s_bundle) {
		rc = tp_k3s_bundle_install(c->conf->k3s_bundle, version, c->rep);
		if (rc < 0)
			return rc;
		rc = rooted(bdir, sizeof(bdir), c->conf->k3s_bundle);
		if (rc < 0)
			return rc;
		snprintf(script, sizeof(script), "%s/install.sh", bdir);
		env[2] = "INSTALL_K3S_SKIP_DOWNLOAD=true";
		argv[0] = script;
	} else {
		rc = rooted(script, sizeof(script), K3S_DOWNLOADED);
		if (rc < 0)
			return rc;
		rc = download_install_sh(script);
		if (rc < 0)
			return rc;
		/* install.sh downloads this release and checks it against the
		 * release's sha256sum file (node-helper.md §12.2). */
		snprintf(pinned, sizeof(pinned), "INSTALL_K3S_VERSION=%s", version);
		env[2] = pinned;
		argv[0] = "sh";
		argv[1] = script;
	}
	tp_node_report(c->rep, "k3s_install", "progress", "running install.sh (%s)", exec);
	rc = tp_node_run_ok_env(argv, env);
	if (rc < 0)
		return rc;
	if (!version_matches(version, got, sizeof(got)))
		return tp_err_set(-EIO, "install.sh finished, but %s --version says \"%s\", not "
				  "%s", K3S_BIN, got, version);
	rc = tp_node_run_ok(start);
	if (rc < 0)
		return rc;
	snprintf(c->why, sizeof(c->why), "k3s %s installed%s, %s started", version,
		 *c->conf->k3s_bundle ? " from the seeded bundle" : " from get.k3s.io",
		 unit_of(c));
	return 0;
}

/* ---- k3s_ready ---------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned ready_timeout(void)
{
	const char *e = getenv("TPKIT_NODE_K3S_TIMEOUT");
	char *end;
	unsigned long v;

	if (!e || !*e)
		return READY_TIMEOUT;
	v = strtoul(e, &end, 10);
	return *end || v > 86400 ? READY_TIMEOUT : (unsigned)v;
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* One look: 1 ready, 0 not yet (state says what was seen). */
static int ready_once(const struct tp_node_ctx *c, char *state, size_t size)
{
	char bin[TP_PATH_MAX], out[256], node[256];
	struct tp_run_result res;

	if (is_server(c)) {
		const char *readyz[] = { bin, "kubectl", "get", "--raw", "/readyz", NULL };
		/* jsonpath gives the Ready condition's status alone: "True"
		 * compares whole, unlike "Ready" inside "NotReady"
		 * (node-helper.md §12.3). */
		const char *get[] = { bin, "kubectl", "get", "node", c->conf->hostname, "-o",
				      "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
				      NULL };

		if (rooted(bin, sizeof(bin), K3S_BIN) < 0)
			return 0;
		if (tp_node_run_out(readyz, out, sizeof(out), &res) < 0 || res.status) {
			snprintf(state, size, "API /readyz: %s", *res.tail ? res.tail : "no answer");
			return 0;
		}
		trim(out);
		if (strcmp(out, "ok")) {
			snprintf(state, size, "API /readyz: \"%.64s\"", out);
			return 0;
		}
		if (tp_node_run_out(get, node, sizeof(node), &res) < 0 || res.status) {
			snprintf(state, size, "node %s: %s", c->conf->hostname,
				 *res.tail ? res.tail : "not registered");
			return 0;
		}
		trim(node);
		if (strcmp(node, "True")) {
			snprintf(state, size, "node %s: Ready is \"%.32s\"", c->conf->hostname,
				 node);
			return 0;
		}
		return 1;
	} else {
		const char *active[] = { "systemctl", "is-active", "--quiet", unit_of(c), NULL };
		const char *healthz[] = { "curl", "-sf", "--max-time", "5", KUBELET_HEALTHZ, NULL };

		if (tp_node_run(active, &res) < 0 || res.status) {
			snprintf(state, size, "%s is not active", unit_of(c));
			return 0;
		}
		if (tp_node_run_out(healthz, out, sizeof(out), &res) < 0 || res.status) {
			snprintf(state, size, "kubelet %s: no answer (curl exit %d)",
				 KUBELET_HEALTHZ, res.status);
			return 0;
		}
		trim(out);
		if (strcmp(out, "ok")) {
			snprintf(state, size, "kubelet %s: \"%.64s\"", KUBELET_HEALTHZ, out);
			return 0;
		}
		return 1;
	}
}

int tp_k3s_ready_done(struct tp_node_ctx *c)
{
	char state[512];

	if (!strcmp(c->conf->role, "none"))
		return 1;
	return ready_once(c, state, sizeof(state));
}

int tp_k3s_ready_run(struct tp_node_ctx *c)
{
	/* A helper killed between install.sh and the start would wait for
	 * nothing: starting a started unit changes nothing. */
	const char *start[] = { "systemctl", "start", "--no-block", unit_of(c), NULL };
	char state[512] = "", last[512] = "";
	unsigned timeout = ready_timeout();
	double t0, deadline, next_report;
	int rc;

	if (!k3s_role(c))
		return TP_STEP_SKIP;
	rc = tp_node_run_ok(start);
	if (rc < 0)
		return rc;
	t0 = now_s();
	deadline = t0 + timeout;
	next_report = t0 + READY_PROGRESS_S;
	for (;;) {
		double t, wait;
		struct timespec ts;

		if (ready_once(c, state, sizeof(state)))
			break;
		t = now_s();
		if (t >= deadline)
			return tp_err_set(-ETIMEDOUT, "not ready after %u s: %s", timeout, state);
		/* A change is news at once; the same state every 30 s. */
		if (strcmp(state, last) || t >= next_report) {
			tp_node_report(c->rep, "k3s_ready", "progress", "waiting (%.0f s left): %s",
				       deadline - t, state);
			snprintf(last, sizeof(last), "%s", state);
			next_report = t + READY_PROGRESS_S;
		}
		wait = deadline - t;
		if (wait > READY_INTERVAL_MS / 1000.0)
			wait = READY_INTERVAL_MS / 1000.0;
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	if (is_server(c))
		snprintf(c->why, sizeof(c->why), "node %s Ready, API /readyz ok; kubeconfig %s%s",
			 c->conf->hostname, K3S_KUBECONFIG,
			 present(K3S_KUBECONFIG) ? "" : " (missing)");
	else
		snprintf(c->why, sizeof(c->why), "%s active, kubelet healthz ok", unit_of(c));
	return 0;
}
