// SPDX-License-Identifier: MIT
/*
 * tpkit kubeconfig [--slot N] [-o FILE]: the k3s server's admin kubeconfig
 * copied to the BMC (docs/commission.md §12). The system's SSH client
 * (OpenSSH's ssh, else Dropbear's dbclient on the Buildroot BMC) logs in
 * as the admin user with the admin's key and runs `sudo -n cat` on the
 * path the server's helper reported; the copy's API address, k3s's
 * 127.0.0.1, becomes the node's; FILE is written 0600 in one piece. The
 * kubeconfig holds the cluster's admin credentials: it is never printed.
 */
#define _GNU_SOURCE /* pipe2 */
#include "cli.h"
#include "secrets.h"
#include "commission/live.h"
#include "common/atomic.h"
#include "common/config.h"
#include "common/err.h"
#include "common/slots.h"
#include "common/path.h"
#include "common/state.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A kubeconfig is a few KiB; more than this is not one. */
#define KUBECONFIG_MAX (1024 * 1024)

static void help(void)
{
	printf("Usage: tpkit kubeconfig [--slot N] [-o FILE] [--identity KEY] [--address ADDR]\n\n"
	       "Copy the k3s server's admin kubeconfig to FILE (mode 0600), its API address\n"
	       "(k3s writes https://127.0.0.1:6443) changed to the node's. It logs in with\n"
	       "the system's ssh (or Dropbear's dbclient) as admin/user with the admin's\n"
	       "key and runs sudo -n cat on the path the server's helper reported. The\n"
	       "file's contents are never printed. See docs/commission.md.\n\n"
	       "  --slot N           the server's slot (default: the first with role server)\n"
	       "  -o, --output FILE  where to write it (default: kubeconfig)\n"
	       "  --identity KEY     the private key (default: ~/.ssh/id_ed25519, id_ecdsa,\n"
	       "                     id_rsa, the first that exists)\n"
	       "  --address ADDR     the node's address (default: net/slot/N/address when\n"
	       "                     static, else slot/N/hostname)\n"
	       "  --json             the result as one JSON object (docs/json.md)\n"
	       "  -v, -q, -h: as every command (tpkit --help)\n\n"
	       "Exit codes: 0 written, 1 the copy failed, 2 usage.\n");
}

/* The first of PATH's directories that holds an executable name. */
static bool on_path(const char *name)
{
	const char *p = getenv("PATH");
	char file[4096];

	while (p && *p) {
		size_t l = strcspn(p, ":");

		snprintf(file, sizeof(file), "%.*s/%s", (int)l, p, name);
		if (access(file, X_OK) == 0)
			return true;
		p += l + (p[l] == ':');
	}
	return false;
}

static bool default_key(char *buf, size_t size)
{
	static const char *const names[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
	const char *home = getenv("HOME");

	for (size_t i = 0; home && i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(buf, size, "%s/.ssh/%s", home, names[i]);
		if (access(buf, R_OK) == 0)
			return true;
	}
	return false;
}

/* The slot's own host key as a known_hosts file, so OpenSSH checks the
 * node is the one tpkit seeded (seeding.md puts that key on it). 0 and
 * path, or -ENOENT when no key was made for the slot. */
static int known_hosts(unsigned slot, const char *host, char *path, size_t size)
{
	struct tp_secrets s;
	char pub[TP_PATH_MAX], line[1024], text[1200], dir[TP_PATH_MAX];
	FILE *f;
	int rc;

	if ((rc = tp_secrets_init(&s, NULL)) < 0 ||
	    (rc = tp_secrets_path(&s, slot, "ssh_host_ed25519_key.pub", pub, sizeof(pub))) < 0)
		return rc;
	f = fopen(pub, "re");
	if (!f)
		return -ENOENT;
	rc = fgets(line, sizeof(line), f) ? 0 : -ENOENT;
	fclose(f);
	if (rc < 0)
		return rc;
	snprintf(text, sizeof(text), "%s %s", host, line);
	if ((rc = tp_state_save("kubeconfig-known_hosts", text)) < 0 ||
	    (rc = tp_state_dir(dir, sizeof(dir))) < 0)
		return rc;
	snprintf(path, size, "%s/kubeconfig-known_hosts", dir);
	return 0;
}

/* Run argv, its stdout into buf (at most size-1 bytes), its stderr
 * passed on (ssh's own messages say what went wrong). Bytes or -errno. */
static ssize_t capture(char *const argv[], char *buf, size_t size)
{
	int pfd[2], st;
	size_t got = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return tp_err_set(-errno, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return tp_err_set(-errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		/* No terminal for a password prompt: the key or nothing. */
		if (freopen("/dev/null", "r", stdin) == NULL)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], buf + got, size - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (got += (size_t)n) >= size - 1)
			break;
	}
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	buf[got] = '\0';
	if (got >= size - 1)
		return tp_err_set(-EFBIG, "%s printed more than %d bytes: not a kubeconfig", argv[0],
				  KUBECONFIG_MAX);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return tp_err_set(-EIO, "%s failed (exit %d): see its message above", argv[0],
				  WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return (ssize_t)got;
}

/*
 * k3s's kubeconfig names its API as https://127.0.0.1:6443, right on the
 * node only: every "server:" line's loopback host becomes host (in
 * brackets when it is IPv6). out gets the result; its length or -EFBIG.
 */
static ssize_t rewrite(const char *in, const char *host, char *out, size_t size)
{
	static const char *const loops[] = { "https://127.0.0.1:", "https://localhost:" };
	bool v6 = strchr(host, ':') != NULL;
	size_t n = 0;

	while (*in) {
		size_t l = strcspn(in, "\n") + (in[strcspn(in, "\n")] == '\n');
		const char *srv = NULL, *hit = NULL;
		size_t hl = 0;

		for (const char *p = in; p < in + l && !srv; p++)
			if (!strncmp(p, "server:", 7))
				srv = p;
		for (size_t i = 0; srv && !hit && i < 2; i++)
			if ((hit = strstr(srv, loops[i])) && hit < in + l)
				hl = strlen(loops[i]);
			else
				hit = NULL;
		if (hit) {
			int w = snprintf(out + n, size - n, "%.*shttps://%s%s%s:", (int)(hit - in), in,
					 v6 ? "[" : "", host, v6 ? "]" : "");

			if (w < 0 || (size_t)w >= size - n)
				return -EFBIG;
			n += (size_t)w;
			l -= (size_t)(hit - in) + hl;
			in = hit + hl;
		}
		if (n + l >= size)
			return -EFBIG;
		memcpy(out + n, in, l);
		n += l;
		in += l;
	}
	out[n] = '\0';
	return (ssize_t)n;
}

/* The first slot whose role is server, for a cluster of one server. */
static unsigned server_slot(const struct tp_config *cfg)
{
	char key[32], role[16];

	for (unsigned slot = 1; slot <= TP_SLOTS_MAX; slot++) {
		snprintf(key, sizeof(key), "slot/%u/role", slot);
		if (tp_config_get(cfg, key, role, sizeof(role)) == 0 && !strcmp(role, "server"))
			return slot;
	}
	return 0;
}

struct where {
	unsigned slot;
	char host[256], user[64], path[256];
};

/* Who and where from the configuration and the helper's note. */
static int locate(struct where *w, const char *host)
{
	struct tp_config *cfg = calloc(1, sizeof(*cfg));
	char key[48];
	int rc;

	if (!cfg)
		return tp_err_set(-ENOMEM, "out of memory");
	rc = tp_config_init(cfg, NULL);
	if (rc == 0)
		rc = tp_config_load(cfg);
	if (rc == 0 && !w->slot && !(w->slot = server_slot(cfg)))
		rc = tp_err_set(-ENOENT, "no slot has role server (tpkit config get slot/N/role)");
	if (rc == 0)
		rc = tp_config_get(cfg, "admin/user", w->user, sizeof(w->user));
	if (rc == 0 && host) {
		snprintf(w->host, sizeof(w->host), "%s", host);
	} else if (rc == 0) {
		snprintf(key, sizeof(key), "net/slot/%u/address", w->slot);
		rc = tp_config_get(cfg, key, w->host, sizeof(w->host));
		w->host[strcspn(w->host, "/")] = '\0';
		if (rc == 0 && !strcmp(w->host, "dhcp")) {
			/* The BMC does not learn a DHCP lease: the name, then. */
			snprintf(key, sizeof(key), "slot/%u/hostname", w->slot);
			rc = tp_config_get(cfg, key, w->host, sizeof(w->host));
		}
	}
	tp_config_free(cfg);
	free(cfg);
	if (rc < 0)
		return rc;
	if (tp_clive_kubeconfig(w->slot, w->path, sizeof(w->path)) < 0)
		snprintf(w->path, sizeof(w->path), "%s", TP_CLIVE_KUBECONFIG);
	return 0;
}

/* Copy, check, rewrite, write. */
static int fetch(const struct where *w, const char *identity, const char *out)
{
	char kh[TP_PATH_MAX], khopt[TP_PATH_MAX + 32], dest[400], remote[300];
	char *in = malloc(KUBECONFIG_MAX), *fixed = malloc(KUBECONFIG_MAX + 4096);
	const char *argv[24];
	bool ssh = on_path("ssh");
	size_t a = 0;
	ssize_t n;
	int rc;

	if (!in || !fixed) {
		rc = tp_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if (!ssh && !on_path("dbclient")) {
		rc = tp_err_set(-ENOENT, "no SSH client: neither ssh nor dbclient is on PATH");
		goto out;
	}
	snprintf(dest, sizeof(dest), "%s@%s", w->user, w->host);
	snprintf(remote, sizeof(remote), "sudo -n cat %s", w->path);
	argv[a++] = ssh ? "ssh" : "dbclient";
	if (identity) {
		argv[a++] = "-i";
		argv[a++] = identity;
	}
	if (ssh) {
		argv[a++] = "-o";
		argv[a++] = "BatchMode=yes";
		argv[a++] = "-o";
		argv[a++] = "ConnectTimeout=20";
		argv[a++] = "-o";
		if (known_hosts(w->slot, w->host, kh, sizeof(kh)) == 0) {
			snprintf(khopt, sizeof(khopt), "UserKnownHostsFile=%s", kh);
			argv[a++] = khopt;
			argv[a++] = "-o";
			argv[a++] = "StrictHostKeyChecking=yes";
		} else {
			argv[a++] = "StrictHostKeyChecking=accept-new";
		}
	} else {
		/* dbclient takes no known_hosts file: -y accepts a new host
		 * key and still refuses a changed one (docs/commission.md §12). */
		argv[a++] = "-y";
	}
	argv[a++] = dest;
	argv[a++] = remote;
	argv[a] = NULL;
	if ((n = capture((char *const *)argv, in, KUBECONFIG_MAX)) < 0) {
		rc = (int)n;
		goto out;
	}
	if (!strstr(in, "apiVersion:") || !strstr(in, "clusters:")) {
		rc = tp_err_set(-EBADMSG, "%s on %s is not a kubeconfig (no apiVersion: and "
				"clusters:)", w->path, w->host);
		goto out;
	}
	if ((n = rewrite(in, w->host, fixed, KUBECONFIG_MAX + 4096)) < 0) {
		rc = tp_err_set((int)n, "the kubeconfig is too large");
		goto out;
	}
	rc = tp_file_write_atomic(out, fixed, (size_t)n, 0600);
out:
	/* The admin's credentials: not left in freed memory either. */
	if (in)
		OPENSSL_cleanse(in, KUBECONFIG_MAX);
	if (fixed)
		OPENSSL_cleanse(fixed, KUBECONFIG_MAX + 4096);
	free(in);
	free(fixed);
	return rc;
}

/* --slot: the server's, one slot. */
static int set_slot(const struct tp_cli *c, void *dst, const char *arg)
{
	unsigned mask;

	if (tp_slots_parse(arg, TP_SLOTS_MAX, &mask) < 0)
		return tp_cli_usage(c, "%s", tp_err_msg());
	if (mask & (mask - 1))
		return tp_cli_usage(c, "--slot takes one slot");
	*(unsigned *)dst = (unsigned)__builtin_ctz(mask) + 1;
	return 0;
}

int cmd_kubeconfig_main(struct tp_cli *c, int argc, char **argv)
{
	struct where w = { 0 };
	const char *out = "kubeconfig", *identity = NULL, *host = NULL;
	const struct tp_cli_opt opts[] = {
		{ "slot", 0, TP_CLI_FN, &w.slot, set_slot },
		{ "output", 'o', TP_CLI_STR, &out },
		{ "identity", 0, TP_CLI_STR, &identity },
		{ "address", 0, TP_CLI_STR, &host },
		{ 0 },
	};
	char key[TP_PATH_MAX];
	int rc;

	if ((rc = tp_cli_parse(c, argc, argv, opts, help, 0)) != TP_CLI_GO)
		return rc;
	if (!identity && default_key(key, sizeof(key)))
		identity = key;
	if ((rc = locate(&w, host)) < 0 || (rc = fetch(&w, identity, out)) < 0)
		return tp_cli_fail(c, rc);
	if (c->json) {
		struct tp_json j;

		tp_cli_json_result(c, &j, NULL, true);
		tp_json_str(&j, "file", out);
		tp_json_int(&j, "slot", w.slot);
		tp_json_str(&j, "remote", w.path);
		tp_json_str(&j, "server", w.host);
		tp_json_obj_end(&j);
	} else if (c->verbosity >= 0) {
		printf("%s: the kubeconfig of slot %u (%s), its server https://%s:6443; "
		       "use it with: export KUBECONFIG=%s\n", out, w.slot, w.path, w.host, out);
	}
	return TP_EXIT_OK;
}
