// SPDX-License-Identifier: MIT
/*
 * What goes where (seed.h, docs/seeding.md §6). The plan holds every file
 * already rendered, so that applying it on a pipeline writer thread only
 * writes bytes: no configuration, no secrets store, no randomness there.
 */
#include "seed.h"
#include "bundle.h"
#include "cloudinit.h"
#include "hostfile.h"
#include "node_files.h"
#include "seed_plan.h"
#include "bmc/secrets.h"
#include "common/config.h"
#include "common/err.h"
#include "common/path.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

/* What the plan is made from: the configuration's values for this slot. */
struct facts {
	char cluster[TP_CONFIG_VALUE_MAX];
	char host[5][64], role[5][16];
	char user[64], address[64], gateway[64], dns[512];
	char *keys;
	struct tp_config_ha ha; /* the servers and the API address */
	bool agents;
	char node_ip[64];
	const char *k3s_cluster; /* this slot as a server: single, init, join */
	char nvme[16], k3s_version[64];
	char argocd_repo[TP_CONFIG_VALUE_MAX], argocd_path[TP_CONFIG_VALUE_MAX];
	char argocd_revision[TP_CONFIG_VALUE_MAX];
};

static int add(struct tp_seed_plan *p, enum tp_seed_kind k, const char *path, char *data,
	       size_t len, mode_t mode, bool secret)
{
	struct tp_seed_item *it;

	if (p->n == TP_SEED_MAX_ITEMS) {
		free(data);
		return tp_err_set(-E2BIG, "seeding plan: more than %d entries", TP_SEED_MAX_ITEMS);
	}
	it = &p->it[p->n++];
	*it = (struct tp_seed_item){ .kind = k, .data = data, .len = len, .mode = mode, .secret = secret };
	snprintf(it->path, sizeof(it->path), "%s", path);
	return 0;
}

static int add_dir(struct tp_seed_plan *p, const char *path, mode_t mode)
{
	return add(p, TP_SEED_DIR, path, NULL, 0, mode, false);
}

/* A copy of a constant text as a file. */
static int add_text(struct tp_seed_plan *p, const char *path, const char *text, mode_t mode,
		    bool secret)
{
	char *d = strdup(text);

	if (!d)
		return tp_err_set(-ENOMEM, "out of memory");
	return add(p, TP_SEED_FILE, path, d, strlen(d), mode, secret);
}

/* "192.168.1.51/24" -> "192.168.1.51"; "dhcp" -> "". */
static void strip_prefix(const char *cidr, char *out, size_t size)
{
	if (!strcmp(cidr, "dhcp")) {
		out[0] = '\0';
		return;
	}
	snprintf(out, size, "%.*s", (int)strcspn(cidr, "/"), cidr);
}

/* A per-slot key's value, by its table name ("slot/%u/hostname"). */
static int get(const struct tp_config *c, char *buf, size_t size, const char *key, unsigned slot)
{
	const struct tp_config_item *it = tp_config_item_of(c, key, slot);

	if (!it)
		return tp_err_set(-ENOENT, "no configuration key %s for slot %u", key, slot);
	return tp_config_value(c, it, buf, size, NULL);
}

static int load_facts(const struct tp_seed_req *req, struct facts *f)
{
	struct tp_config *c = calloc(1, sizeof(*c));
	unsigned n = req->slot;
	int rc;

	if (!c || !(f->keys = malloc(TP_CONFIG_TEXT_MAX)))
		TP_FAIL(-ENOMEM, "out of memory");
	TP_TRY(tp_config_init(c, req->config_dir));
	TP_TRY(tp_config_load(c));
	TP_TRY(tp_config_check(c));
	TP_TRY(tp_config_get(c, "cluster/name", f->cluster, sizeof(f->cluster)));
	for (unsigned s = 1; s <= 4; s++) {
		TP_TRY(get(c, f->host[s], sizeof(f->host[s]), "slot/%u/hostname", s));
		TP_TRY(get(c, f->role[s], sizeof(f->role[s]), "slot/%u/role", s));
		if (!strcmp(f->role[s], "agent"))
			f->agents = true;
	}
	TP_TRY(tp_config_get(c, "admin/user", f->user, sizeof(f->user)));
	TP_TRY(tp_config_get(c, "admin/keys", f->keys, TP_CONFIG_TEXT_MAX));
	TP_TRY(get(c, f->address, sizeof(f->address), "net/slot/%u/address", n));
	TP_TRY(get(c, f->gateway, sizeof(f->gateway), "net/slot/%u/gateway", n));
	TP_TRY(get(c, f->dns, sizeof(f->dns), "net/slot/%u/dns", n));
	TP_TRY(get(c, f->nvme, sizeof(f->nvme), "slot/%u/nvme", n));
	TP_TRY(tp_config_get(c, "k3s/version", f->k3s_version, sizeof(f->k3s_version)));
	TP_TRY(tp_config_get(c, "argocd/repo", f->argocd_repo, sizeof(f->argocd_repo)));
	TP_TRY(tp_config_get(c, "argocd/path", f->argocd_path, sizeof(f->argocd_path)));
	TP_TRY(tp_config_get(c, "argocd/revision", f->argocd_revision,
			     sizeof(f->argocd_revision)));
	strip_prefix(f->address, f->node_ip, sizeof(f->node_ip));
	/* Agents and joining servers dial the API address: cluster/api_address,
	 * else the first server's static address, else its hostname, which the
	 * LAN's DNS must resolve (docs/seeding.md §6, docs/commission.md §14). */
	TP_TRY(tp_config_ha(c, &f->ha));
	f->k3s_cluster = !f->ha.cluster_init ? "single" : f->ha.init == n ? "init" : "join";
	rc = 0;
out:
	if (c)
		tp_config_free(c);
	free(c);
	return rc;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Host keys into /etc/ssh: the slot's own, kept on the BMC, so that a
 * re-flashed node keeps its identity. */
static int add_host_keys(struct tp_seed_plan *p, struct tp_secrets *s, const char *host)
{
	for (int t = 0; t < TP_SSHKEY_NTYPES; t++) {
		char path[96], pub[TP_SSHKEY_PUB_MAX + 1], *priv = NULL, *d;
		int rc = tp_secrets_host_key(s, p->slot, (enum tp_sshkey_type)t, host, &priv, pub,
					     sizeof(pub) - 1);

		if (rc < 0)
			return rc;
		snprintf(path, sizeof(path), "/etc/ssh/ssh_host_%s_key",
			 tp_sshkey_file_tag((enum tp_sshkey_type)t));
		d = strdup(priv);
		tp_sshkey_free_text(priv);
		if (!d)
			return tp_err_set(-ENOMEM, "out of memory");
		if ((rc = add(p, TP_SEED_FILE, path, d, strlen(d), 0600, true)) < 0)
			return rc;
		strcat(path, ".pub");
		strcat(pub, "\n");
		if ((rc = add_text(p, path, pub, 0644, false)) < 0)
			return rc;
	}
	return 0;
}

/* The k3s bundle's directory and files (the contract with node/: names
 * and modes in docs/seeding.md §9). */
static int add_bundle(struct tp_seed_plan *p, const struct tp_seed_bundle *b)
{
	char path[96], *d;
	size_t l;
	int rc;

	if ((rc = add_dir(p, "/var/lib/tpkit-node", 0700)) < 0 ||
	    (rc = add_dir(p, TP_SEED_BUNDLE_DIR, 0700)) < 0)
		return rc;
	for (int i = 0; i < 3; i++) {
		const struct tp_seed_bundle_file *f = &b->f[i];

		if (!(d = strdup(f->src)))
			return tp_err_set(-ENOMEM, "out of memory");
		snprintf(path, sizeof(path), TP_SEED_BUNDLE_DIR "/%s", f->name);
		if ((rc = add(p, TP_SEED_STREAM, path, d, strlen(d), f->mode, false)) < 0)
			return rc;
		snprintf(p->it[p->n - 1].sha256, sizeof(p->it[0].sha256), "%s", f->sha256);
		p->it[p->n - 1].size = f->size;
	}
	if ((rc = tp_seed_bundle_sums(b, &d, &l)) < 0 ||
	    (rc = add(p, TP_SEED_FILE, TP_SEED_BUNDLE_DIR "/SHA256SUMS", d, l, 0644, false)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s\n", b->version);
	return add_text(p, TP_SEED_BUNDLE_DIR "/VERSION", path, 0644, false);
}

/* Whether a k3s node gets the bundle: its version from the config, its
 * arch from the node helper's ELF machine. 1 yes (b filled), 0 no (p->note
 * says why), -errno. */
static int find_bundle(struct tp_seed_plan *p, const char *role, const char *version,
		       struct tp_seed_bundle *b)
{
	const char *arch = tp_elf_k3s_arch(p->helper_machine);

	if (!strcmp(role, "none"))
		return 0;
	if (!arch) {
		snprintf(p->note, sizeof(p->note), "the node helper is built for ELF machine %u, "
			 "which k3s does not ship for", p->helper_machine);
		return 0;
	}
	return tp_seed_bundle_find(version, arch, b, p->note, sizeof(p->note));
}

int tp_seed_plan_make(const struct tp_seed_req *req, struct tp_seed_plan **out)
{
	struct facts *f = calloc(1, sizeof(*f));
	struct tp_seed_plan *p = calloc(1, sizeof(*p));
	struct tp_secrets sec;
	bool sec_open = false;
	const char *hosts[5];
	char token[128] = "", password[128] = "", report[2 * TP_SECRET_REPORT_KEY_BYTES + 1] = "";
	unsigned char key[TP_SECRET_REPORT_KEY_BYTES];
	unsigned n = req->slot;
	char *helper = NULL;
	size_t helper_len = 0;
	struct tp_seed_bundle *bundle = calloc(1, sizeof(*bundle));
	bool with_bundle = false;
	int rc;

	if (!f || !p || !bundle)
		TP_FAIL(-ENOMEM, "out of memory");
	if (n < 1 || n > 4)
		TP_FAIL(-EINVAL, "there is no such slot (slots are 1 to 4)");
	if (!req->module || (strcmp(req->module, "rk1") && strcmp(req->module, "cm4")))
		TP_FAIL(-EINVAL, "the modules are rk1 and cm4, not \"%s\"",
			req->module ? req->module : "(none)");
	if (req->wipe_nvme && !strcmp(req->module, "cm4"))
		TP_FAIL(-EINVAL, "--wipe-nvme: a CM4 has no NVMe on the Turing Pi 2");
	p->slot = n;
	TP_TRY(load_facts(req, f));
	/* The node helper: read and checked now, so that a missing or wrong
	 * file stops the slot before its node is touched (docs/seeding.md §8). */
	{
		char def[TP_PATH_MAX];

		if (!req->node_helper)
			TP_TRY(tp_path(def, sizeof(def), "%s", TP_SEED_HELPER_DEFAULT));
		TP_TRY(tp_seed_helper_read(req->node_helper ? req->node_helper : def,
					   req->node_helper ? "--node-helper" : NULL, &helper,
					   &helper_len, &p->helper_machine));
	}
	TP_TRY(rc = find_bundle(p, f->role[n], f->k3s_version, bundle));
	with_bundle = rc == 1;
	for (unsigned s = 0; s < 5; s++)
		hosts[s] = s ? f->host[s] : NULL;
	TP_TRY(tp_secrets_init(&sec, req->state_dir));
	sec_open = true;
	TP_TRY(tp_secrets_ensure(&sec, 1u << (n - 1), hosts));
	TP_TRY(tp_secrets_cluster_token(&sec, token, sizeof(token)));
	TP_TRY(tp_secrets_node_password(&sec, n, password, sizeof(password)));
	TP_TRY(tp_secrets_report_key(&sec, n, key));
	hex(key, sizeof(key), report);
	TP_TRY(tp_ci_instance_id(f->cluster, n, p->instance_id));

	struct tp_ci_node ci = { .instance_id = p->instance_id, .hostname = f->host[n],
				 .admin_user = f->user, .admin_keys = f->keys,
				 .address = f->address, .gateway = f->gateway, .dns = f->dns };
	struct tp_node_facts nf = { .slot = n, .module = req->module, .role = f->role[n],
				    .hostname = f->host[n], .node_ip = f->node_ip,
				    .server_url = f->ha.api_url, .has_agents = f->agents,
				    .cluster = f->k3s_cluster, .api_address = f->ha.api_address,
				    .token = token, .report_key = report,
				    .instance_id = p->instance_id, .nvme = f->nvme,
				    .wipe_nvme = req->wipe_nvme,
				    .k3s_version = f->k3s_version, .argocd_repo = f->argocd_repo,
				    .argocd_path = f->argocd_path,
				    .argocd_revision = f->argocd_revision,
				    .k3s_bundle = with_bundle ? TP_SEED_BUNDLE_DIR : NULL };
	/* The seed: root-only, on ext4 (docs/seeding.md §5). */
	TP_TRY(add_dir(p, "/var/lib/cloud", 0755));
	TP_TRY(add_dir(p, "/var/lib/cloud/seed", 0755));
	TP_TRY(add_dir(p, "/var/lib/cloud/seed/nocloud", 0700));
	{
		char *d;
		size_t l;

		TP_TRY(tp_ci_meta_data(&ci, &d, &l));
		TP_TRY(add(p, TP_SEED_FILE, "/var/lib/cloud/seed/nocloud/meta-data", d, l, 0600, false));
		TP_TRY(tp_ci_user_data(&ci, &d, &l));
		TP_TRY(add(p, TP_SEED_FILE, "/var/lib/cloud/seed/nocloud/user-data", d, l, 0600, false));
		TP_TRY(tp_ci_network_config(&ci, &d, &l));
		TP_TRY(add(p, TP_SEED_FILE, "/var/lib/cloud/seed/nocloud/network-config", d, l, 0600,
			   false));
	}
	TP_TRY(add_dir(p, "/etc/cloud/cloud.cfg.d", 0755));
	TP_TRY(add_text(p, TP_CI_DROPIN_PATH, tp_ci_dropin, 0644, false));
	TP_TRY(add_dir(p, "/etc/ssh", 0755));
	TP_TRY(add_host_keys(p, &sec, f->host[n]));
	{
		char line[80], *d;
		size_t l;

		snprintf(line, sizeof(line), "%s\n", f->host[n]);
		TP_TRY(add_text(p, "/etc/hostname", line, 0644, false));
		TP_TRY(add_dir(p, "/etc/tpkit", 0755));
		TP_TRY(tp_node_conf(&nf, &d, &l));
		TP_TRY(add(p, TP_SEED_FILE, "/etc/tpkit/node.conf", d, l, 0600, true));
		/* A slot that is no k3s node gets no k3s files. */
		if (strcmp(f->role[n], "none")) {
			TP_TRY(add_dir(p, "/etc/rancher/k3s", 0755));
			TP_TRY(tp_node_k3s_config(&nf, &d, &l));
			TP_TRY(add(p, TP_SEED_FILE, "/etc/rancher/k3s/config.yaml", d, l, 0600, true));
			TP_TRY(add_dir(p, "/etc/rancher/node", 0700));
			snprintf(line, sizeof(line), "%s\n", password);
			rc = add_text(p, "/etc/rancher/node/password", line, 0600, true);
			OPENSSL_cleanse(line, sizeof(line));
			TP_TRY(rc);
		}
		TP_TRY(add_dir(p, "/usr/local/sbin", 0755));
		d = helper;
		helper = NULL;
		TP_TRY(add(p, TP_SEED_FILE, "/usr/local/sbin/tpkit-node", d, helper_len, 0755, false));
	}
	if (with_bundle)
		TP_TRY(add_bundle(p, bundle));
	TP_TRY(add_dir(p, "/etc/systemd/system/multi-user.target.wants", 0755));
	TP_TRY(add_text(p, "/etc/systemd/system/" TP_NODE_UNIT_NAME, tp_node_unit, 0644, false));
	{
		char *t = strdup("../" TP_NODE_UNIT_NAME);

		if (!t)
			TP_FAIL(-ENOMEM, "out of memory");
		TP_TRY(add(p, TP_SEED_LINK, "/etc/systemd/system/multi-user.target.wants/"
			   TP_NODE_UNIT_NAME, t, strlen(t), 0777, false));
	}
	TP_TRY(add_dir(p, "/etc/systemd/system/sysinit.target.wants", 0755));
	TP_TRY(add_text(p, "/etc/systemd/system/" TP_NODE_GUARD_UNIT_NAME, tp_node_guard_unit,
			0644, false));
	{
		char *t = strdup("../" TP_NODE_GUARD_UNIT_NAME);

		if (!t)
			TP_FAIL(-ENOMEM, "out of memory");
		TP_TRY(add(p, TP_SEED_LINK, "/etc/systemd/system/sysinit.target.wants/"
			   TP_NODE_GUARD_UNIT_NAME, t, strlen(t), 0777, false));
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	if (rc < 0)
		tp_err_prefix(rc, "seeding slot %u: ", n);
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(report, sizeof(report));
	OPENSSL_cleanse(key, sizeof(key));
	if (sec_open)
		tp_secrets_close(&sec);
	if (f)
		free(f->keys);
	free(f);
	free(helper);
	free(bundle);
	tp_seed_plan_free(p);
	return rc;
}

const char *tp_seed_plan_note(const struct tp_seed_plan *p)
{
	return p && p->note[0] ? p->note : NULL;
}

void tp_seed_plan_free(struct tp_seed_plan *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++) {
		if (p->it[i].secret && p->it[i].data)
			OPENSSL_cleanse(p->it[i].data, p->it[i].len);
		free(p->it[i].data);
	}
	free(p);
}
