// SPDX-License-Identifier: MIT
/*
 * node.conf: what seeding told this node (docs/seeding.md, the node files;
 * docs/node-helper.md §3). It holds the slot's report key, so it must be
 * readable and writable by root alone: a node.conf anyone else could have
 * written could make the helper sign lines it never meant.
 */
#include "node.h"
#include "common/err.h"
#include "common/kvconf.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every key seeding writes, the required ones first; the rest are optional
 * (an older seeding lacks them): nvme defaults to auto, the others to "". */
static const char *const known[] = { "slot", "module", "role", "hostname", "server",
				     "instance_id", "report_key", "nvme", "k3s_version",
				     "k3s_bundle", "argocd_repo", "argocd_path",
				     "argocd_revision", "wipe_nvme", "k3s_cluster" };
#define NREQUIRED 7

static int check_mode(const char *file)
{
	struct stat st;

	if (lstat(file, &st) < 0)
		return tp_err_set(-errno, "cannot read %s: %s", file, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return tp_err_set(-EPERM, "%s is not a regular file: refused", file);
	if ((st.st_mode & 07777) != 0600)
		return tp_err_set(-EPERM,
				  "%s has mode %04o, not 0600: it holds the report key, refused",
				  file, (unsigned)(st.st_mode & 07777));
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return tp_err_set(-EPERM, "%s is owned by uid %u, not root: refused", file,
				  (unsigned)st.st_uid);
	return 0;
}

static int copy(char *dst, size_t size, const char *v, const char *key, const char *file)
{
	if (strlen(v) >= size)
		return tp_err_set(-EINVAL, "%s: %s is longer than %zu characters", file, key,
				  size - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(v, *set))
			return 1;
	return 0;
}

/* An RFC 1123 label, as the BMC's configuration requires of hostnames. */
static int label_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 63 || v[0] == '-' || v[n - 1] == '-')
		return 0;
	for (; *v; v++)
		if (!((*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') || *v == '-'))
			return 0;
	return 1;
}

static int hex64_ok(const char *v)
{
	if (strlen(v) != 64)
		return 0;
	for (; *v; v++)
		if (!((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'f')))
			return 0;
	return 1;
}

/* Text for YAML and argv, never a shell: still, no control characters or
 * blanks (none of these values has them: config.md's types). */
static int plain_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || *v == 0x7f)
			return 0;
	return 1;
}

/* vX.Y.Z+k3sN or vX.Y.Z-rcN+k3sN (docs/config.md, the k3s-version type). */
static int k3s_version_ok(const char *v)
{
	unsigned a, b, c, n;
	int end = 0;

	if (sscanf(v, "v%u.%u.%u+k3s%u%n", &a, &b, &c, &n, &end) == 4 && !v[end])
		return 1;
	end = 0;
	return sscanf(v, "v%u.%u.%u-rc%u+k3s%u%n", &a, &b, &c, &n, &n, &end) == 5 && !v[end];
}

/* The optional k3s and ArgoCD keys of the contract (docs/node-helper.md §3). */
static int check_k3s(struct tp_node_conf *nc, const struct tp_kvconf *kv, const char *file)
{
	static const struct {
		const char *key;
		size_t off, size;
	} opt[] = {
		{ "k3s_version", offsetof(struct tp_node_conf, k3s_version), 64 },
		{ "k3s_bundle", offsetof(struct tp_node_conf, k3s_bundle), 256 },
		{ "argocd_repo", offsetof(struct tp_node_conf, argocd_repo), 256 },
		{ "argocd_path", offsetof(struct tp_node_conf, argocd_path), 256 },
		{ "argocd_revision", offsetof(struct tp_node_conf, argocd_revision), 128 },
		{ "k3s_cluster", offsetof(struct tp_node_conf, k3s_cluster), 8 },
	};
	int rc;

	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		const char *v = tp_kvconf_get(kv, opt[i].key);

		if (!v)
			continue;
		if (!plain_ok(v))
			return tp_err_set(-EINVAL, "%s: %s has a blank or a control character",
					  file, opt[i].key);
		rc = copy((char *)nc + opt[i].off, opt[i].size, v, opt[i].key, file);
		if (rc < 0)
			return rc;
	}
	if (*nc->k3s_version && !k3s_version_ok(nc->k3s_version))
		return tp_err_set(-EINVAL, "%s: k3s_version \"%.32s\" is not vX.Y.Z+k3sN", file,
				  nc->k3s_version);
	if (*nc->k3s_bundle && nc->k3s_bundle[0] != '/')
		return tp_err_set(-EINVAL, "%s: k3s_bundle is not an absolute path", file);
	if (*nc->k3s_cluster && strcmp(nc->k3s_cluster, "single") &&
	    strcmp(nc->k3s_cluster, "init") && strcmp(nc->k3s_cluster, "join"))
		return tp_err_set(-EINVAL, "%s: k3s_cluster \"%.8s\" is not single, init or join",
				  file, nc->k3s_cluster);
	return 0;
}

static int check_values(struct tp_node_conf *nc, const struct tp_kvconf *kv, const char *file)
{
	static const char *const modules[] = { "rk1", "cm4", NULL };
	static const char *const roles[] = { "server", "agent", "none", NULL };
	static const char *const nvmes[] = { "auto", "never", "required", NULL };
	const char *v;
	char *end;
	unsigned long slot;
	int rc;

	for (size_t i = 0; i < NREQUIRED; i++)
		if (!tp_kvconf_get(kv, known[i]))
			return tp_err_set(-EINVAL, "%s: the key %s is missing", file, known[i]);
	v = tp_kvconf_get(kv, "slot");
	errno = 0;
	slot = strtoul(v, &end, 10);
	if (!*v || *end || errno || slot < 1 || slot > 4)
		return tp_err_set(-EINVAL, "%s: slot \"%.16s\" is not 1 to 4", file, v);
	nc->slot = (unsigned)slot;
	v = tp_kvconf_get(kv, "module");
	if (!one_of(v, modules))
		return tp_err_set(-EINVAL, "%s: module \"%.16s\" is not rk1 or cm4", file, v);
	copy(nc->module, sizeof(nc->module), v, "module", file);
	v = tp_kvconf_get(kv, "role");
	if (!one_of(v, roles))
		return tp_err_set(-EINVAL, "%s: role \"%.16s\" is not server, agent or none",
				  file, v);
	copy(nc->role, sizeof(nc->role), v, "role", file);
	v = tp_kvconf_get(kv, "hostname");
	if (!label_ok(v))
		return tp_err_set(-EINVAL, "%s: hostname \"%.64s\" is not a host name label",
				  file, v);
	copy(nc->hostname, sizeof(nc->hostname), v, "hostname", file);
	rc = copy(nc->server, sizeof(nc->server), tp_kvconf_get(kv, "server"), "server", file);
	if (rc < 0)
		return rc;
	if (strcmp(nc->role, "agent") == 0 && strncmp(nc->server, "https://", 8) != 0)
		return tp_err_set(-EINVAL, "%s: an agent's server must be an https:// URL", file);
	v = tp_kvconf_get(kv, "instance_id");
	if (!*v)
		return tp_err_set(-EINVAL, "%s: instance_id is empty", file);
	rc = copy(nc->instance_id, sizeof(nc->instance_id), v, "instance_id", file);
	if (rc < 0)
		return rc;
	/* Never echo the key's value, not even a bad one. */
	if (!hex64_ok(tp_kvconf_get(kv, "report_key")))
		return tp_err_set(-EINVAL, "%s: report_key is not 64 lower-case hex digits", file);
	copy(nc->report_key, sizeof(nc->report_key), tp_kvconf_get(kv, "report_key"),
	     "report_key", file);
	v = tp_kvconf_get(kv, "nvme");
	if (!v)
		v = "auto";
	if (!one_of(v, nvmes))
		return tp_err_set(-EINVAL, "%s: nvme \"%.16s\" is not auto, never or required",
				  file, v);
	copy(nc->nvme, sizeof(nc->nvme), v, "nvme", file);
	/* Only "yes" asks for a wipe (docs/node-helper.md §16). */
	v = tp_kvconf_get(kv, "wipe_nvme");
	if (v && strcmp(v, "yes") && strcmp(v, "no"))
		return tp_err_set(-EINVAL, "%s: wipe_nvme \"%.16s\" is not yes or no", file, v);
	nc->wipe_nvme = v && !strcmp(v, "yes");
	return check_k3s(nc, kv, file);
}

int tp_node_conf_load(struct tp_node_conf *nc, const char *file, char *notes, size_t nsize)
{
	struct tp_kvconf kv;
	int rc;

	memset(nc, 0, sizeof(*nc));
	if (notes && nsize)
		notes[0] = '\0';
	rc = check_mode(file);
	if (rc < 0)
		return rc;
	rc = tp_kvconf_read(&kv, file);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < kv.n && notes; i++) {
		size_t k, len = strlen(notes);

		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (!strcmp(kv.kv[i].key, known[k]))
				break;
		if (k == sizeof(known) / sizeof(known[0]) && len < nsize)
			snprintf(notes + len, nsize - len, "%s%s: unknown key %s (line %u) ignored",
				 len ? "; " : "", file, kv.kv[i].key, kv.kv[i].line);
	}
	rc = check_values(nc, &kv, file);
	tp_kvconf_free(&kv);
	if (rc < 0)
		tp_node_conf_wipe(nc);
	return rc;
}

void tp_node_conf_wipe(struct tp_node_conf *nc)
{
	explicit_bzero(nc->report_key, sizeof(nc->report_key));
}
