// SPDX-License-Identifier: MIT
/*
 * The node's files besides the cloud-init seed (node_files.h). k3s reads
 * YAML, so its values are quoted like the seed's; node.conf is key=value
 * lines, whose values are validated configuration (labels, roles, hex), so
 * a value with a line break is refused rather than escaped.
 */
#include "node_files.h"
#include "text.h"
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * DefaultDependencies=no: cloud-final.service is ordered after
 * multi-user.target, and a unit that target wants is otherwise ordered
 * before it, which with After=cloud-final would be a cycle
 * (docs/seeding.md §6). The usual dependencies are then spelled out.
 */
const char tp_node_unit[] =
	"# Written by tpkit (docs/seeding.md). The node helper: reports to the BMC.\n"
	"[Unit]\n"
	"Description=tpkit node helper\n"
	"DefaultDependencies=no\n"
	"Requires=sysinit.target\n"
	"Wants=network-online.target\n"
	"After=sysinit.target basic.target network-online.target cloud-final.service\n"
	"Conflicts=shutdown.target\n"
	"Before=shutdown.target\n"
	"ConditionPathExists=/etc/tpkit/node.conf\n"
	"\n"
	"[Service]\n"
	"Type=oneshot\n"
	"RemainAfterExit=yes\n"
	"ExecStart=/usr/local/sbin/tpkit-node run\n"
	"StandardOutput=journal\n"
	"\n"
	"[Install]\n"
	"WantedBy=multi-user.target\n";

/*
 * Early in every boot, before the helper (docs/node-helper.md §16): on a
 * node whose root is not on an NVMe it returns at once. DefaultDependencies
 * =no with After=local-fs.target and Before=sysinit.target, as
 * systemd's own early oneshots are ordered, so the old NVMe system of a
 * re-flashed node does as little as possible before the guard speaks.
 */
const char tp_node_guard_unit[] =
	"# Written by tpkit (docs/seeding.md). The node guard: an old NVMe system that\n"
	"# boots instead of a freshly flashed eMMC says so (docs/node-helper.md).\n"
	"[Unit]\n"
	"Description=tpkit node guard\n"
	"DefaultDependencies=no\n"
	"After=local-fs.target\n"
	"Before=sysinit.target " TP_NODE_UNIT_NAME " shutdown.target\n"
	"Conflicts=shutdown.target\n"
	"ConditionPathExists=/etc/tpkit/node.conf\n"
	"\n"
	"[Service]\n"
	"Type=oneshot\n"
	"ExecStart=/usr/local/sbin/tpkit-node guard\n"
	"StandardOutput=journal\n"
	"\n"
	"[Install]\n"
	"WantedBy=sysinit.target\n";

static int finish(struct tp_text *t, const char *what, char **out, size_t *len)
{
	int rc = tp_text_take(t, out, len);

	if (rc == -EILSEQ)
		return tp_err_set(rc, "%s: a configuration value is not UTF-8 text", what);
	return rc < 0 ? tp_err_set(rc, "%s: out of memory", what) : 0;
}

static void kv(struct tp_text *t, const char *key, const char *value)
{
	if (strpbrk(value, "\r\n")) {
		if (!t->err)
			t->err = -EINVAL;
		return;
	}
	tp_text_add(t, "%s=%s\n", key, value);
}

int tp_node_conf(const struct tp_node_facts *f, char **out, size_t *len)
{
	struct tp_text t = { 0 };
	int rc;

	tp_text_add(&t, "# Written by tpkit at seeding (docs/seeding.md). Secret: 0600.\n"
			"slot=%u\n", f->slot);
	kv(&t, "module", f->module);
	kv(&t, "role", f->role);
	kv(&t, "hostname", f->hostname);
	kv(&t, "server", f->server_url);
	kv(&t, "instance_id", f->instance_id);
	kv(&t, "report_key", f->report_key);
	/* Issue 11's keys (docs/seeding.md §6); a helper reading an older
	 * node.conf takes nvme=auto and downloads k3s. */
	kv(&t, "nvme", f->nvme && *f->nvme ? f->nvme : "auto");
	/* Read by the old NVMe system's guard, not by this node's helper
	 * (docs/node-helper.md §16); written only when asked for. */
	if (f->wipe_nvme)
		kv(&t, "wipe_nvme", "yes");
	kv(&t, "k3s_version", strcmp(f->role, "none") && f->k3s_version ? f->k3s_version : "");
	if (f->k3s_bundle && *f->k3s_bundle)
		kv(&t, "k3s_bundle", f->k3s_bundle);
	/* docs/commission.md §14: how this server enters the cluster. */
	if (!strcmp(f->role, "server"))
		kv(&t, "k3s_cluster", f->cluster && *f->cluster ? f->cluster : "single");
	if (!strcmp(f->role, "server") && f->argocd_repo && *f->argocd_repo) {
		kv(&t, "argocd_repo", f->argocd_repo);
		kv(&t, "argocd_path", f->argocd_path ? f->argocd_path : "");
		kv(&t, "argocd_revision", f->argocd_revision ? f->argocd_revision : "");
	}
	if (t.err == -EINVAL) {
		tp_text_wipe(&t);
		return tp_err_set(-EINVAL, "node.conf: a value has a line break");
	}
	rc = finish(&t, "node.conf", out, len);
	return rc;
}

int tp_node_conf_value(const char *text, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = text; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		size_t l = strcspn(p, "\n");

		if (l > klen && p[klen] == '=' && !strncmp(p, key, klen)) {
			if (l - klen - 1 >= size)
				return -ENOSPC;
			memcpy(buf, p + klen + 1, l - klen - 1);
			buf[l - klen - 1] = '\0';
			return 0;
		}
	}
	return -ENOENT;
}

/* A YAML list of quoted items, one a line. */
static void item(struct tp_text *t, const char *v)
{
	tp_text_add(t, "  - ");
	tp_text_yaml(t, v);
	tp_text_add(t, "\n");
}

int tp_node_k3s_config(const struct tp_node_facts *f, char **out, size_t *len)
{
	struct tp_text t = { 0 };
	char label[64];
	bool server = !strcmp(f->role, "server");
	const char *cluster = f->cluster && *f->cluster ? f->cluster : "single";

	/* docs/seeding.md §6: keys are k3s's flag names; node-label and
	 * node-taint only apply when the node registers. Agents and joining
	 * servers dial the API address; the server that starts an HA cluster
	 * says cluster-init, and only it (docs/commission.md §14). */
	tp_text_add(&t, "# Written by tpkit (docs/seeding.md). Holds the cluster token: 0600.\n");
	if (!server || !strcmp(cluster, "join")) {
		tp_text_add(&t, "server: ");
		tp_text_yaml(&t, f->server_url);
		tp_text_add(&t, "\n");
	}
	if (server && !strcmp(cluster, "init"))
		tp_text_add(&t, "cluster-init: true\n");
	tp_text_add(&t, "token: ");
	tp_text_yaml(&t, f->token);
	tp_text_add(&t, "\nnode-name: ");
	tp_text_yaml(&t, f->hostname);
	tp_text_add(&t, "\n");
	if (*f->node_ip) {
		tp_text_add(&t, "node-ip: ");
		tp_text_yaml(&t, f->node_ip);
		tp_text_add(&t, "\n");
	}
	tp_text_add(&t, "node-label:\n");
	snprintf(label, sizeof(label), "tpkit.io/slot=%u", f->slot);
	item(&t, label);
	snprintf(label, sizeof(label), "tpkit.io/module=%s", f->module);
	item(&t, label);
	if (server) {
		tp_text_add(&t, "write-kubeconfig-mode: \"0600\"\ntls-san:\n");
		item(&t, f->hostname);
		if (*f->node_ip)
			item(&t, f->node_ip);
		/* The stable address: its certificate must name it, whichever
		 * server answers there. */
		if (f->api_address && *f->api_address && strcmp(f->api_address, f->hostname) &&
		    strcmp(f->api_address, f->node_ip))
			item(&t, f->api_address);
		if (f->has_agents) {
			tp_text_add(&t, "node-taint:\n");
			item(&t, "node-role.kubernetes.io/control-plane=true:NoSchedule");
		}
	}
	return finish(&t, "k3s config.yaml", out, len);
}
