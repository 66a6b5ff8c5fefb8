// SPDX-License-Identifier: MIT
/*
 * The key table: every configuration key, its type, default and doc, in one
 * place. `tpkit config --help` prints it, tp_config_load() accepts exactly
 * these files, and tests/unit/test_config.c checks that docs/config.md
 * names every key. Add a key here and in docs/config.md, nowhere else.
 */
#include "config.h"
#include "err.h"
#include "path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hostnames follow the cluster name, so renaming the cluster renames the
 * nodes that were not named one by one. */
static int def_hostname(const struct tp_config *c, unsigned slot, char *buf, size_t size)
{
	char cluster[TP_CONFIG_VALUE_MAX];
	int rc = tp_config_get(c, "cluster/name", cluster, sizeof(cluster));

	if (rc < 0)
		return rc;
	snprintf(buf, size, "%s-%u", cluster, slot);
	return 0;
}

/* One server, on slot 1; the rest join it. */
static int def_role(const struct tp_config *c, unsigned slot, char *buf, size_t size)
{
	(void)c;
	snprintf(buf, size, "%s", slot == 1 ? "server" : "agent");
	return 0;
}

/* Whoever can log in to the BMC as root can log in to the nodes. No file
 * there means no keys (tp_config_check says so). */
static int def_admin_keys(const struct tp_config *c, unsigned slot, char *buf, size_t size)
{
	char file[TP_PATH_MAX];
	char *text = NULL;
	int rc;

	(void)c;
	(void)slot;
	buf[0] = '\0';
	if ((rc = tp_path(file, sizeof(file), "%s", TP_CONFIG_ROOT_KEYS)) < 0)
		return rc;
	rc = tp_config_read_value(file, size, &text);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	snprintf(buf, size, "%s", text);
	free(text);
	return 0;
}

const struct tp_config_key tp_config_keys[] = {
	{ "cluster/name", TP_CT_LABEL, false, "turing", NULL,
	  "The cluster's name: the default hostnames are NAME-1 to NAME-4, and the "
	  "cloud-init instance ids start with it. At most 61 characters, so that "
	  "NAME-N is still a hostname.",
	  "homelab" },
	{ "cluster/api_address", TP_CT_HOST, false, "(none: the first server's address)", NULL,
	  "The address agents and joining servers reach the k3s API at, an IP or a "
	  "DNS name, and a name in every server's certificate (tls-san). Empty: the "
	  "first server's static address, else its hostname. With several servers, a "
	  "DNS name or a virtual IP that follows them (kube-vip, keepalived: not part "
	  "of tpkit) keeps joining possible while that server is down.",
	  "k3s.lab.example" },
	{ "cluster/init_server", TP_CT_INIT_SLOT, false, "auto", NULL,
	  "With several servers, the slot whose server starts the cluster (k3s "
	  "cluster-init); the others join it. auto: the lowest server slot. Set it to "
	  "another server before re-flashing that one, so that it joins the running "
	  "cluster instead of starting a new one.",
	  "2" },
	{ "slot/%u/hostname", TP_CT_LABEL, true, "<cluster/name>-N", def_hostname,
	  "The node's hostname, also its k3s node name. Unique across the slots.",
	  "rk1-a" },
	{ "slot/%u/role", TP_CT_ROLE, true, "server (slot 1), agent (slots 2-4)", def_role,
	  "What the node becomes: a k3s server (with 3 servers: a highly available "
	  "cluster), an agent that joins the servers, or none (the slot is not "
	  "commissioned).",
	  "agent" },
	{ "slot/%u/image", TP_CT_IMAGE, true, "auto", NULL,
	  "The OS image to flash: auto (the catalogue's default for the module found "
	  "in the slot), a catalogue name (tpkit images list), an absolute file path "
	  "on the BMC, or an http(s) URL.",
	  "ubuntu-24.04-server-rk1" },
	{ "slot/%u/nvme", TP_CT_NVME, true, "auto", NULL,
	  "Whether an RK1 moves its root file system from eMMC to NVMe: auto (when an "
	  "NVMe drive is present), never (stay on eMMC), required (commissioning "
	  "fails without a drive). CM4 modules cannot use the board's M.2 slots and "
	  "stay on eMMC unless this is required, which then fails.",
	  "never" },
	{ "net/slot/%u/address", TP_CT_ADDRESS, true, "dhcp", NULL,
	  "The node's address: dhcp, or a static address with its prefix length "
	  "(CIDR, IPv4 or IPv6).",
	  "192.168.1.51/24" },
	{ "net/slot/%u/gateway", TP_CT_IP_OPT, true, "(none)", NULL,
	  "The default gateway of a static address (same family); empty for none. "
	  "k3s needs a default route to pick the node's address.",
	  "192.168.1.1" },
	{ "net/slot/%u/dns", TP_CT_IP_LIST, true, "(none)", NULL,
	  "Name servers, comma-separated; with dhcp they are used in addition to the "
	  "DHCP server's.",
	  "192.168.1.1,1.1.1.1" },
	{ "admin/user", TP_CT_USER, false, "admin", NULL,
	  "The user created on every node, with sudo and SSH key login only (no "
	  "password). The image's default user (ubuntu) is not created.",
	  "ops" },
	{ "admin/keys", TP_CT_SSH_KEYS, false, "the BMC's " TP_CONFIG_ROOT_KEYS, def_admin_keys,
	  "The admin's SSH public keys, in authorized_keys format (one key a line, "
	  "options allowed, # comments). Set it from a file with `tpkit config set "
	  "admin/keys - < FILE`.",
	  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF23YN3yxyFXZxVNdzZU50fAnN5dvJ8QY3z9IiocIEZL "
	  "me@laptop" },
	{ "k3s/version", TP_CT_K3S_VERSION, false, "v1.31.12+k3s1", NULL,
	  "The k3s release installed on every node (vX.Y.Z+k3sN, as k3s tags them).",
	  "v1.32.3+k3s1" },
	{ "argocd/repo", TP_CT_GIT_URL, false, "(none: no ArgoCD)", NULL,
	  "The Git repository of the cluster's ArgoCD root application (https://, "
	  "ssh://, git:// or user@host:path). Empty: ArgoCD is not installed.",
	  "https://github.com/example/cluster.git" },
	{ "argocd/revision", TP_CT_GIT_REV, false, "HEAD", NULL,
	  "The branch, tag or commit ArgoCD follows.",
	  "main" },
	{ "argocd/path", TP_CT_REL_PATH, false, ".", NULL,
	  "The directory inside the repository that holds the root application's "
	  "manifests.",
	  "apps/root" },
};

const size_t tp_config_nkeys = sizeof(tp_config_keys) / sizeof(tp_config_keys[0]);

const struct tp_config_type_info tp_config_types[TP_CT_COUNT] = {
	[TP_CT_LABEL] = { "hostname", "an RFC 1123 label: 1-63 of a-z, 0-9 and '-', "
				      "starting and ending with a letter or digit" },
	[TP_CT_ROLE] = { "role", "server, agent or none" },
	[TP_CT_IMAGE] = { "image", "auto, a catalogue name, /absolute/path or http(s)://URL" },
	[TP_CT_NVME] = { "nvme", "auto, never or required" },
	[TP_CT_USER] = { "user", "a Linux user name: 1-32 of a-z, 0-9, '_' and '-', "
				 "starting with a letter or '_'; not root or a system user" },
	[TP_CT_SSH_KEYS] = { "ssh-keys", "authorized_keys lines: [options] TYPE BASE64 "
					 "[comment], the base64 a key of that TYPE" },
	[TP_CT_K3S_VERSION] = { "k3s-version", "vX.Y.Z+k3sN (vX.Y.Z-rcN+k3sN for a "
					       "release candidate)" },
	[TP_CT_GIT_URL] = { "git-url", "empty, https://, http://, ssh://, git:// or "
				       "user@host:path" },
	[TP_CT_GIT_REV] = { "git-revision", "a branch, tag, HEAD or commit id" },
	[TP_CT_REL_PATH] = { "repo-path", "\".\" or a relative path without \"..\"" },
	[TP_CT_ADDRESS] = { "address", "dhcp, or ADDRESS/PREFIX (IPv4 or IPv6)" },
	[TP_CT_IP_OPT] = { "ip", "empty, or an IPv4 or IPv6 address" },
	[TP_CT_IP_LIST] = { "ip-list", "empty, or IP addresses separated by commas" },
	[TP_CT_HOST] = { "host", "empty, an IPv4 or IPv6 address, or a DNS name" },
	[TP_CT_INIT_SLOT] = { "init-slot", "auto, or a server's slot, 1-4" },
};
