// SPDX-License-Identifier: MIT
/*
 * Several k3s servers and the address the cluster is reached at
 * (docs/commission.md §14): which server starts the cluster, what agents
 * and joining servers dial, and the rules about them that `tpkit config
 * check` applies. One place for these decisions: seeding renders them
 * (bmc/seed/seed.c), the checks judge them.
 */
#include "config.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K3S_API_PORT 6443

static int eff(const struct tp_config *c, const char *key, unsigned slot, char *buf, size_t size)
{
	const struct tp_config_item *it = tp_config_item_of(c, key, slot);

	if (!it)
		return tp_err_set(-ENOENT, "no configuration key %s", key);
	return tp_config_value(c, it, buf, size, NULL);
}

/* "192.168.1.51/24" -> "192.168.1.51"; "dhcp" -> "". */
static void address_of(const char *cidr, char *out, size_t size)
{
	if (!strcmp(cidr, "dhcp"))
		out[0] = '\0';
	else
		snprintf(out, size, "%.*s", (int)strcspn(cidr, "/"), cidr);
}

static void slot_list(const struct tp_config_ha *ha, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < ha->nservers && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%u", i ? ", " : "", ha->server[i]);
}

int tp_config_ha(const struct tp_config *c, struct tp_config_ha *ha)
{
	char role[32], init[32], addr[TP_CONFIG_VALUE_MAX], host[TP_CONFIG_HOST_MAX];
	int rc;

	memset(ha, 0, sizeof(*ha));
	for (unsigned s = 1; s <= TP_SLOTS_MAX; s++) {
		if ((rc = eff(c, "slot/%u/role", s, role, sizeof(role))) < 0)
			return rc;
		if (!strcmp(role, "server"))
			ha->server[ha->nservers++] = s;
	}
	if ((rc = eff(c, "cluster/api_address", 0, ha->api_address, sizeof(ha->api_address))) < 0 ||
	    (rc = eff(c, "cluster/init_server", 0, init, sizeof(init))) < 0)
		return rc;
	if (!ha->nservers)
		return 0;
	ha->init = ha->server[0];
	if (strcmp(init, "auto")) {
		unsigned want = (unsigned)strtoul(init, NULL, 10);
		char list[32];

		ha->init = 0;
		for (unsigned i = 0; i < ha->nservers; i++)
			if (ha->server[i] == want)
				ha->init = want;
		slot_list(ha, list, sizeof(list));
		if (!ha->init)
			return tp_err_set(-EINVAL, "cluster/init_server is %u, but slot %u is not a "
					  "server (the servers are slots %s); name one of them or set "
					  "it back to auto", want, want, list);
	}
	/* k3s keeps one server on SQLite; embedded etcd, and so joining, needs
	 * cluster-init on the first (docs/commission.md §14). */
	ha->cluster_init = ha->nservers > 1;
	if (*ha->api_address) {
		snprintf(ha->api_host, sizeof(ha->api_host), "%s", ha->api_address);
	} else {
		if ((rc = eff(c, "net/slot/%u/address", ha->init, addr, sizeof(addr))) < 0)
			return rc;
		address_of(addr, host, sizeof(host));
		/* Without a static address: the hostname, which the LAN's DNS
		 * must resolve (docs/seeding.md §6). */
		if (!*host && (rc = eff(c, "slot/%u/hostname", ha->init, host, sizeof(host))) < 0)
			return rc;
		snprintf(ha->api_host, sizeof(ha->api_host), "%s", host);
	}
	snprintf(ha->api_url, sizeof(ha->api_url), strchr(ha->api_host, ':') ?
		 "https://[%s]:%d" : "https://%s:%d", ha->api_host, K3S_API_PORT);
	return 0;
}

int tp_config_ha_check(const struct tp_config *c)
{
	struct tp_config_ha ha;
	char addr[TP_CONFIG_VALUE_MAX], list[32];
	int rc = tp_config_ha(c, &ha);

	if (rc < 0 || ha.nservers < 2 || *ha.api_address)
		return rc;
	if ((rc = eff(c, "net/slot/%u/address", ha.init, addr, sizeof(addr))) < 0)
		return rc;
	if (strcmp(addr, "dhcp"))
		return 0;
	slot_list(&ha, list, sizeof(list));
	return tp_err_set(-EINVAL, "%u slots are servers (%s) but the cluster has no fixed "
			  "address: cluster/api_address is not set and net/slot/%u/address is "
			  "dhcp. Joining servers and agents dial the first server; set "
			  "cluster/api_address (an IP or DNS name) or a static net/slot/%u/address",
			  ha.nservers, list, ha.init, ha.init);
}

static size_t add(char *buf, size_t size, size_t n, const char *text)
{
	if (n < size)
		n += (size_t)snprintf(buf + n, size - n, "%s\n", text);
	return n;
}

int tp_config_warnings(const struct tp_config *c, char *buf, size_t size)
{
	struct tp_config_ha ha;
	char line[512], list[32];
	size_t n = 0;
	int count = 0, rc = tp_config_ha(c, &ha);

	if (size)
		buf[0] = '\0';
	if (rc < 0)
		return rc;
	slot_list(&ha, list, sizeof(list));
	/* etcd commits what a majority of its members accept (docs/commission.md
	 * §14): 2 members need both, 4 need 3. */
	if (ha.nservers == 2) {
		snprintf(line, sizeof(line), "2 slots are servers (%s): etcd needs a majority of "
			 "its members, here both, so the cluster stops when either server is "
			 "down; that is less available than 1 server. Use 3 servers, or 1", list);
		n = add(buf, size, n, line);
		count++;
	} else if (ha.nservers > 2 && ha.nservers % 2 == 0) {
		snprintf(line, sizeof(line), "%u slots are servers (%s): etcd's majority is then "
			 "%u, so they survive %u failure(s), as %u servers do, with one more "
			 "member to fail. Use an odd number", ha.nservers, list,
			 ha.nservers / 2 + 1, (ha.nservers - 1) / 2, ha.nservers - 1);
		n = add(buf, size, n, line);
		count++;
	}
	if (ha.nservers > 1 && !*ha.api_address) {
		snprintf(line, sizeof(line), "cluster/api_address is not set: nodes join through "
			 "slot %u's address (%s); a node that joins while slot %u is down cannot. "
			 "Set it to a DNS name or a virtual IP that follows the servers",
			 ha.init, ha.api_host, ha.init);
		n = add(buf, size, n, line);
		count++;
	}
	return count;
}
