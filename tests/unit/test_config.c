// SPDX-License-Identifier: MIT
/* The configuration tree (common/config.c, config_check.c, config_keys.c):
 * every validator with good and bad values, defaults of an empty tree,
 * errors naming the key and the file, unknown files, cross-key checks,
 * atomic writes (common/atomic.c), and docs/config.md against the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic.h"
#include "common/base64.h"
#include "common/config.h"
#include "common/err.h"
#include "common/path.h"

#define ED "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF23YN3yxyFXZxVNdzZU50fAnN5dvJ8QY3z9IiocIEZL"
/* An RSA blob whose base64 is well formed (ssh-keygen -t rsa -b 1024). */
#define RSA "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDGDFHA0nQpIdcvX5yJcq3bVpyvAVN" \
	    "ZdCQjKx8A+ad61bmpOkAfWEVh8FE3pr3k6i6XaVBTpyrp4YRx7r+1aM6uaxDFdFLy7qOPqsL" \
	    "VBQsX1xq+NYTpuYxWeiGNqtNaw60qqtmnL/GE9/7pEQjQwtDNPEP54vM8p1/2Jc/AeqCl3w=="

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tpkit-test-config.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	/* The BMC root (for admin/keys' default) is the same scratch tree. */
	tp_root_set(tmpdir);
	unsetenv("TPKIT_CONFIG_DIR");
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put_file(const char *rel, const char *text)
{
	char path[1024], dir[1024];

	snprintf(path, sizeof(path), "%s%s", tmpdir, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(tp_dir_make(dir, 0755, 0), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void check(enum tp_config_type t, const char *v, bool ok, const char *why_part)
{
	char why[1024];
	int rc = tp_config_check_type(t, v, why, sizeof(why));

	if (ok && rc != 0)
		fail_msg("\"%s\" refused as %s: %s", v, tp_config_types[t].name, why);
	if (!ok && rc == 0)
		fail_msg("\"%s\" accepted as %s", v, tp_config_types[t].name);
	if (!ok && why_part && !strstr(why, why_part))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", v, why, why_part);
}

static void validators(void **state)
{
	(void)state;
	check(TP_CT_LABEL, "turing-1", true, NULL);
	check(TP_CT_LABEL, "a", true, NULL);
	check(TP_CT_LABEL, "0node", true, NULL);
	check(TP_CT_LABEL, "", false, "empty");
	check(TP_CT_LABEL, "-node", false, "starts or ends");
	check(TP_CT_LABEL, "node-", false, "starts or ends");
	check(TP_CT_LABEL, "Node", false, "upper-case");
	check(TP_CT_LABEL, "no_de", false, "'_'");
	check(TP_CT_LABEL, "node.lan", false, "'.'");
	check(TP_CT_LABEL, "no de", false, "' '");
	check(TP_CT_LABEL, "a\nb", false, "more than one line");
	check(TP_CT_LABEL, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true, NULL);
	check(TP_CT_LABEL, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false,
	      "at most 63");

	check(TP_CT_HOST, "", true, NULL);
	check(TP_CT_HOST, "192.168.1.50", true, NULL);
	check(TP_CT_HOST, "fd00::50", true, NULL);
	check(TP_CT_HOST, "k3s.lab.example", true, NULL);
	check(TP_CT_HOST, "k3s.lab.example.", true, NULL);
	check(TP_CT_HOST, "api", true, NULL);
	check(TP_CT_HOST, "https://k3s.lab", false, "':'");
	check(TP_CT_HOST, "k3s..lab", false, "neither an IP address nor a DNS name");
	check(TP_CT_HOST, "-k3s.lab", false, "neither");
	check(TP_CT_HOST, "k3s lab", false, "' '");
	check(TP_CT_HOST, "192.168.1.50/24", false, "'/'");
	check(TP_CT_INIT_SLOT, "auto", true, NULL);
	check(TP_CT_INIT_SLOT, "3", true, NULL);
	check(TP_CT_INIT_SLOT, "0", false, "neither auto nor a slot");
	check(TP_CT_INIT_SLOT, "5", false, NULL);
	check(TP_CT_INIT_SLOT, "12", false, NULL);

	check(TP_CT_ROLE, "server", true, NULL);
	check(TP_CT_ROLE, "agent", true, NULL);
	check(TP_CT_ROLE, "none", true, NULL);
	check(TP_CT_ROLE, "master", false, "server, agent or none");
	check(TP_CT_ROLE, "Server", false, NULL);
	check(TP_CT_NVME, "auto", true, NULL);
	check(TP_CT_NVME, "required", true, NULL);
	check(TP_CT_NVME, "always", false, "auto, never or required");

	check(TP_CT_IMAGE, "auto", true, NULL);
	check(TP_CT_IMAGE, "ubuntu-24.04-server-rk1", true, NULL);
	check(TP_CT_IMAGE, "/mnt/sdcard/images/x.img.xz", true, NULL);
	check(TP_CT_IMAGE, "https://h.example/x.img.xz", true, NULL);
	check(TP_CT_IMAGE, "ftp://h/x.img", false, "not a URL");
	check(TP_CT_IMAGE, "https:///x.img", false, "no host");
	check(TP_CT_IMAGE, "images/x.img", false, "absolute path");
	check(TP_CT_IMAGE, "/a b.img", false, "white space");

	check(TP_CT_USER, "admin", true, NULL);
	check(TP_CT_USER, "_svc-1", true, NULL);
	check(TP_CT_USER, "root", false, "system user");
	check(TP_CT_USER, "ubuntu", false, "default");
	check(TP_CT_USER, "systemd-network", false, "system user");
	check(TP_CT_USER, "1admin", false, "start with");
	check(TP_CT_USER, "Admin", false, "start with");
	check(TP_CT_USER, "ad min", false, "' '");
	check(TP_CT_USER, "abcdefghijklmnopqrstuvwxyzabcdefg", false, "1-32");

	check(TP_CT_K3S_VERSION, "v1.31.12+k3s1", true, NULL);
	check(TP_CT_K3S_VERSION, "v1.30.0-rc1+k3s2", true, NULL);
	check(TP_CT_K3S_VERSION, "1.31.12+k3s1", false, "k3s version");
	check(TP_CT_K3S_VERSION, "v1.31+k3s1", false, NULL);
	check(TP_CT_K3S_VERSION, "v1.31.12", false, NULL);
	check(TP_CT_K3S_VERSION, "v1.31.12+k3s", false, NULL);
	check(TP_CT_K3S_VERSION, "v1.31.12+k3s1 ", false, NULL);
	check(TP_CT_K3S_VERSION, "latest", false, NULL);

	check(TP_CT_GIT_URL, "", true, NULL);
	check(TP_CT_GIT_URL, "https://github.com/o/r.git", true, NULL);
	check(TP_CT_GIT_URL, "ssh://git@github.com/o/r.git", true, NULL);
	check(TP_CT_GIT_URL, "git@github.com:o/r.git", true, NULL);
	check(TP_CT_GIT_URL, "http://[fd00::1]:3000/o/r", true, NULL);
	check(TP_CT_GIT_URL, "github.com/o/r", false, "not a Git URL");
	check(TP_CT_GIT_URL, "git@github.com:", false, NULL);
	check(TP_CT_GIT_URL, "file:///srv/r", false, NULL);
	check(TP_CT_GIT_URL, "https://h/o r", false, "white space");

	check(TP_CT_GIT_REV, "HEAD", true, NULL);
	check(TP_CT_GIT_REV, "release/1.2", true, NULL);
	check(TP_CT_GIT_REV, "0123abcd", true, NULL);
	check(TP_CT_GIT_REV, "a..b", false, NULL);
	check(TP_CT_GIT_REV, "-x", false, NULL);
	check(TP_CT_GIT_REV, "x.lock", false, NULL);
	check(TP_CT_GIT_REV, "a b", false, NULL);
	check(TP_CT_GIT_REV, "", false, NULL);

	check(TP_CT_REL_PATH, ".", true, NULL);
	check(TP_CT_REL_PATH, "apps/root", true, NULL);
	check(TP_CT_REL_PATH, "/apps", false, "relative");
	check(TP_CT_REL_PATH, "apps/../..", false, "leaves");
	check(TP_CT_REL_PATH, "", false, "empty");

	check(TP_CT_ADDRESS, "dhcp", true, NULL);
	check(TP_CT_ADDRESS, "192.168.1.51/24", true, NULL);
	check(TP_CT_ADDRESS, "10.0.0.1/32", true, NULL);
	check(TP_CT_ADDRESS, "fd00::51/64", true, NULL);
	check(TP_CT_ADDRESS, "2001:db8::1/128", true, NULL);
	check(TP_CT_ADDRESS, "192.168.1.51", false, "ADDRESS/PREFIX");
	check(TP_CT_ADDRESS, "192.168.1.51/33", false, "not 1-32");
	check(TP_CT_ADDRESS, "192.168.1.51/0", false, "not 1-32");
	check(TP_CT_ADDRESS, "192.168.1.51/024", false, "not 1-32");
	check(TP_CT_ADDRESS, "192.168.1.51/", false, "missing");
	check(TP_CT_ADDRESS, "192.168.1.51/2x", false, NULL);
	check(TP_CT_ADDRESS, "192.168.1.256/24", false, "not an IPv4 or IPv6");
	check(TP_CT_ADDRESS, "fd00::51/129", false, "not 1-128");
	check(TP_CT_ADDRESS, "fd00:::51/64", false, NULL);
	check(TP_CT_ADDRESS, "DHCP", false, NULL);
	check(TP_CT_ADDRESS, "node/24", false, NULL);

	check(TP_CT_IP_OPT, "", true, NULL);
	check(TP_CT_IP_OPT, "192.168.1.1", true, NULL);
	check(TP_CT_IP_OPT, "fe80::1", true, NULL);
	check(TP_CT_IP_OPT, "192.168.1.1/24", false, "not an IPv4");
	check(TP_CT_IP_OPT, "router", false, NULL);
	check(TP_CT_IP_LIST, "1.1.1.1,fd00::53", true, NULL);
	check(TP_CT_IP_LIST, "", true, NULL);
	check(TP_CT_IP_LIST, "1.1.1.1,,8.8.8.8", false, "empty entry");
	check(TP_CT_IP_LIST, "1.1.1.1,", false, "empty entry");
	check(TP_CT_IP_LIST, "1.1.1.1 8.8.8.8", false, NULL);
}

static void ssh_keys(void **state)
{
	(void)state;
	check(TP_CT_SSH_KEYS, ED " me@laptop", true, NULL);
	check(TP_CT_SSH_KEYS, ED, true, NULL);
	check(TP_CT_SSH_KEYS, RSA " rsa key", true, NULL);
	check(TP_CT_SSH_KEYS, "# comment\n\n" ED "\n  " RSA "\r\n", true, NULL);
	check(TP_CT_SSH_KEYS, "from=\"10.0.0.0/8,a b\",no-pty " ED " c", true, NULL);
	check(TP_CT_SSH_KEYS, "", true, NULL);
	check(TP_CT_SSH_KEYS, ED "\nnot a key\n", false, "line 2");
	check(TP_CT_SSH_KEYS, "ssh-ed25519", false, "without its base64");
	check(TP_CT_SSH_KEYS, "ssh-ed25519 AAAA!!!!", false, "not base64");
	/* The RSA blob under an ed25519 label: the type inside disagrees. */
	check(TP_CT_SSH_KEYS, "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAAAgQDGDFHA0nQpIdcvX5yJcq3bVpyvAVN"
			      "ZdCQjKx8A+ad61bmpOkAfWEVh8FE3pr3k6i6XaVBTpyrp4YRx7r+1aM6uaxDFdFLy7qOPqsL"
			      "VBQsX1xq+NYTpuYxWeiGNqtNaw60qqtmnL/GE9/7pEQjQwtDNPEP54vM8p1/2Jc/AeqCl3w==",
	      false, "names another type");
	/* Truncated ed25519: one base64 quad short. */
	check(TP_CT_SSH_KEYS, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF23YN3yxyFXZxVNdzZU50fAnN5dvJ8QY3z9Iioc",
	      false, "not 51");
	check(TP_CT_SSH_KEYS, "ssh-dss AAAAB3NzaC1kc3MAAACBAP", false, "DSA");
	check(TP_CT_SSH_KEYS, "-----BEGIN OPENSSH PRIVATE KEY-----", false, "not an SSH public key");
	check(TP_CT_SSH_KEYS, "no-pty,command=\"x ssh-ed25519 AAAA", false, "unbalanced quotes");
}

static void base64(void **state)
{
	char out[64];
	unsigned char bin[64];

	(void)state;
	assert_int_equal(tp_base64_encode("foobar", 6, out, true), 8);
	assert_string_equal(out, "Zm9vYmFy");
	tp_base64_encode("fooba", 5, out, true);
	assert_string_equal(out, "Zm9vYmE=");
	tp_base64_encode("foob", 4, out, false);
	assert_string_equal(out, "Zm9vYg");
	assert_int_equal(tp_base64_decode("Zm9vYg==", 8, bin), 4);
	assert_memory_equal(bin, "foob", 4);
	assert_int_equal(tp_base64_decode("Zm9vYg=", 7, bin), -1);
	assert_int_equal(tp_base64_decode("Zm9=Yg==", 8, bin), -1);
	assert_int_equal(tp_base64_decode("Zm9v Yg=", 8, bin), -1);
}

static void value(struct tp_config *c, const char *name, const char *want, bool want_def)
{
	struct tp_config_item *it = tp_config_find(c, name);
	char buf[TP_CONFIG_TEXT_MAX];
	bool def;

	assert_non_null(it);
	assert_int_equal(tp_config_value(c, it, buf, sizeof(buf), &def), 0);
	assert_string_equal(buf, want);
	assert_int_equal(def, want_def);
}

static void defaults(void **state)
{
	struct tp_config c;

	(void)state;
	put_file("/root/.ssh/authorized_keys", ED " root@bmc\n");
	assert_int_equal(tp_config_init(&c, NULL), 0);
	assert_int_equal(tp_config_load(&c), 0); /* no /etc/tpkit at all */
	value(&c, "cluster/name", "turing", true);
	value(&c, "slot/1/hostname", "turing-1", true);
	value(&c, "slot/4/hostname", "turing-4", true);
	value(&c, "slot/1/role", "server", true);
	value(&c, "slot/2/role", "agent", true);
	value(&c, "slot/3/image", "auto", true);
	value(&c, "slot/3/nvme", "auto", true);
	value(&c, "net/slot/2/address", "dhcp", true);
	value(&c, "net/slot/2/gateway", "", true);
	value(&c, "admin/user", "admin", true);
	value(&c, "admin/keys", ED " root@bmc", true);
	value(&c, "k3s/version", "v1.31.12+k3s1", true);
	value(&c, "argocd/repo", "", true);
	value(&c, "argocd/revision", "HEAD", true);
	assert_int_equal(tp_config_check(&c), 0);
	assert_int_equal(c.n, 37);
	/* Every default is valid for its own key, and so is every example. */
	for (size_t i = 0; i < c.n; i++) {
		char buf[TP_CONFIG_TEXT_MAX];

		assert_int_equal(tp_config_value(&c, &c.item[i], buf, sizeof(buf), NULL), 0);
		if (tp_config_validate(&c.item[i], buf, NULL) != 0)
			fail_msg("default of %s invalid: %s", c.item[i].name, tp_err_msg());
		if (tp_config_validate(&c.item[i], c.item[i].key->example, NULL) != 0)
			fail_msg("example of %s invalid: %s", c.item[i].name, tp_err_msg());
	}
	/* The cluster name moves the default hostnames, not the set ones. */
	put_file("/etc/tpkit/cluster/name", "lab\n");
	put_file("/etc/tpkit/slot/2/hostname", "worker\n");
	assert_int_equal(tp_config_load(&c), 0);
	value(&c, "slot/1/hostname", "lab-1", true);
	value(&c, "slot/2/hostname", "worker", false);
	tp_config_free(&c);
}

/* A malformed file: the message names the key and the file. */
static void bad_files(void **state)
{
	static const struct {
		const char *key, *text, *msg;
	} cases[] = {
		{ "slot/2/hostname", "Worker_2\n", "upper-case" },
		{ "slot/3/role", "master\n", "server, agent or none" },
		{ "net/slot/1/address", "10.0.0.5\n", "ADDRESS/PREFIX" },
		{ "net/slot/1/gateway", "10.0.0.1/24\n", "not an IPv4 or IPv6" },
		{ "admin/keys", ED "\nssh-rsa AAAA\n", "line 2" },
		{ "k3s/version", "1.31\n", "k3s version" },
		{ "cluster/name", "a-very-long-cluster-name-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxz\n",
		  "longer than 61" },
		{ "slot/1/nvme", "auto\nnever\n", "more than one line" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_config c;
		char rel[128], file[1024];

		assert_int_equal(tp_config_init(&c, NULL), 0);
		snprintf(rel, sizeof(rel), "/etc/tpkit/%s", cases[i].key);
		snprintf(file, sizeof(file), "%s%s", tmpdir, rel);
		put_file(rel, cases[i].text);
		if (tp_config_load(&c) != -EINVAL)
			fail_msg("%s: \"%s\" accepted (%s)", cases[i].key, cases[i].text, tp_err_msg());
		if (!strstr(tp_err_msg(), cases[i].key) || !strstr(tp_err_msg(), file) ||
		    !strstr(tp_err_msg(), cases[i].msg))
			fail_msg("%s: message \"%s\"", cases[i].key, tp_err_msg());
		assert_int_equal(unlink(file), 0);
		tp_config_free(&c);
	}
}

static void unknown_files(void **state)
{
	struct tp_config c;

	(void)state;
	assert_int_equal(tp_config_init(&c, NULL), 0);
	put_file("/etc/tpkit/slot/2/hostnme", "x\n");
	assert_int_equal(tp_config_load(&c), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "\"slot/2/hostnme\" is not a configuration key"));
	assert_non_null(strstr(tp_err_msg(), "/etc/tpkit/slot/2/hostnme"));
	{
		char p[1024];

		snprintf(p, sizeof(p), "%s/etc/tpkit/slot/2/hostnme", tmpdir);
		assert_int_equal(unlink(p), 0);
	}
	put_file("/etc/tpkit/slot/5/role", "agent\n");
	assert_int_equal(tp_config_load(&c), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "\"slot/5/role\""));
	/* A key's single item still loads (get and set keep working). */
	assert_int_equal(tp_config_load_item(&c, tp_config_find(&c, "slot/1/role")), 0);
	{
		char p[1024];

		snprintf(p, sizeof(p), "%s/etc/tpkit/slot/5/role", tmpdir);
		unlink(p);
	}
	/* Files that are no keys but belong there, and temporaries. */
	put_file("/etc/tpkit/images.conf", "# catalogue\n");
	put_file("/etc/tpkit/.cluster.tmp123", "x");
	put_file("/etc/tpkit/slot/1/role~", "x");
	assert_int_equal(tp_config_load(&c), 0);
	tp_config_free(&c);
}

static void set_unset(void **state)
{
	struct tp_config c, d;
	struct tp_config_item *it;
	char path[1024], buf[64];
	struct stat st;
	FILE *f;

	(void)state;
	assert_int_equal(tp_config_init(&c, NULL), 0);
	it = tp_config_find(&c, "net/slot/3/address");
	assert_int_equal(tp_config_set(&c, it, "fd00::3/64"), 0);
	snprintf(path, sizeof(path), "%s/etc/tpkit/net/slot/3/address", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	f = fopen(path, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "fd00::3/64\n");
	/* A refused value leaves the file as it was. */
	assert_int_equal(tp_config_set(&c, it, "fd00::3"), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "net/slot/3/address"));
	assert_int_equal(tp_config_init(&d, NULL), 0);
	assert_int_equal(tp_config_load(&d), 0);
	value(&d, "net/slot/3/address", "fd00::3/64", false);
	tp_config_free(&d);
	assert_int_equal(tp_config_unset(&c, it), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(tp_config_unset(&c, it), 0); /* twice is fine */
	value(&c, "net/slot/3/address", "dhcp", true);
	assert_null(tp_config_find(&c, "slot/3/colour"));
	assert_non_null(strstr(tp_err_msg(), "unknown key \"slot/3/colour\""));
	/* TPKIT_CONFIG_DIR wins over the root. */
	setenv("TPKIT_CONFIG_DIR", "/somewhere/else", 1);
	assert_int_equal(tp_config_init(&d, NULL), 0);
	assert_string_equal(tp_config_find(&d, "k3s/version")->file, "/somewhere/else/k3s/version");
	unsetenv("TPKIT_CONFIG_DIR");
	tp_config_free(&d);
	tp_config_free(&c);
}

static void cross_checks(void **state)
{
	static const struct {
		const char *files[3][2];
		const char *msg;
	} cases[] = {
		{ { { "slot/2/hostname", "turing-1" } }, "both \"turing-1\"" },
		{ { { "net/slot/2/gateway", "10.0.0.1" } }, "address is dhcp" },
		{ { { "net/slot/2/address", "fd00::2/64" }, { "net/slot/2/gateway", "10.0.0.1" } },
		  "different IP families" },
		{ { { "slot/1/role", "agent" } }, "no slot is the server" },
		/* Several servers need a fixed address to join (commission.md §14). */
		{ { { "slot/2/role", "server" } }, "2 slots are servers (1, 2) but the cluster has no "
		  "fixed address: cluster/api_address is not set and net/slot/1/address is dhcp" },
		{ { { "slot/2/role", "server" }, { "slot/3/role", "server" },
		    { "cluster/init_server", "2" } },
		  "net/slot/2/address is dhcp. Joining servers and agents dial the first server; "
		  "set cluster/api_address (an IP or DNS name) or a static net/slot/2/address" },
		{ { { "slot/2/role", "server" }, { "cluster/api_address", "k3s.lab" },
		    { "cluster/init_server", "3" } },
		  "cluster/init_server is 3, but slot 3 is not a server (the servers are slots 1, 2)" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_config c;

		assert_int_equal(tp_config_init(&c, NULL), 0);
		for (int k = 0; k < 3 && cases[i].files[k][0]; k++)
			assert_int_equal(tp_config_set(&c, tp_config_find(&c, cases[i].files[k][0]),
						       cases[i].files[k][1]), 0);
		assert_int_equal(tp_config_load(&c), 0);
		assert_int_equal(tp_config_check(&c), -EINVAL);
		if (!strstr(tp_err_msg(), cases[i].msg))
			fail_msg("case %zu: \"%s\"", i, tp_err_msg());
		for (int k = 0; k < 3 && cases[i].files[k][0]; k++)
			assert_int_equal(tp_config_unset(&c, tp_config_find(&c, cases[i].files[k][0])), 0);
		tp_config_free(&c);
	}
	/* No admin keys anywhere: nobody could log in. */
	{
		struct tp_config c;
		char p[1024];

		snprintf(p, sizeof(p), "%s/root/.ssh/authorized_keys", tmpdir);
		unlink(p);
		assert_int_equal(tp_config_init(&c, NULL), 0);
		assert_int_equal(tp_config_load(&c), 0);
		assert_int_equal(tp_config_check(&c), -EINVAL);
		assert_non_null(strstr(tp_err_msg(), "admin/keys is empty"));
		/* A broken root authorized_keys is named as the default's source. */
		put_file("/root/.ssh/authorized_keys", "garbage\n");
		assert_int_equal(tp_config_check(&c), -EINVAL);
		assert_non_null(strstr(tp_err_msg(), "/root/.ssh/authorized_keys"));
		assert_non_null(strstr(tp_err_msg(), "line 1"));
		tp_config_free(&c);
	}
}

static void set_all(struct tp_config *c, const char *const kv[][2])
{
	for (int k = 0; kv[k][0]; k++)
		assert_int_equal(tp_config_set(c, tp_config_find(c, kv[k][0]), kv[k][1]), 0);
	assert_int_equal(tp_config_load(c), 0);
}

static void unset_all(struct tp_config *c, const char *const kv[][2])
{
	for (int k = 0; kv[k][0]; k++)
		assert_int_equal(tp_config_unset(c, tp_config_find(c, kv[k][0])), 0);
}

/* Several servers (docs/commission.md §14): who starts the cluster, what
 * everyone dials, and the warnings of tpkit config check. */
static void ha(void **state)
{
	static const char *const three[][2] = {
		{ "slot/2/role", "server" }, { "slot/3/role", "server" },
		{ "net/slot/1/address", "192.168.1.51/24" }, { NULL, NULL } };
	static const char *const api[][2] = { { "cluster/api_address", "k3s.lab.example" },
					      { NULL, NULL } };
	static const char *const v6[][2] = { { "cluster/api_address", "fd00::50" },
					     { NULL, NULL } };
	static const char *const init2[][2] = { { "cluster/init_server", "2" },
						{ "net/slot/2/address", "192.168.1.52/24" },
						{ NULL, NULL } };
	static const char *const four[][2] = { { "slot/4/role", "server" }, { NULL, NULL } };
	struct tp_config c;
	struct tp_config_ha h;
	char w[2048];

	(void)state;
	put_file("/root/.ssh/authorized_keys", ED " root@bmc\n");
	assert_int_equal(tp_config_init(&c, NULL), 0);
	assert_int_equal(tp_config_load(&c), 0);
	/* The default: one server, no cluster-init, agents dial its hostname. */
	assert_int_equal(tp_config_ha(&c, &h), 0);
	assert_int_equal(h.nservers, 1);
	assert_int_equal(h.init, 1);
	assert_false(h.cluster_init);
	assert_string_equal(h.api_url, "https://turing-1:6443");
	assert_int_equal(tp_config_warnings(&c, w, sizeof(w)), 0);
	assert_string_equal(w, "");
	/* Three servers: slot 1 starts the cluster, its static address is the API's. */
	set_all(&c, three);
	assert_int_equal(tp_config_check(&c), 0);
	assert_int_equal(tp_config_ha(&c, &h), 0);
	assert_int_equal(h.nservers, 3);
	assert_int_equal(h.server[2], 3);
	assert_int_equal(h.init, 1);
	assert_true(h.cluster_init);
	assert_string_equal(h.api_address, "");
	assert_string_equal(h.api_url, "https://192.168.1.51:6443");
	assert_int_equal(tp_config_warnings(&c, w, sizeof(w)), 1);
	assert_string_equal(w, "cluster/api_address is not set: nodes join through slot 1's "
			    "address (192.168.1.51); a node that joins while slot 1 is down cannot. "
			    "Set it to a DNS name or a virtual IP that follows the servers\n");
	/* With the API address: everyone dials it; no warning. */
	set_all(&c, api);
	assert_int_equal(tp_config_ha(&c, &h), 0);
	assert_string_equal(h.api_url, "https://k3s.lab.example:6443");
	assert_int_equal(tp_config_warnings(&c, w, sizeof(w)), 0);
	set_all(&c, v6);
	assert_int_equal(tp_config_ha(&c, &h), 0);
	assert_string_equal(h.api_url, "https://[fd00::50]:6443");
	unset_all(&c, v6);
	/* Another server starts the cluster (the runbook's re-flash of slot 1). */
	set_all(&c, init2);
	assert_int_equal(tp_config_check(&c), 0);
	assert_int_equal(tp_config_ha(&c, &h), 0);
	assert_int_equal(h.init, 2);
	assert_string_equal(h.api_url, "https://192.168.1.52:6443");
	unset_all(&c, init2);
	/* Four servers: a warning on the even number. */
	set_all(&c, api);
	set_all(&c, four);
	assert_int_equal(tp_config_check(&c), 0);
	assert_int_equal(tp_config_warnings(&c, w, sizeof(w)), 1);
	assert_string_equal(w, "4 slots are servers (1, 2, 3, 4): etcd's majority is then 3, so "
			    "they survive 1 failure(s), as 3 servers do, with one more member to "
			    "fail. Use an odd number\n");
	unset_all(&c, four);
	/* Two servers: allowed, and said to be worse than one. */
	assert_int_equal(tp_config_unset(&c, tp_config_find(&c, "slot/3/role")), 0);
	assert_int_equal(tp_config_load(&c), 0);
	assert_int_equal(tp_config_check(&c), 0);
	assert_int_equal(tp_config_warnings(&c, w, sizeof(w)), 1);
	assert_non_null(strstr(w, "2 slots are servers (1, 2): etcd needs a majority of its "
				"members, here both, so the cluster stops when either server is down"));
	unset_all(&c, api);
	unset_all(&c, three);
	tp_config_free(&c);
}

static void atomic_write(void **state)
{
	char path[1024], dir[1024], buf[64];
	struct stat st;
	DIR *d;
	struct dirent *e;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/atomic/a/b", tmpdir);
	assert_int_equal(tp_dir_make(dir, 0700, 1), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	chmod(dir, 0755);
	assert_int_equal(tp_dir_make(dir, 0700, 1), 0); /* tightened again */
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(tp_file_write_atomic(path, "one", 3, 0600), 0);
	assert_int_equal(tp_file_write_atomic(path, "second", 6, 0640), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(st.st_size, 6);
	f = fopen(path, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "second");
	/* No temporary left behind. */
	d = opendir(dir);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || strlen(e->d_name) > 2)
			assert_string_equal(e->d_name, "f");
	closedir(d);
	/* A missing directory is an error naming the path. */
	snprintf(path, sizeof(path), "%s/nodir/f", tmpdir);
	assert_int_equal(tp_file_write_atomic(path, "x", 1, 0600), -ENOENT);
	assert_non_null(strstr(tp_err_msg(), path));
	assert_int_equal(tp_file_remove_durable(path), 0);
	/* A file where a directory should be. */
	snprintf(path, sizeof(path), "%s/atomic/a/b/f/g", tmpdir);
	assert_int_equal(tp_dir_make(path, 0700, 0), -ENOTDIR);
}

/* docs/config.md documents every key of the table, with its default. */
static void documented(void **state)
{
	const char *path = "docs/config.md";
	char *text;
	long n;
	FILE *f;

	(void)state;
	f = fopen(path, "r");
	if (!f)
		skip();
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	for (size_t i = 0; i < tp_config_nkeys; i++) {
		const struct tp_config_key *k = &tp_config_keys[i];
		char want[128];
		const char *p = strstr(k->name, "%u");

		if (p)
			snprintf(want, sizeof(want), "| `%.*sN%s` |", (int)(p - k->name), k->name, p + 2);
		else
			snprintf(want, sizeof(want), "| `%s` |", k->name);
		if (!strstr(text, want))
			fail_msg("docs/config.md has no row %s", want);
		if (!strstr(strstr(text, want), k->def))
			fail_msg("docs/config.md: %s lacks its default \"%s\"", want, k->def);
	}
	for (int t = 0; t < TP_CT_COUNT; t++) {
		char want[64];

		snprintf(want, sizeof(want), "| %s |", tp_config_types[t].name);
		if (!strstr(text, want))
			fail_msg("docs/config.md has no type row %s", want);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(validators),	 cmocka_unit_test(ssh_keys),
		cmocka_unit_test(base64),	 cmocka_unit_test(defaults),
		cmocka_unit_test(bad_files),	 cmocka_unit_test(unknown_files),
		cmocka_unit_test(set_unset),	 cmocka_unit_test(cross_checks),
		cmocka_unit_test(atomic_write),	 cmocka_unit_test(documented),
		cmocka_unit_test(ha),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
