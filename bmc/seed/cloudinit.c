// SPDX-License-Identifier: MIT
/*
 * The seed's YAML text (cloudinit.h). Every value from the configuration is
 * a double-quoted scalar (tp_text_yaml); keys and structure are fixed text
 * here. The configuration is validated when it is loaded, so the quoting is
 * the second line of defence, not the first: a key comment is free text.
 */
#include "cloudinit.h"
#include "text.h"
#include "common/err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

/*
 * Only the seed directory: fs_label null stops NoCloud's search for a FAT
 * seed (which would replace our user-data), and the one-line list form is
 * the one ds-identify's parser reads (docs/seeding.md §5).
 */
const char tp_ci_dropin[] =
	"# Written by tpkit (tpkit docs/seeding.md §5).\n"
	"# The seed is /var/lib/cloud/seed/nocloud on this root file system; no\n"
	"# label search, so the image's own seed on its FAT partition is not read.\n"
	"datasource_list: [ NoCloud, None ]\n"
	"datasource:\n"
	"  NoCloud:\n"
	"    fs_label: null\n";

int tp_ci_instance_id(const char *cluster, unsigned slot, char out[TP_CI_INSTANCE_ID_MAX])
{
	unsigned char r[8];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return tp_err_set(-EIO, "no random bytes for the cloud-init instance id");
	snprintf(out, TP_CI_INSTANCE_ID_MAX,
		 "tpkit-%.48s-slot%u-%02x%02x%02x%02x%02x%02x%02x%02x", cluster, slot, r[0], r[1],
		 r[2], r[3], r[4], r[5], r[6], r[7]);
	return 0;
}

static int finish(struct tp_text *t, const char *what, char **out, size_t *len)
{
	int rc = tp_text_take(t, out, len);

	if (rc == -EILSEQ)
		return tp_err_set(rc, "%s: a configuration value is not UTF-8 text", what);
	if (rc < 0)
		return tp_err_set(rc, "%s: out of memory", what);
	return 0;
}

int tp_ci_meta_data(const struct tp_ci_node *n, char **out, size_t *len)
{
	struct tp_text t = { 0 };

	/* dsmode local, as the images' own seeds: the seed is read and the
	 * network configured before the network comes up. */
	tp_text_add(&t, "instance-id: ");
	tp_text_yaml(&t, n->instance_id);
	tp_text_add(&t, "\nlocal-hostname: ");
	tp_text_yaml(&t, n->hostname);
	tp_text_add(&t, "\ndsmode: local\n");
	return finish(&t, "meta-data", out, len);
}

/* The key lines of an authorized_keys text, each as a list item. */
static unsigned add_keys(struct tp_text *t, const char *keys, const char *indent)
{
	unsigned n = 0;

	for (const char *p = keys; p && *p;) {
		size_t l = strcspn(p, "\n"), b = 0, e = l;
		char *line;

		while (b < l && (p[b] == ' ' || p[b] == '\t'))
			b++;
		while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\r'))
			e--;
		if (e > b && p[b] != '#') {
			if (!(line = strndup(p + b, e - b))) {
				t->err = -ENOMEM;
				return n;
			}
			tp_text_add(t, "%s- ", indent);
			tp_text_yaml(t, line);
			tp_text_add(t, "\n");
			free(line);
			n++;
		}
		p += l + (p[l] == '\n');
	}
	return n;
}

int tp_ci_user_data(const struct tp_ci_node *n, char **out, size_t *len)
{
	struct tp_text t = { 0 };

	tp_text_add(&t, "#cloud-config\n"
			"# Written by tpkit (docs/seeding.md). The users list names the admin\n"
			"# alone, so the image's own user is not created.\n"
			"hostname: ");
	tp_text_yaml(&t, n->hostname);
	tp_text_add(&t, "\npreserve_hostname: false\n"
			"manage_etc_hosts: true\n"
			"users:\n"
			"  - name: ");
	tp_text_yaml(&t, n->admin_user);
	tp_text_add(&t, "\n    groups: [adm, sudo]\n"
			"    shell: /bin/bash\n"
			"    lock_passwd: true\n"
			"    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n"
			"    ssh_authorized_keys:\n");
	if (add_keys(&t, n->admin_keys, "      ") == 0 && !t.err) {
		tp_text_wipe(&t);
		return tp_err_set(-EINVAL, "user-data: the admin has no SSH key, and password "
				  "login is off: nobody could log in (set admin/keys)");
	}
	/* The host keys are files seed.c writes into /etc/ssh: cloud-init must
	 * neither delete them (its default) nor add other types. */
	tp_text_add(&t, "disable_root: true\n"
			"ssh_pwauth: false\n"
			"ssh_deletekeys: false\n"
			"ssh_genkeytypes: []\n"
			"# tpkit-node.service is enabled by its link in the image already;\n"
			"# enabling it again is harmless and survives a first-boot preset.\n"
			"runcmd:\n"
			"  - [systemctl, enable, tpkit-node.service]\n");
	return finish(&t, "user-data", out, len);
}

/* "a,b" as a YAML flow list of quoted addresses. */
static void add_list(struct tp_text *t, const char *csv)
{
	bool first = true;

	tp_text_add(t, "[");
	for (const char *p = csv; *p;) {
		size_t l = strcspn(p, ",");
		char *one = strndup(p, l);

		if (!one) {
			t->err = -ENOMEM;
			return;
		}
		tp_text_add(t, "%s", first ? "" : ", ");
		tp_text_yaml(t, one);
		free(one);
		first = false;
		p += l + (p[l] == ',');
	}
	tp_text_add(t, "]");
}

int tp_ci_network_config(const struct tp_ci_node *n, char **out, size_t *len)
{
	struct tp_text t = { 0 };
	bool dhcp = !strcmp(n->address, "dhcp");

	/* The images' own shape (a top-level network: key, netplan version 2);
	 * one entry matching the wired port by name: RK1 and CM4 have one. */
	tp_text_add(&t, "network:\n"
			"  version: 2\n"
			"  ethernets:\n"
			"    lan:\n"
			"      match:\n"
			"        name: \"e*\"\n");
	if (dhcp) {
		tp_text_add(&t, "      dhcp4: true\n"
				"      optional: true\n");
	} else {
		tp_text_add(&t, "      dhcp4: false\n"
				"      dhcp6: false\n"
				"      addresses: [");
		tp_text_yaml(&t, n->address);
		tp_text_add(&t, "]\n");
		if (n->gateway && *n->gateway) {
			tp_text_add(&t, "      routes:\n"
					"        - to: default\n"
					"          via: ");
			tp_text_yaml(&t, n->gateway);
			tp_text_add(&t, "\n");
		}
	}
	if (n->dns && *n->dns) {
		tp_text_add(&t, "      nameservers:\n"
				"        addresses: ");
		add_list(&t, n->dns);
		tp_text_add(&t, "\n");
	}
	return finish(&t, "network-config", out, len);
}
