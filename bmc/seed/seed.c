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
#include "seedfs.h"
#include "bmc/secrets.h"
#include "common/config.h"
#include "common/err.h"
#include "common/parttable.h"
#include "common/path.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

/* K_STREAM: a host file too large to hold (the k3s bundle), copied in
 * chunks at apply time and checked by its SHA-256 (docs/seeding.md §9). */
enum kind { K_DIR, K_FILE, K_LINK, K_STREAM };

struct item {
	enum kind kind;
	char path[96];
	char *data;    /* file content, link target or K_STREAM's host path (malloc'ed) */
	size_t len;
	mode_t mode;
	bool secret;   /* wiped when the plan is freed */
	char sha256[65];  /* K_STREAM: what the file must hash to */
	uint64_t size;    /* K_STREAM: its size when verified */
};

#define MAX_ITEMS 48

struct tp_seed_plan {
	unsigned slot;
	char instance_id[TP_CI_INSTANCE_ID_MAX];
	unsigned helper_machine; /* the node helper's ELF e_machine: the node's arch */
	char note[512];          /* why no k3s bundle went in ("" if one did or none was due) */
	unsigned n;
	struct item it[MAX_ITEMS];
};

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

static int add(struct tp_seed_plan *p, enum kind k, const char *path, char *data, size_t len,
	       mode_t mode, bool secret)
{
	struct item *it;

	if (p->n == MAX_ITEMS) {
		free(data);
		return tp_err_set(-E2BIG, "seeding plan: more than %d entries", MAX_ITEMS);
	}
	it = &p->it[p->n++];
	*it = (struct item){ .kind = k, .data = data, .len = len, .mode = mode, .secret = secret };
	snprintf(it->path, sizeof(it->path), "%s", path);
	return 0;
}

static int add_dir(struct tp_seed_plan *p, const char *path, mode_t mode)
{
	return add(p, K_DIR, path, NULL, 0, mode, false);
}

/* A copy of a constant text as a file. */
static int add_text(struct tp_seed_plan *p, const char *path, const char *text, mode_t mode,
		    bool secret)
{
	char *d = strdup(text);

	if (!d)
		return tp_err_set(-ENOMEM, "out of memory");
	return add(p, K_FILE, path, d, strlen(d), mode, secret);
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
		if ((rc = add(p, K_FILE, path, d, strlen(d), 0600, true)) < 0)
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
		if ((rc = add(p, K_STREAM, path, d, strlen(d), f->mode, false)) < 0)
			return rc;
		snprintf(p->it[p->n - 1].sha256, sizeof(p->it[0].sha256), "%s", f->sha256);
		p->it[p->n - 1].size = f->size;
	}
	if ((rc = tp_seed_bundle_sums(b, &d, &l)) < 0 ||
	    (rc = add(p, K_FILE, TP_SEED_BUNDLE_DIR "/SHA256SUMS", d, l, 0644, false)) < 0)
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
		TP_TRY(add(p, K_FILE, "/var/lib/cloud/seed/nocloud/meta-data", d, l, 0600, false));
		TP_TRY(tp_ci_user_data(&ci, &d, &l));
		TP_TRY(add(p, K_FILE, "/var/lib/cloud/seed/nocloud/user-data", d, l, 0600, false));
		TP_TRY(tp_ci_network_config(&ci, &d, &l));
		TP_TRY(add(p, K_FILE, "/var/lib/cloud/seed/nocloud/network-config", d, l, 0600,
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
		TP_TRY(add(p, K_FILE, "/etc/tpkit/node.conf", d, l, 0600, true));
		/* A slot that is no k3s node gets no k3s files. */
		if (strcmp(f->role[n], "none")) {
			TP_TRY(add_dir(p, "/etc/rancher/k3s", 0755));
			TP_TRY(tp_node_k3s_config(&nf, &d, &l));
			TP_TRY(add(p, K_FILE, "/etc/rancher/k3s/config.yaml", d, l, 0600, true));
			TP_TRY(add_dir(p, "/etc/rancher/node", 0700));
			snprintf(line, sizeof(line), "%s\n", password);
			rc = add_text(p, "/etc/rancher/node/password", line, 0600, true);
			OPENSSL_cleanse(line, sizeof(line));
			TP_TRY(rc);
		}
		TP_TRY(add_dir(p, "/usr/local/sbin", 0755));
		d = helper;
		helper = NULL;
		TP_TRY(add(p, K_FILE, "/usr/local/sbin/tpkit-node", d, helper_len, 0755, false));
	}
	if (with_bundle)
		TP_TRY(add_bundle(p, bundle));
	TP_TRY(add_dir(p, "/etc/systemd/system/multi-user.target.wants", 0755));
	TP_TRY(add_text(p, "/etc/systemd/system/" TP_NODE_UNIT_NAME, tp_node_unit, 0644, false));
	{
		char *t = strdup("../" TP_NODE_UNIT_NAME);

		if (!t)
			TP_FAIL(-ENOMEM, "out of memory");
		TP_TRY(add(p, K_LINK, "/etc/systemd/system/multi-user.target.wants/"
			   TP_NODE_UNIT_NAME, t, strlen(t), 0777, false));
	}
	TP_TRY(add_dir(p, "/etc/systemd/system/sysinit.target.wants", 0755));
	TP_TRY(add_text(p, "/etc/systemd/system/" TP_NODE_GUARD_UNIT_NAME, tp_node_guard_unit,
			0644, false));
	{
		char *t = strdup("../" TP_NODE_GUARD_UNIT_NAME);

		if (!t)
			TP_FAIL(-ENOMEM, "out of memory");
		TP_TRY(add(p, K_LINK, "/etc/systemd/system/sysinit.target.wants/"
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

/* ---- applying: the root partition, the writes, the read-back ---------- */

/* Add context to the message a callee left, and leave. */
#define TP_FAIL_PREFIX(err, ...)                                                             \
	do {                                                                                 \
		rc = tp_err_prefix((err), __VA_ARGS__);                                      \
		goto out;                                                                    \
	} while (0)

/* The root by what the table says, and why that one, for messages. */
static const struct tp_part *by_table(const struct tp_parttable *pt, char *why, size_t size)
{
	static const char *const names[] = { "cloudimg-rootfs", "writable" };
	const struct tp_part *best = NULL;

	for (unsigned i = 0; pt->kind == TP_PT_GPT && i < 2; i++) {
		const struct tp_part *r = tp_parttable_find(pt, TP_PT_USE_OTHER, names[i]);

		if (r) {
			snprintf(why, size, "named %s", names[i]);
			return r;
		}
	}
	/* CM4 (MBR): p2, type 0x83, is "writable"; p1 is the FAT boot. */
	for (unsigned i = 0; pt->kind == TP_PT_MBR && i < pt->n; i++)
		if (pt->p[i].index == 2 && pt->p[i].use == TP_PT_USE_LINUX) {
			snprintf(why, size, "partition 2, type 0x83");
			return &pt->p[i];
		}
	for (unsigned i = 0; i < pt->n; i++)
		if (pt->p[i].use == TP_PT_USE_LINUX && (!best || pt->p[i].sectors > best->sectors))
			best = &pt->p[i];
	if (best) {
		snprintf(why, size, "the largest Linux partition");
		return best;
	}
	/* The RK1 images mark their root with the ESP type (U-Boot's "bootable"),
	 * so a GPT root without its name can still be partition 2. */
	for (unsigned i = 0; pt->kind == TP_PT_GPT && i < pt->n; i++)
		if (pt->p[i].index == 2) {
			snprintf(why, size, "partition 2: no partition is named cloudimg-rootfs or "
				 "writable, none has a Linux type");
			return &pt->p[i];
		}
	return NULL;
}

/* "MBR: p1 FAT 256 MiB" / "GPT: p1 \"CIDATA\" FAT 4 MiB, ..." for messages. */
static void describe(const struct tp_parttable *pt, char *buf, size_t size)
{
	size_t o;

	o = (size_t)snprintf(buf, size, "%s with %u partition%s",
			     pt->kind == TP_PT_GPT ? "GPT" : pt->kind == TP_PT_MBR ? "MBR" : "none",
			     pt->n, pt->n == 1 ? "" : "s");
	for (unsigned i = 0; i < pt->n && o < size; i++) {
		const struct tp_part *q = &pt->p[i];

		o += (size_t)snprintf(buf + o, size - o, "%s p%u%s%s%s %s %llu MiB",
				      i ? "," : ":", q->index, q->name[0] ? " \"" : "", q->name,
				      q->name[0] ? "\"" : "",
				      q->use == TP_PT_USE_FAT ? "FAT" :
				      q->use == TP_PT_USE_LINUX ? "Linux" : "other",
				      (unsigned long long)(q->sectors * TP_PT_SECTOR >> 20));
	}
}

/* The sink as the seeding sees it: every write counted (res->bytes_written
 * is what went to the device, partial units included). */
struct counted {
	struct tp_sink sink;
	struct tp_sink *inner;
	uint64_t written;
};

static int c_pwrite(struct tp_sink *s, const void *buf, size_t len, uint64_t off)
{
	struct counted *c = s->priv;
	int rc = tp_sink_pwrite(c->inner, buf, len, off);

	if (rc == 0)
		c->written += len;
	return rc;
}

static int c_pread(struct tp_sink *s, void *buf, size_t len, uint64_t off)
{
	return tp_sink_pread(((struct counted *)s->priv)->inner, buf, len, off);
}

static int c_flush(struct tp_sink *s)
{
	return tp_sink_flush(((struct counted *)s->priv)->inner);
}

static void c_close(struct tp_sink *s)
{
	(void)s; /* the caller's sink stays open */
}

static const struct tp_sink_ops counted_ops = {
	.name = "seed", .pwrite = c_pwrite, .pread = c_pread, .flush = c_flush, .close = c_close,
};

/* A K_STREAM item: the host file copied in chunks, hashed on the way; a
 * file that no longer hashes to what the catalogue pins is refused (the
 * copy in the root is then wrong, and the seeding fails). */
static int write_stream(struct tp_seedfs *f, const struct item *it)
{
	struct tp_seed_stream s;
	char hex[65];
	uint64_t size;
	int rc = tp_seed_stream_open(&s, it->data);

	if (rc < 0)
		return rc;
	rc = tp_seedfs_write_from(f, it->path, it->size, tp_seed_stream_fill, &s, it->mode, 0, 0);
	tp_seed_stream_close(&s, hex, &size);
	/* The cache names a file after its catalogue entry (common/cache.h). */
	if (rc == 0 && strcmp(hex, it->sha256))
		rc = tp_err_set(-EBADMSG, "%s changed since the cache verified it: it hashes to "
				"%s (%llu bytes), the catalogue pins %s; check it with tpkit images "
				"verify %s", it->data, hex, (unsigned long long)size, it->sha256,
				strrchr(it->data, '/') ? strrchr(it->data, '/') + 1 : it->data);
	return rc;
}

static int write_all(const struct tp_seed_plan *p, struct tp_seedfs *f, unsigned *files)
{
	for (unsigned i = 0; i < p->n; i++) {
		const struct item *it = &p->it[i];
		int rc = it->kind == K_DIR ? tp_seedfs_mkdir(f, it->path, it->mode, 0, 0) :
			 it->kind == K_STREAM ? write_stream(f, it) :
			 it->kind == K_FILE ? tp_seedfs_write(f, it->path, it->data, it->len,
							      it->mode, 0, 0) :
			 tp_seedfs_symlink(f, it->path, it->data);

		if (rc < 0)
			return rc;
		*files += it->kind != K_DIR;
	}
	return 0;
}

/* A K_STREAM item read back in chunks: its hash is the pinned one. */
static bool stream_same(struct tp_seedfs *f, const struct item *it, int *rc)
{
	struct tp_seedfs_stat st;
	struct tp_seed_hash h;
	char hex[65];

	if ((*rc = tp_seed_hash_init(&h)) < 0)
		return false;
	*rc = tp_seedfs_read_each(f, it->path, &st, tp_seed_hash_each, &h);
	tp_seed_hash_end(&h, hex);
	return *rc == 0 && (st.mode & S_IFMT) == S_IFREG && (st.mode & 07777) == it->mode &&
	       st.uid == 0 && st.gid == 0 && !strcmp(hex, it->sha256);
}

/* A fresh read-only open: every file and link as planned, owned by root. */
static int read_back(const struct tp_seed_plan *p, struct tp_seedfs *f, const char *where)
{
	for (unsigned i = 0; i < p->n; i++) {
		const struct item *it = &p->it[i];

		if (it->kind == K_STREAM) {
			int rc;

			if (!stream_same(f, it, &rc)) {
				if (rc < 0)
					return rc;
				return tp_err_set(-EIO, "%s: reading back %s: it is not what was "
						  "written (type, mode 0%o, owner or SHA-256 differ)",
						  where, it->path, (unsigned)it->mode);
			}
			continue;
		}
		struct tp_seedfs_stat st;
		unsigned type = it->kind == K_DIR ? S_IFDIR : it->kind == K_FILE ? S_IFREG : S_IFLNK;
		char *data = NULL;
		size_t len = 0;
		bool same;
		int rc = tp_seedfs_read(f, it->path, &st, it->kind == K_DIR ? NULL : &data, &len);

		if (rc < 0)
			return rc;
		same = (st.mode & S_IFMT) == type && st.uid == 0 && st.gid == 0 &&
		       (it->kind != K_FILE || (st.mode & 07777) == it->mode) &&
		       (it->kind == K_DIR || (len == it->len && !memcmp(data, it->data, len)));
		if (data) {
			if (it->secret)
				OPENSSL_cleanse(data, len);
			free(data);
		}
		if (!same)
			return tp_err_set(-EIO, "%s: reading back %s: it is not what was written "
					  "(type, mode 0%o, owner or content differ)", where, it->path,
					  (unsigned)it->mode);
	}
	return 0;
}

/* The superblock of the partition at base: whether it is ext2/3/4 (magic
 * 0xEF53 at byte 1024 + 56) and its volume label (16 bytes at 1024 + 120). */
static int read_super(struct tp_sink *s, uint64_t base, bool *ext4, char label[17])
{
	size_t align = s->align ? s->align : 512, span;
	uint64_t start = (base + 1024) - (base + 1024) % align;
	unsigned char *buf;
	int rc;

	span = (size_t)(((base + 2048 - start) + align - 1) / align * align);
	if (posix_memalign((void **)&buf, align > 4096 ? align : 4096, span))
		return tp_err_set(-ENOMEM, "out of memory");
	rc = tp_sink_flush(s);
	if (rc == 0)
		rc = tp_sink_pread(s, buf, span, start);
	if (rc == 0) {
		const unsigned char *sb = buf + (base + 1024 - start);

		*ext4 = sb[56] == 0x53 && sb[57] == 0xEF;
		memcpy(label, sb + 120, 16);
		label[16] = '\0';
	}
	free(buf);
	return rc;
}

/*
 * The root: first an ext4 file system labelled as the images label their
 * roots (what their fstab and kernel command lines name), then by the
 * table (by_table). *out NULL if neither finds one.
 */
static int pick_root(const struct tp_parttable *pt, struct tp_sink *s, size_t head_len,
		     const struct tp_part **out, char *why, size_t size)
{
	for (unsigned i = 0; i < pt->n; i++) {
		uint64_t base = pt->p[i].first_lba * TP_PT_SECTOR;
		char label[17];
		bool ext4 = false;
		int rc;

		if (base < head_len || pt->p[i].sectors < 4)
			continue; /* not written yet: the head comes last */
		if ((rc = read_super(s, base, &ext4, label)) < 0)
			return rc;
		if (ext4 && (!strcmp(label, "cloudimg-rootfs") || !strcmp(label, "writable"))) {
			snprintf(why, size, "ext4 labelled %s", label);
			*out = &pt->p[i];
			return 0;
		}
	}
	*out = by_table(pt, why, size);
	return 0;
}

int tp_seed_find_root(struct tp_sink *s, const void *head, size_t head_len, uint64_t *base,
		      uint64_t *size, char *where, size_t where_size)
{
	struct tp_parttable *pt = calloc(1, sizeof(*pt));
	const struct tp_part *root;
	char why[160], table[512], label[17];
	bool ext4 = false;
	int rc;

	if (!pt)
		TP_FAIL(-ENOMEM, "out of memory");
	TP_TRY(tp_parttable_parse(head, head_len, pt));
	describe(pt, table, sizeof(table));
	if (pt->kind == TP_PT_NONE)
		TP_FAIL(-EINVAL, "no ext4 root partition in the image's partition table: the "
			"image has no partition table (no MBR signature in its first sector)");
	TP_TRY(pick_root(pt, s, head_len, &root, why, sizeof(why)));
	if (!root)
		TP_FAIL(-ENOENT, "no ext4 root partition in the image's partition table: %s; "
			"seeding looks for an ext4 file system labelled cloudimg-rootfs or "
			"writable, a GPT partition of that name, an MBR partition 2 of type "
			"0x83, or else the largest Linux partition",
			table);
	*base = root->first_lba * TP_PT_SECTOR;
	*size = root->sectors * TP_PT_SECTOR;
	snprintf(where, where_size, "p%u (%s) of the image's %s", root->index, why,
		 pt->kind == TP_PT_GPT ? "GPT" : "MBR");
	/* The pipeline writes the head last: a root inside it would be
	 * overwritten after seeding. No image tpkit knows does that. */
	if (*base < head_len)
		TP_FAIL(-EINVAL, "%s starts at byte %llu, inside the image's first %zu bytes, "
			"which are written after seeding", where, (unsigned long long)*base,
			head_len);
	TP_TRY(read_super(s, *base, &ext4, label));
	if (!ext4)
		TP_FAIL(-ENOENT, "no ext4 root partition in the image's partition table: %s "
			"holds no ext4 file system (%s)", where, table);
	rc = 0;
out:
	free(pt);
	return rc;
}

int tp_seed_apply(const struct tp_seed_plan *p, struct tp_sink *s, const void *head,
		  size_t head_len, struct tp_seed_result *res)
{
	struct counted c = { .inner = s };
	struct tp_seedfs *f = NULL;
	char where[256];
	uint64_t base, size;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = tp_seed_find_root(s, head, head_len, &base, &size, where, sizeof(where));
	if (rc < 0)
		goto out;
	c.sink = *s;
	c.sink.ops = &counted_ops;
	c.sink.priv = &c;
	if ((rc = tp_seedfs_open(&c.sink, base, size, &f)) < 0)
		TP_FAIL_PREFIX(rc, "%s: ", where);
	rc = write_all(p, f, &res->files);
	tp_seedfs_uuid(f, res->root_uuid);
	if (rc < 0) {
		tp_seedfs_close(f);
		TP_FAIL_PREFIX(rc, "%s: ", where);
	}
	if ((rc = tp_seedfs_close(f)) < 0)
		TP_FAIL_PREFIX(rc, "%s: ", where);
	res->bytes_written = c.written;
	if ((rc = tp_seedfs_open_ro(&c.sink, base, size, &f)) < 0)
		TP_FAIL_PREFIX(rc, "%s: reading back: ", where);
	rc = read_back(p, f, where);
	tp_seedfs_close(f);
	if (rc < 0)
		goto out;
	snprintf(res->instance_id, sizeof(res->instance_id), "%s", p->instance_id);
	rc = 0;
out:
	return rc;
}
