// SPDX-License-Identifier: MIT
/*
 * Seeding end to end (bmc/seed/seed.c, seed_root.c, seed_apply.c): a plan
 * made from a configuration tree and a state directory, applied through a
 * file sink to disk images partitioned by sfdisk like the RK1 (GPT, the
 * root typed as an ESP and named cloudimg-rootfs) and CM4 (MBR, p2 type
 * 0x83) images, with roots made by mke2fs -d from an Ubuntu-shaped tree. e2fsprogs' e2fsck and
 * debugfs check the result; PyYAML (cloud-init's own parser) reads the YAML.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bmc/seed/node_files.h"
#include "bmc/seed/seed.h"
#include "common/err.h"
#include "common/sink_file.h"

#define MIB (1024u * 1024u)
#define DISK (64u * MIB)
#define ROOT_LBA 20480u /* 10 MiB */
#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF23YN3yxyFXZxVNdzZU50fAnN5dvJ8QY3z9IiocIEZL"

static char dir[256];
/* The node helper plan() gives (NULL: the default under the root prefix). */
static const char *helper;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(run("mkdir -p \"$(dirname %s)\"", p), 0);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

/* A fake ELF executable (ELF64, little-endian, type DYN, machine m) with a
 * tag after the header, at rel under dir. */
static void fake_elf(const char *rel, unsigned m, const char *tag)
{
	assert_int_equal(run("cd %s && mkdir -p \"$(dirname %s)\" && { printf '\\177ELF\\2\\1\\1'; "
			     "head -c 9 /dev/zero; printf '\\3\\0\\%03o\\0'; head -c 44 /dev/zero; "
			     "printf '%s'; } >%s && chmod 755 %s", dir, rel, m, tag, rel, rel), 0);
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tp-seed.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	/* Nothing of the build machine's: its root's keys, its state. */
	setenv("TPKIT_ROOT", dir, 1);
	put("conf/cluster/name", "lab\n");
	put("conf/admin/user", "ops\n");
	/* A comment with quotes, a backslash and a colon: YAML must keep it. */
	put("conf/admin/keys", "# the admin\n" KEY " me \"at\" c:\\laptop: #1\n");
	put("conf/net/slot/2/address", "192.168.1.52/24\n");
	put("conf/net/slot/2/gateway", "192.168.1.1\n");
	put("conf/net/slot/2/dns", "192.168.1.1,1.1.1.1\n");
	put("conf/argocd/repo", "https://git.example/cluster.git\n");
	/* The installed helper (the default) and one given with --node-helper. */
	fake_elf("usr/share/tpkit/node/tpkit-node-aarch64", 183, "installed helper");
	fake_elf("given-helper", 62, "given helper");
	/* An Ubuntu-shaped root with the image's own cloud-init drop-in. */
	return run("cd %s && mkdir -p tree/usr/lib/systemd/system tree/etc/ssh "
		   "tree/etc/systemd/system/multi-user.target.wants tree/etc/cloud/cloud.cfg.d "
		   "tree/usr/local/sbin tree/var/lib && ln -s usr/lib tree/lib && "
		   "echo ubuntu >tree/etc/hostname && printf 'datasource_list: [ NoCloud, None ]\\n"
		   "datasource:\\n  NoCloud:\\n    fs_label: CIDATA\\n' "
		   ">tree/etc/cloud/cloud.cfg.d/99-fake-cloud.cfg", dir);
}

static int teardown(void **state)
{
	(void)state;
	/* TPKIT_TEST_KEEP=1 keeps the images and files to look at. */
	if (getenv("TPKIT_TEST_KEEP"))
		return printf("kept %s\n", dir) < 0;
	return run("rm -rf %s", dir);
}

/* A disk image: sfdisk's table, and an ext4 root at ROOT_LBA with that
 * label ("" none; NULL: no file system, the partition is left zero). */
static void make_image(const char *name, const char *table, const char *label)
{
	assert_int_equal(run("cd %s && rm -f %s && truncate -s %u %s && printf '%s' | "
			     "/sbin/sfdisk -q --no-reread --no-tell-kernel %s >/dev/null",
			     dir, name, DISK, name, table, name), 0);
	if (label)
		assert_int_equal(run("cd %s && rm -f root.fs && /sbin/mke2fs -q -F -t ext4 "
				     "-L '%s' -d tree root.fs 32M >/dev/null && dd if=root.fs of=%s "
				     "bs=1M seek=%u conv=notrunc status=none", dir, label, name,
				     ROOT_LBA * 512 / MIB), 0);
}

static void *read_head(const char *name)
{
	char p[512];
	void *head = malloc(MIB);
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "rb"));
	assert_int_equal(fread(head, 1, MIB, f), MIB);
	fclose(f);
	return head;
}

static int apply(struct tp_seed_plan *plan, const char *name, struct tp_seed_result *res)
{
	struct tp_sink_file_opts o = { .size = DISK, .existing = true };
	struct tp_sink *s;
	char p[512];
	void *head = read_head(name);
	int rc;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(tp_sink_file_open(&s, p, &o), 0);
	rc = tp_seed_apply(plan, s, head, MIB, res);
	tp_sink_close(s);
	free(head);
	return rc;
}

static struct tp_seed_plan *plan(unsigned slot, const char *module)
{
	struct tp_seed_req req = { .slot = slot, .module = module };
	struct tp_seed_plan *p = NULL;
	char conf[300], state[300];

	snprintf(conf, sizeof(conf), "%s/conf", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	req.config_dir = conf;
	req.state_dir = state;
	req.node_helper = helper;
	if (tp_seed_plan_make(&req, &p) < 0)
		fail_msg("plan: %s", tp_err_msg());
	return p;
}

/* The root of image name, cut out to root.fs for e2fsprogs. */
static void extract(const char *name)
{
	assert_int_equal(run("cd %s && dd if=%s of=root.fs bs=1M skip=%u count=32 status=none",
			     dir, name, ROOT_LBA * 512 / MIB), 0);
	assert_int_equal(run("cd %s && /sbin/e2fsck -fn root.fs >fsck.log 2>&1 || "
			     "{ cat fsck.log; false; }", dir), 0);
}

/* debugfs's answer to one request about root.fs, grepped. */
static int dbg(const char *req, const char *pattern)
{
	return run("cd %s && /sbin/debugfs -R '%s' root.fs 2>/dev/null | grep -Eq -- '%s'", dir,
		   req, pattern);
}

/* Mode and owner of a file as debugfs stat shows them. */
static void owned(const char *path, const char *mode)
{
	char req[256], pat[64];

	snprintf(req, sizeof(req), "stat %s", path);
	snprintf(pat, sizeof(pat), "Mode: +%s ", mode);
	if (dbg(req, pat))
		fail_msg("%s: mode is not %s", path, mode);
	if (dbg(req, "User: +0 +Group: +0 "))
		fail_msg("%s: not owned by root", path);
}

/* A file of the root equals a file of the state directory. */
static void same_as_state(const char *path, const char *secret)
{
	assert_int_equal(run("cd %s && /sbin/debugfs -R 'dump %s out.bin' root.fs 2>/dev/null && "
			     "cmp -s out.bin state/secrets/%s", dir, path, secret), 0);
}

static void python(const char *script)
{
	put("check.py", script);
	assert_int_equal(run("cd %s && for f in meta-data user-data network-config; do "
			     "/sbin/debugfs -R \"dump /var/lib/cloud/seed/nocloud/$f $f\" root.fs "
			     "2>/dev/null; done && /sbin/debugfs -R 'dump /etc/rancher/k3s/config.yaml "
			     "k3s.yaml' root.fs 2>/dev/null && python3 check.py", dir), 0);
}

/*
 * The unit's ordering, by systemd's own checker: a stand-in for cloud-init's
 * cloud-final.service (ordered after multi-user.target, as cloud-init's is),
 * the host's standard units, and the seeded unit and its enable link. No
 * ordering cycle; and the same unit without DefaultDependencies=no must
 * show one, or the check proves nothing (docs/seeding.md §6).
 */
static void unit_order(void)
{
	if (run("command -v systemd-analyze >/dev/null && test -d /lib/systemd/system")) {
		print_message("systemd-analyze not found: unit ordering not checked\n");
		return;
	}
	assert_int_equal(run("cd %s && rm -rf sd && e=sd/etc/systemd/system && "
			     "mkdir -p $e/multi-user.target.wants $e/cloud-init.target.wants "
			     "$e/sysinit.target.wants "
			     "sd/lib/systemd sd/usr/local/sbin && cp -a /lib/systemd/system sd/lib/systemd/ && "
			     "/sbin/debugfs -R 'dump /etc/systemd/system/tpkit-node.service "
			     "sd/etc/systemd/system/tpkit-node.service' root.fs 2>/dev/null && "
			     "/sbin/debugfs -R 'dump /etc/systemd/system/tpkit-node-guard.service "
			     "sd/etc/systemd/system/tpkit-node-guard.service' root.fs 2>/dev/null && "
			     "ln -s ../tpkit-node-guard.service $e/sysinit.target.wants/ && "
			     "/sbin/debugfs -R 'dump /usr/local/sbin/tpkit-node sd/usr/local/sbin/tpkit-node' "
			     "root.fs 2>/dev/null && chmod 755 sd/usr/local/sbin/tpkit-node && "
			     "ln -s ../tpkit-node.service $e/multi-user.target.wants/ && "
			     "printf '[Unit]\\nAfter=multi-user.target\\n' >$e/cloud-init.target && "
			     "printf '[Unit]\\nAfter=multi-user.target\\n[Service]\\nType=oneshot\\n"
			     "ExecStart=/bin/true\\n' >$e/cloud-final.service && "
			     "ln -s ../cloud-final.service $e/cloud-init.target.wants/ && "
			     "ln -s ../cloud-init.target $e/multi-user.target.wants/ && "
			     "grep -q ^DefaultDependencies=no $e/tpkit-node.service && "
			     "systemd-analyze verify --root=$PWD/sd multi-user.target >verify.log 2>&1; "
			     "! grep -q 'ordering cycle' verify.log || { cat verify.log; false; }", dir), 0);
	assert_int_equal(run("cd %s && sed -i /^DefaultDependencies=no/d "
			     "sd/etc/systemd/system/tpkit-node.service && "
			     "systemd-analyze verify --root=$PWD/sd multi-user.target 2>&1 | "
			     "grep -q 'ordering cycle'", dir), 0);
}

static void rk1_gpt(void **state)
{
	struct tp_seed_plan *p = plan(1, "rk1");
	struct tp_seed_result res;

	(void)state;
	make_image("rk1.img", "label: gpt\\n"
		   "start=2048, size=8192, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=CIDATA\\n"
		   "start=20480, size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, "
		   "name=cloudimg-rootfs\\n", "");
	if (apply(p, "rk1.img", &res) < 0)
		fail_msg("apply: %s", tp_err_msg());
	tp_seed_plan_free(p);
	assert_int_equal(res.files, 17);
	print_message("seeded %u files, %llu bytes written, root %s\n", res.files,
		      (unsigned long long)res.bytes_written, res.root_uuid);
	assert_true(res.bytes_written > 0 && res.bytes_written < 4 * MIB);
	assert_int_equal(run("echo '%s' | grep -Eqx 'tpkit-lab-slot1-[0-9a-f]{16}'",
			     res.instance_id), 0);
	extract("rk1.img");
	assert_int_equal(run("cd %s && /sbin/blkid -o value -s UUID root.fs | grep -qx %s", dir,
			     res.root_uuid), 0);

	owned("/var/lib/cloud/seed/nocloud", "0700");
	owned("/var/lib/cloud/seed/nocloud/meta-data", "0600");
	owned("/var/lib/cloud/seed/nocloud/user-data", "0600");
	owned("/var/lib/cloud/seed/nocloud/network-config", "0600");
	owned("/etc/cloud/cloud.cfg.d/99_tpkit.cfg", "0644");
	owned("/etc/ssh/ssh_host_ed25519_key", "0600");
	owned("/etc/ssh/ssh_host_ed25519_key.pub", "0644");
	owned("/etc/ssh/ssh_host_rsa_key", "0600");
	owned("/etc/ssh/ssh_host_rsa_key.pub", "0644");
	owned("/etc/hostname", "0644");
	owned("/etc/tpkit/node.conf", "0600");
	owned("/etc/rancher/k3s/config.yaml", "0600");
	owned("/etc/rancher/node", "0700");
	owned("/etc/rancher/node/password", "0600");
	owned("/usr/local/sbin/tpkit-node", "0755");
	owned("/etc/systemd/system/tpkit-node.service", "0644");
	assert_int_equal(dbg("stat /etc/systemd/system/multi-user.target.wants/tpkit-node.service",
			     "Fast link dest: \"../tpkit-node.service\""), 0);
	/* The guard (docs/node-helper.md §16), enabled for every boot. */
	owned("/etc/systemd/system/tpkit-node-guard.service", "0644");
	assert_int_equal(dbg("stat /etc/systemd/system/sysinit.target.wants/tpkit-node-guard.service",
			     "Fast link dest: \"../tpkit-node-guard.service\""), 0);
	assert_int_equal(dbg("cat /etc/systemd/system/tpkit-node-guard.service",
			     "^ExecStart=/usr/local/sbin/tpkit-node guard$"), 0);
	assert_int_not_equal(dbg("cat /etc/tpkit/node.conf", "wipe_nvme"), 0);

	/* What the files say. */
	assert_int_equal(dbg("cat /etc/hostname", "^lab-1$"), 0);
	assert_int_equal(dbg("cat /var/lib/cloud/seed/nocloud/user-data", "^#cloud-config$"), 0);
	assert_int_equal(dbg("cat /var/lib/cloud/seed/nocloud/user-data", "^hostname: \"lab-1\"$"),
			 0);
	assert_int_equal(dbg("cat /var/lib/cloud/seed/nocloud/user-data", "^  - name: \"ops\"$"), 0);
	assert_int_equal(dbg("cat /var/lib/cloud/seed/nocloud/user-data", "ssh_deletekeys: false"),
			 0);
	assert_int_not_equal(dbg("cat /var/lib/cloud/seed/nocloud/user-data", "ubuntu|default"), 0);
	assert_int_equal(dbg("cat /var/lib/cloud/seed/nocloud/meta-data", res.instance_id), 0);
	assert_int_equal(dbg("cat /etc/cloud/cloud.cfg.d/99_tpkit.cfg", "^    fs_label: null$"), 0);
	assert_int_equal(dbg("cat /etc/tpkit/node.conf", "^slot=1$"), 0);
	assert_int_equal(dbg("cat /etc/tpkit/node.conf", "^role=server$"), 0);
	assert_int_equal(dbg("cat /etc/tpkit/node.conf", "^report_key=[0-9a-f]{64}$"), 0);
	assert_int_equal(dbg("cat /etc/tpkit/node.conf", "^nvme=auto$"), 0);
	assert_int_equal(dbg("cat /etc/tpkit/node.conf", "^k3s_version=v1\\.31\\.12\\+k3s1$"), 0);
	assert_int_equal(dbg("cat /etc/tpkit/node.conf",
			     "^argocd_repo=https://git\\.example/cluster\\.git$"), 0);
	assert_int_equal(dbg("cat /etc/tpkit/node.conf", "^argocd_path=\\.$"), 0);
	assert_int_equal(dbg("cat /etc/tpkit/node.conf", "^argocd_revision=HEAD$"), 0);
	assert_int_not_equal(dbg("cat /etc/tpkit/node.conf", "^k3s_bundle="), 0);
	/* The installed helper, byte for byte. */
	assert_int_equal(run("cd %s && /sbin/debugfs -R 'dump /usr/local/sbin/tpkit-node "
			     "helper.out' root.fs 2>/dev/null && cmp helper.out "
			     "usr/share/tpkit/node/tpkit-node-aarch64", dir), 0);
	assert_int_equal(dbg("cat /etc/systemd/system/tpkit-node.service",
			     "^After=.*cloud-final.service"), 0);
	assert_int_equal(dbg("cat /etc/systemd/system/tpkit-node.service",
			     "^ExecStart=/usr/local/sbin/tpkit-node run$"), 0);
	/* The image's own files are still there. */
	assert_int_equal(dbg("cat /etc/cloud/cloud.cfg.d/99-fake-cloud.cfg", "fs_label: CIDATA"), 0);
	same_as_state("/etc/ssh/ssh_host_ed25519_key", "slot1/ssh_host_ed25519_key");
	same_as_state("/etc/ssh/ssh_host_rsa_key.pub", "slot1/ssh_host_rsa_key.pub");
	assert_int_equal(run("cd %s && /sbin/debugfs -R 'cat /etc/rancher/node/password' root.fs "
			     "2>/dev/null | cmp -s - state/secrets/slot1/node-password", dir), 0);
	assert_int_equal(run("cd %s && test \"$(stat -c %%a state/secrets/cluster-token "
			     "state/secrets/slot1/node-password state/secrets/slot1/report-key "
			     "state/secrets/slot1/ssh_host_rsa_key | sort -u)\" = 600", dir), 0);
	unit_order();
	/* cloud-init's parser: the server's config, DHCP. */
	python("import yaml\n"
	       "ud = yaml.safe_load(open('user-data'))\n"
	       "u = ud['users']\n"
	       "assert len(u) == 1 and u[0]['name'] == 'ops', u\n"
	       "assert u[0]['ssh_authorized_keys'] == ['" KEY " me \"at\" c:\\\\laptop: #1'], u\n"
	       "assert u[0]['lock_passwd'] is True and ud['ssh_pwauth'] is False\n"
	       "assert ud['ssh_genkeytypes'] == [] and ud['ssh_deletekeys'] is False\n"
	       "md = yaml.safe_load(open('meta-data'))\n"
	       "assert md['local-hostname'] == 'lab-1' and md['dsmode'] == 'local'\n"
	       "e = yaml.safe_load(open('network-config'))['network']['ethernets']['lan']\n"
	       "assert e['dhcp4'] is True and 'addresses' not in e, e\n"
	       "k = yaml.safe_load(open('k3s.yaml'))\n"
	       "assert 'server' not in k and k['node-name'] == 'lab-1'\n"
	       "assert k['token'] == open('state/secrets/cluster-token').read().strip()\n"
	       "assert k['node-label'] == ['tpkit.io/slot=1', 'tpkit.io/module=rk1']\n"
	       "assert k['node-taint'] == ['node-role.kubernetes.io/control-plane=true:NoSchedule']\n");
}

static void cm4_mbr(void **state)
{
	char given[300];
	struct tp_seed_plan *p;
	struct tp_seed_result res;

	(void)state;
	snprintf(given, sizeof(given), "%s/given-helper", dir);
	helper = given;
	p = plan(2, "cm4");
	helper = NULL;
	make_image("cm4.img", "label: dos\\nstart=2048, size=18432, type=c\\n"
		   "start=20480, size=65536, type=83\\n", "writable");
	if (apply(p, "cm4.img", &res) < 0)
		fail_msg("apply: %s", tp_err_msg());
	/* Seeding the same root again replaces every file in place. */
	if (apply(p, "cm4.img", &res) < 0)
		fail_msg("apply again: %s", tp_err_msg());
	tp_seed_plan_free(p);
	extract("cm4.img");
	assert_int_equal(dbg("cat /etc/hostname", "^lab-2$"), 0);
	assert_int_equal(dbg("cat /etc/tpkit/node.conf", "^server=https://lab-1:6443$"), 0);
	assert_int_equal(run("cd %s && /sbin/debugfs -R 'dump /usr/local/sbin/tpkit-node "
			     "helper.out' root.fs 2>/dev/null && cmp helper.out given-helper", dir), 0);
	/* An agent: no ArgoCD keys. */
	assert_int_not_equal(dbg("cat /etc/tpkit/node.conf", "^argocd"), 0);
	/* node.conf as the node helper will read it. */
	{
		char text[1024] = "", v[128];
		FILE *f;

		assert_int_equal(run("cd %s && /sbin/debugfs -R 'dump /etc/tpkit/node.conf "
				     "node.conf' root.fs 2>/dev/null", dir), 0);
		snprintf(v, sizeof(v), "%s/node.conf", dir);
		assert_non_null(f = fopen(v, "r"));
		assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
		fclose(f);
		assert_int_equal(tp_node_conf_value(text, "role", v, sizeof(v)), 0);
		assert_string_equal(v, "agent");
		assert_int_equal(tp_node_conf_value(text, "server", v, sizeof(v)), 0);
		assert_string_equal(v, "https://lab-1:6443");
		assert_int_equal(tp_node_conf_value(text, "instance_id", v, sizeof(v)), 0);
		assert_string_equal(v, res.instance_id);
		assert_int_equal(tp_node_conf_value(text, "report_key", v, 10), -ENOSPC);
		assert_int_equal(tp_node_conf_value(text, "slo", v, sizeof(v)), -ENOENT);
	}
	python("import yaml\n"
	       "e = yaml.safe_load(open('network-config'))['network']['ethernets']['lan']\n"
	       "assert e['addresses'] == ['192.168.1.52/24'], e\n"
	       "assert e['routes'] == [{'to': 'default', 'via': '192.168.1.1'}], e\n"
	       "assert e['nameservers']['addresses'] == ['192.168.1.1', '1.1.1.1'], e\n"
	       "k = yaml.safe_load(open('k3s.yaml'))\n"
	       "assert k['server'] == 'https://lab-1:6443' and k['node-ip'] == '192.168.1.52'\n"
	       "assert k['node-label'] == ['tpkit.io/slot=2', 'tpkit.io/module=cm4']\n"
	       "assert 'node-taint' not in k\n");
}

static void no_root(void **state)
{
	struct tp_seed_plan *p = plan(1, "rk1");
	struct tp_seed_result res;

	(void)state;
	/* Only the FAT seed partition. */
	make_image("fat.img", "label: gpt\\nstart=2048, size=8192, "
		   "type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=CIDATA\\n", NULL);
	assert_int_equal(apply(p, "fat.img", &res), -ENOENT);
	assert_string_equal(tp_err_msg(), "no ext4 root partition in the image's "
			    "partition table: GPT with 1 partition: p1 \"CIDATA\" FAT 4 MiB; "
			    "seeding looks for an ext4 file system labelled cloudimg-rootfs or "
			    "writable, a GPT partition of that name, an MBR partition 2 of type "
			    "0x83, or else the largest Linux partition");
	/* A Linux partition 2 that holds no file system. */
	make_image("empty.img", "label: dos\\nstart=2048, size=18432, type=c\\n"
		   "start=20480, size=65536, type=83\\n", NULL);
	assert_int_equal(apply(p, "empty.img", &res), -ENOENT);
	assert_non_null(strstr(tp_err_msg(), "no ext4 root partition in the image's partition "
			       "table: p2 (partition 2, type 0x83) of the image's MBR holds no "
			       "ext4 file system (MBR with 2 partitions: p1 FAT 9 MiB, "
			       "p2 Linux 32 MiB)"));
	/* No table at all. */
	assert_int_equal(run("cd %s && truncate -s 0 none.img && truncate -s %u none.img", dir,
			     DISK), 0);
	assert_int_equal(apply(p, "none.img", &res), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "the image has no partition table"));
	tp_seed_plan_free(p);
}

static void bad_request(void **state)
{
	struct tp_seed_req req = { .slot = 5, .module = "rk1" };
	struct tp_seed_plan *p = NULL;

	(void)state;
	assert_int_equal(tp_seed_plan_make(&req, &p), -EINVAL);
	assert_string_equal(tp_err_msg(), "seeding slot 5: there is no such slot (slots are 1 "
			    "to 4)");
	req.slot = 1;
	req.module = "pi5";
	assert_int_equal(tp_seed_plan_make(&req, &p), -EINVAL);
	assert_string_equal(tp_err_msg(), "seeding slot 1: the modules are rk1 and cm4, not "
			    "\"pi5\"");
	assert_null(p);
}

/* A missing, unreadable or non-ELF helper stops the plan, with the file named. */
static void bad_helper(void **state)
{
	char p1[300];
	struct tp_seed_plan *p = NULL;
	struct tp_seed_req req = { .slot = 1, .module = "rk1" };
	char conf[300], state_dir[300];

	(void)state;
	snprintf(conf, sizeof(conf), "%s/conf", dir);
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	req.config_dir = conf;
	req.state_dir = state_dir;
	snprintf(p1, sizeof(p1), "%s/no-such-helper", dir);
	req.node_helper = p1;
	assert_int_equal(tp_seed_plan_make(&req, &p), -ENOENT);
	assert_non_null(strstr(tp_err_msg(), "seeding slot 1: --node-helper "));
	assert_non_null(strstr(tp_err_msg(), "/no-such-helper: No such file or directory; give "
			       "the node helper built for the nodes"));
	/* A script is no ELF executable. */
	put("script-helper", "#!/bin/sh\necho hi\n");
	snprintf(p1, sizeof(p1), "%s/script-helper", dir);
	assert_int_equal(tp_seed_plan_make(&req, &p), -ENOEXEC);
	assert_non_null(strstr(tp_err_msg(), "/script-helper is not an ELF executable"));
	/* The default, not installed. */
	req.node_helper = NULL;
	assert_int_equal(run("cd %s && mv usr/share/tpkit/node/tpkit-node-aarch64 aside", dir), 0);
	assert_int_equal(tp_seed_plan_make(&req, &p), -ENOENT);
	assert_non_null(strstr(tp_err_msg(), "/usr/share/tpkit/node/tpkit-node-aarch64: No such "
			       "file or directory; build it (make TPKIT_ARCH=aarch64 node) and "
			       "install it (make install), or give one with --node-helper FILE"));
	assert_int_equal(run("cd %s && mv aside usr/share/tpkit/node/tpkit-node-aarch64", dir), 0);
	assert_null(p);
}

/* node.conf byte for byte, as the node helper's reader expects it
 * (docs/node-helper.md §3). */
static void node_conf_bytes(void **state)
{
	struct tp_node_facts f = { .slot = 1, .module = "rk1", .role = "server",
				   .hostname = "lab-1", .server_url = "", .report_key = "ab",
				   .instance_id = "iid-1", .nvme = "never",
				   .k3s_version = "v1.31.12+k3s1",
				   .k3s_bundle = "/var/lib/tpkit-node/k3s",
				   .argocd_repo = "https://git.example/c.git", .argocd_path = "apps",
				   .argocd_revision = "main" };
	char *t;
	size_t l;

	(void)state;
	assert_int_equal(tp_node_conf(&f, &t, &l), 0);
	assert_string_equal(t, "# Written by tpkit at seeding (docs/seeding.md). Secret: 0600.\n"
			    "slot=1\nmodule=rk1\nrole=server\nhostname=lab-1\nserver=\n"
			    "instance_id=iid-1\nreport_key=ab\nnvme=never\n"
			    "k3s_version=v1.31.12+k3s1\nk3s_bundle=/var/lib/tpkit-node/k3s\n"
			    "k3s_cluster=single\nargocd_repo=https://git.example/c.git\nargocd_path=apps\n"
			    "argocd_revision=main\n");
	assert_int_equal(l, strlen(t));
	free(t);
	/* An agent: no ArgoCD; role none: no k3s version; no bundle, no nvme. */
	f.role = "agent";
	f.server_url = "https://lab-1:6443";
	f.k3s_bundle = NULL;
	f.nvme = NULL;
	assert_int_equal(tp_node_conf(&f, &t, &l), 0);
	assert_string_equal(t, "# Written by tpkit at seeding (docs/seeding.md). Secret: 0600.\n"
			    "slot=1\nmodule=rk1\nrole=agent\nhostname=lab-1\n"
			    "server=https://lab-1:6443\ninstance_id=iid-1\nreport_key=ab\n"
			    "nvme=auto\nk3s_version=v1.31.12+k3s1\n");
	free(t);
	f.role = "none";
	assert_int_equal(tp_node_conf(&f, &t, &l), 0);
	assert_non_null(strstr(t, "\nnvme=auto\nk3s_version=\n"));
	free(t);
	/* --wipe-nvme (docs/commission.md §11). */
	f.wipe_nvme = true;
	assert_int_equal(tp_node_conf(&f, &t, &l), 0);
	assert_non_null(strstr(t, "\nnvme=auto\nwipe_nvme=yes\nk3s_version=\n"));
	free(t);
	f.wipe_nvme = false;
	/* A line break in a value is refused. */
	f.argocd_path = "a\nb";
	f.role = "server";
	assert_int_equal(tp_node_conf(&f, &t, &l), -EINVAL);
}

/*
 * config.yaml and node.conf for the first server of three, a joining server
 * and an agent, with and without cluster/api_address (docs/commission.md
 * §14): cluster-init on the first alone, server: on the others, the API
 * address in every server's tls-san.
 */
static void k3s_config_ha(void **state)
{
	static const char head[] =
		"# Written by tpkit (docs/seeding.md). Holds the cluster token: 0600.\n";
	static const char tail_server[] =
		"token: \"t0k\"\nnode-name: \"lab-%u\"\nnode-ip: \"10.0.0.%u\"\n"
		"node-label:\n  - \"tpkit.io/slot=%u\"\n  - \"tpkit.io/module=rk1\"\n"
		"write-kubeconfig-mode: \"0600\"\ntls-san:\n  - \"lab-%u\"\n  - \"10.0.0.%u\"\n%s"
		"node-taint:\n  - \"node-role.kubernetes.io/control-plane=true:NoSchedule\"\n";
	struct tp_node_facts f = { .module = "rk1", .role = "server", .token = "t0k",
				   .report_key = "ab", .instance_id = "iid", .has_agents = true,
				   .k3s_version = "v1.31.12+k3s1" };
	char want[2048], host[16], *t;
	size_t l;

	(void)state;
	for (int api = 0; api < 2; api++) {
		const char *url = api ? "https://k3s.lab:6443" : "https://10.0.0.1:6443";
		const char *san = api ? "  - \"k3s.lab\"\n" : "";

		f.api_address = api ? "k3s.lab" : "";
		f.server_url = url;
		/* The first server: cluster-init, no server:. */
		f.slot = 1, f.role = "server", f.cluster = "init";
		f.hostname = "lab-1", f.node_ip = "10.0.0.1";
		assert_int_equal(tp_node_k3s_config(&f, &t, &l), 0);
		snprintf(want, sizeof(want), "%scluster-init: true\n", head);
		snprintf(want + strlen(want), sizeof(want) - strlen(want), tail_server, 1u, 1u, 1u,
			 1u, 1u, san);
		assert_string_equal(t, want);
		free(t);
		assert_int_equal(tp_node_conf(&f, &t, &l), 0);
		assert_non_null(strstr(t, "\nk3s_cluster=init\n"));
		free(t);
		/* A joining server: server: the API address, no cluster-init. */
		f.slot = 2, f.cluster = "join", f.hostname = "lab-2", f.node_ip = "10.0.0.2";
		assert_int_equal(tp_node_k3s_config(&f, &t, &l), 0);
		snprintf(want, sizeof(want), "%sserver: \"%s\"\n", head, url);
		snprintf(want + strlen(want), sizeof(want) - strlen(want), tail_server, 2u, 2u, 2u,
			 2u, 2u, san);
		assert_string_equal(t, want);
		free(t);
		assert_int_equal(tp_node_conf(&f, &t, &l), 0);
		snprintf(want, sizeof(want), "\nserver=%s\n", url);
		assert_non_null(strstr(t, want));
		assert_non_null(strstr(t, "\nk3s_cluster=join\n"));
		free(t);
		/* An agent: the API address, no server keys, no k3s_cluster. */
		f.slot = 3, f.role = "agent", f.cluster = NULL, f.node_ip = "";
		snprintf(host, sizeof(host), "lab-3");
		f.hostname = host;
		assert_int_equal(tp_node_k3s_config(&f, &t, &l), 0);
		snprintf(want, sizeof(want), "%sserver: \"%s\"\ntoken: \"t0k\"\n"
			 "node-name: \"lab-3\"\nnode-label:\n  - \"tpkit.io/slot=3\"\n"
			 "  - \"tpkit.io/module=rk1\"\n", head, url);
		assert_string_equal(t, want);
		free(t);
		assert_int_equal(tp_node_conf(&f, &t, &l), 0);
		assert_null(strstr(t, "k3s_cluster"));
		free(t);
	}
	/* One server: neither cluster-init nor server:, as before HA. */
	f.slot = 1, f.role = "server", f.cluster = "single", f.hostname = "lab-1";
	f.api_address = "", f.node_ip = "";
	assert_int_equal(tp_node_k3s_config(&f, &t, &l), 0);
	assert_null(strstr(t, "cluster-init"));
	assert_null(strstr(t, "server:"));
	free(t);
}

struct job {
	struct tp_seed_plan *plan;
	const char *image;
	struct tp_seed_result res;
	int rc;
	char msg[1024];
};

static void *apply_thread(void *arg)
{
	struct job *j = arg;

	j->rc = apply(j->plan, j->image, &j->res);
	snprintf(j->msg, sizeof(j->msg), "%s", tp_err_msg());
	return NULL;
}

/* Two slots seeded at once, as the pipeline's writer threads do. */
static void parallel(void **state)
{
	struct timespec t0, t1, t2;
	struct job j[2] = { { .image = "rk1.img" }, { .image = "cm4.img" } };
	pthread_t t[2];

	(void)state;
	/* RK1: found by its file system's label alone (the GPT entry has no
	 * name and the ESP type); CM4: by the table alone (no label). */
	make_image("rk1.img", "label: gpt\\nstart=2048, size=8192, type=L\\n"
		   "start=20480, size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\\n",
		   "cloudimg-rootfs");
	make_image("cm4.img", "label: dos\\nstart=2048, size=18432, type=c\\n"
		   "start=20480, size=65536, type=83\\n", "");
	/* The keys exist by now: this is a plan's cost on a re-seed. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	j[0].plan = plan(1, "rk1");
	j[1].plan = plan(2, "cm4");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, apply_thread, &j[i]), 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		if (j[i].rc < 0)
			fail_msg("%s: %s", j[i].image, j[i].msg);
		tp_seed_plan_free(j[i].plan);
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	print_message("two plans %.0f ms, two applies at once %.0f ms\n",
		      (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
		      (double)(t2.tv_sec - t1.tv_sec) * 1e3 + (double)(t2.tv_nsec - t1.tv_nsec) / 1e6);
	extract("rk1.img");
	assert_int_equal(dbg("cat /etc/hostname", "^lab-1$"), 0);
	extract("cm4.img");
	assert_int_equal(dbg("cat /etc/hostname", "^lab-2$"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rk1_gpt),
		cmocka_unit_test(cm4_mbr),
		cmocka_unit_test(no_root),
		cmocka_unit_test(bad_request),
		cmocka_unit_test(bad_helper),
		cmocka_unit_test(node_conf_bytes),
		cmocka_unit_test(k3s_config_ha),
		cmocka_unit_test(parallel),
	};

	return cmocka_run_group_tests_name("seed", tests, setup, teardown);
}
