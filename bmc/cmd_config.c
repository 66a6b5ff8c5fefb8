// SPDX-License-Identifier: MIT
/*
 * tpkit config get|set|unset|list|check|hostkeys: the cluster configuration
 * tree (common/config.h, docs/config.md) and the public half of the slots'
 * host keys (bmc/secrets.h). The help lists every key from the key table.
 * No secret is ever read here except to derive a public key from it.
 */
#include "cli.h"
#include "secrets.h"
#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"
#include "common/slots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "slot/%u/hostname" as users write it: "slot/N/hostname". */
static const char *display(const struct tp_config_key *k, char *buf, size_t size)
{
	const char *p = strstr(k->name, "%u");

	if (!p)
		return k->name;
	snprintf(buf, size, "%.*sN%s", (int)(p - k->name), k->name, p + 2);
	return buf;
}

/* Print text wrapped to 78 columns, each line indented. */
static void wrapped(const char *text, int indent)
{
	const char *p = text;

	while (*p) {
		int width = 78 - indent, n = 0, brk = 0;

		while (p[n] && n < width) {
			if (p[n] == ' ')
				brk = n;
			n++;
		}
		if (p[n] && brk)
			n = brk;
		printf("%*s%.*s\n", indent, "", n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
}

static void help(void)
{
	char name[TP_CONFIG_KEY_MAX];

	printf("Usage: tpkit config get KEY\n"
	       "       tpkit config set KEY VALUE      (VALUE - reads it from stdin)\n"
	       "       tpkit config unset KEY\n"
	       "       tpkit config list [--json]\n"
	       "       tpkit config check\n"
	       "       tpkit config hostkeys [--slot LIST]\n\n"
	       "The cluster configuration: one value per file under %s\n"
	       "(TPKIT_CONFIG_DIR overrides it). A key without a file has its default, so\n"
	       "an empty tree works: slot 1 is the k3s server, the others agents.\n"
	       "set validates and writes atomically; unset restores the default; list shows\n"
	       "every key, its value and whether it is the default, and each slot's SSH host\n"
	       "key fingerprints; check looks across keys (unique hostnames, the servers\n"
	       "and the API address, admin keys present, gateways of static addresses) and\n"
	       "warns of what works but is unwise (2 servers). hostkeys creates each\n"
	       "slot's secrets if missing (host keys, k3s node password, report key, the\n"
	       "cluster token), which are kept, 0600 and never printed, in\n"
	       "%s/secrets (TPKIT_STATE_DIR overrides the state\n"
	       "directory), and prints the host keys as known_hosts lines.\n\n"
	       "Keys (slot keys exist for N = 1 to %d; docs/config.md has examples):\n\n",
	       CONFIG_TPKIT_CONFIG_DIR, CONFIG_TPKIT_STATE_DIR, TP_SLOTS_MAX);
	for (size_t i = 0; i < tp_config_nkeys; i++) {
		const struct tp_config_key *k = &tp_config_keys[i];

		printf("  %-22s %s; default: %s\n", display(k, name, sizeof(name)),
		       tp_config_types[k->type].name, k->def);
		wrapped(k->doc, 6);
	}
	printf("\nTypes:\n");
	for (int t = 0; t < TP_CT_COUNT; t++) {
		printf("  %-12s ", tp_config_types[t].name);
		wrapped(tp_config_types[t].doc, 0);
	}
	printf("\n  --slot LIST        hostkeys: these slots (default 1-%d)\n"
	       "  --json             the result as one JSON object (docs/json.md)\n"
	       "  -v, --verbose      say which file is written\n"
	       "  -q, --quiet        print nothing but errors\n"
	       "  -h, --help         this help\n\n"
	       "Exit codes: 0 ok, 1 failed (a malformed file: the message names the key and\n"
	       "the file), 2 usage (unknown key, a value that is not valid for the key).\n",
	       TP_SLOTS_MAX);
}

static int fail(struct tp_cli *c, int rc)
{
	return tp_cli_fail(c, rc);
}

static void json_result(const struct tp_cli *c, const char *action, const char *key)
{
	struct tp_json j;

	tp_cli_json_result(c, &j, NULL, true);
	tp_json_str(&j, "action", action);
	if (key)
		tp_json_str(&j, "key", key);
	tp_json_obj_end(&j);
}

static int do_get(struct tp_cli *c, struct tp_config *cfg, const char *name)
{
	struct tp_config_item *it = tp_config_find(cfg, name);
	char *val;
	bool def;
	int rc;

	if (!it)
		return tp_cli_usage(c, "%s", tp_err_msg());
	/* The cluster name feeds the hostnames' defaults. */
	if ((rc = tp_config_load_item(cfg, tp_config_item_of(cfg, "cluster/name", 0))) < 0 ||
	    (rc = tp_config_load_item(cfg, it)) < 0)
		return fail(c, rc);
	val = malloc(TP_CONFIG_TEXT_MAX);
	if (!val)
		return fail(c, tp_err_set(-ENOMEM, "out of memory"));
	rc = tp_config_value(cfg, it, val, TP_CONFIG_TEXT_MAX, &def);
	if (rc < 0) {
		free(val);
		return fail(c, rc);
	}
	if (c->json) {
		struct tp_json j;

		tp_cli_json_result(c, &j, NULL, true);
		tp_json_str(&j, "key", it->name);
		tp_json_str(&j, "value", val);
		tp_json_bool(&j, "default", def);
		tp_json_str(&j, "file", it->file);
		tp_json_obj_end(&j);
	} else {
		printf("%s\n", val);
	}
	free(val);
	return TP_EXIT_OK;
}

static char *read_stdin(void)
{
	char *buf = malloc(TP_CONFIG_TEXT_MAX);
	size_t len = 0;

	if (!buf)
		return NULL;
	while (len < TP_CONFIG_TEXT_MAX - 1) {
		size_t n = fread(buf + len, 1, TP_CONFIG_TEXT_MAX - 1 - len, stdin);

		if (n == 0)
			break;
		len += n;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	return buf;
}

static int do_set(struct tp_cli *c, struct tp_config *cfg, const char *name, const char *value)
{
	struct tp_config_item *it = tp_config_find(cfg, name);
	char *in = NULL;
	int rc;

	if (!it)
		return tp_cli_usage(c, "%s", tp_err_msg());
	if (!strcmp(value, "-")) {
		in = read_stdin();
		if (!in)
			return fail(c, tp_err_set(-ENOMEM, "out of memory"));
		value = in;
	}
	rc = tp_config_validate(it, value, NULL);
	if (rc == -EINVAL) {
		free(in);
		return tp_cli_usage(c, "%s", tp_err_msg());
	}
	if (rc == 0)
		rc = tp_config_set(cfg, it, value);
	free(in);
	if (rc < 0)
		return fail(c, rc);
	TP_INFO("%s written to %s", it->name, it->file);
	if (c->json)
		json_result(c, "set", it->name);
	return TP_EXIT_OK;
}

static int do_unset(struct tp_cli *c, struct tp_config *cfg, const char *name)
{
	struct tp_config_item *it = tp_config_find(cfg, name);
	int rc;

	if (!it)
		return tp_cli_usage(c, "%s", tp_err_msg());
	if ((rc = tp_config_unset(cfg, it)) < 0)
		return fail(c, rc);
	TP_INFO("%s: removed %s; the default applies", it->name, it->file);
	if (c->json)
		json_result(c, "unset", it->name);
	return TP_EXIT_OK;
}

/* One line for list: the first line of a value, and how many keys a key
 * file holds rather than the whole file. */
static void summary(const struct tp_config_item *it, const char *val, char *out, size_t size)
{
	if (it->key->type == TP_CT_SSH_KEYS) {
		unsigned n = tp_config_count_keys(val);

		snprintf(out, size, "%u key%s", n, n == 1 ? "" : "s");
		return;
	}
	snprintf(out, size, "%s", *val ? val : "(none)");
}

static void list_fingerprints(struct tp_cli *c, struct tp_json *j)
{
	struct tp_secrets s;

	if (tp_secrets_init(&s, NULL) < 0)
		return;
	if (j)
		tp_json_obj_begin(j, "host_keys");
	else if (c->verbosity >= 0)
		printf("\nSSH host keys (%s):\n", s.dir);
	for (unsigned slot = 1; slot <= TP_SLOTS_MAX; slot++) {
		char key[8];

		snprintf(key, sizeof(key), "%u", slot);
		if (j)
			tp_json_obj_begin(j, key);
		for (int t = 0; t < TP_SSHKEY_NTYPES; t++) {
			char fp[TP_SSHKEY_FP_MAX];
			int rc = tp_secrets_host_fingerprint(&s, slot, (enum tp_sshkey_type)t, fp,
							     sizeof(fp));

			if (j)
				rc < 0 ? tp_json_null(j, tp_sshkey_file_tag(t))
				       : tp_json_str(j, tp_sshkey_file_tag(t), fp);
			else if (c->verbosity >= 0)
				printf("  slot %u %-8s %s\n", slot, tp_sshkey_file_tag(t),
				       rc < 0 ? "(not generated yet)" : fp);
		}
		if (j)
			tp_json_obj_end(j);
	}
	if (j)
		tp_json_obj_end(j);
	tp_secrets_close(&s);
}

static int do_list(struct tp_cli *c, struct tp_config *cfg)
{
	struct tp_json j;
	char *val;
	int rc = tp_config_load(cfg);

	if (rc < 0)
		return fail(c, rc);
	val = malloc(TP_CONFIG_TEXT_MAX);
	if (!val)
		return fail(c, tp_err_set(-ENOMEM, "out of memory"));
	if (c->json) {
		tp_cli_json_result(c, &j, NULL, true);
		tp_json_str(&j, "dir", cfg->dir);
		tp_json_obj_begin(&j, "keys");
	} else if (c->verbosity >= 0) {
		printf("%-22s %-40s %s\n", "KEY", "VALUE", "SOURCE");
	}
	for (size_t i = 0; i < cfg->n; i++) {
		const struct tp_config_item *it = &cfg->item[i];
		char line[128];
		bool def;

		if ((rc = tp_config_value(cfg, it, val, TP_CONFIG_TEXT_MAX, &def)) < 0)
			break;
		if (c->json) {
			tp_json_obj_begin(&j, it->name);
			tp_json_str(&j, "value", val);
			tp_json_bool(&j, "default", def);
			tp_json_obj_end(&j);
		} else if (c->verbosity >= 0) {
			summary(it, val, line, sizeof(line));
			printf("%-22s %-40s %s\n", it->name, line, def ? "default" : "set");
		}
	}
	free(val);
	if (rc < 0)
		return fail(c, rc);
	if (c->json)
		tp_json_obj_end(&j);
	list_fingerprints(c, c->json ? &j : NULL);
	if (c->json)
		tp_json_obj_end(&j);
	return TP_EXIT_OK;
}

/* Allowed but unwise (docs/commission.md §14): said on stderr, exit 0. */
static void print_warnings(const struct tp_config *cfg)
{
	char buf[2048];
	int n = tp_config_warnings(cfg, buf, sizeof(buf));

	if (n > 0)
		tp_cli_warn_lines("config", buf);
}

static int do_check(struct tp_cli *c, struct tp_config *cfg)
{
	int rc = tp_config_load(cfg);

	if (rc == 0)
		rc = tp_config_check(cfg);
	if (rc < 0)
		return fail(c, rc);
	print_warnings(cfg);
	if (c->json)
		json_result(c, "check", NULL);
	else if (c->verbosity >= 0)
		printf("configuration in %s is consistent\n", cfg->dir);
	return TP_EXIT_OK;
}

/* Create what is missing and print known_hosts lines: the one action here
 * that generates secrets; only their public halves come out. */
static int do_hostkeys(struct tp_cli *c, struct tp_config *cfg, unsigned mask)
{
	struct tp_secrets s;
	struct tp_json j;
	char hosts[TP_SLOTS_MAX + 1][256] = { { 0 } };
	const char *names[TP_SLOTS_MAX + 1] = { NULL };
	bool json_open = false;
	int rc = tp_config_load(cfg);

	if (rc == 0)
		rc = tp_secrets_init(&s, NULL);
	if (rc < 0)
		return fail(c, rc);
	for (unsigned slot = 1; rc == 0 && slot <= TP_SLOTS_MAX; slot++) {
		rc = tp_config_value(cfg, tp_config_item_of(cfg, "slot/%u/hostname", slot),
				     hosts[slot], sizeof(hosts[slot]), NULL);
		names[slot] = hosts[slot];
	}
	if (rc == 0)
		rc = tp_secrets_ensure(&s, mask, names);
	if (rc == 0 && c->json) {
		json_open = true;
		tp_cli_json_result(c, &j, NULL, true);
		tp_json_str(&j, "action", "hostkeys");
		tp_json_arr_begin(&j, "slots");
	}
	for (unsigned slot = 1; rc == 0 && slot <= TP_SLOTS_MAX; slot++) {
		if (!(mask & TP_SLOT_BIT(slot)))
			continue;
		if (c->json) {
			tp_json_obj_begin(&j, NULL);
			tp_json_int(&j, "slot", slot);
			tp_json_str(&j, "hostname", hosts[slot]);
		}
		for (int t = 0; rc == 0 && t < TP_SSHKEY_NTYPES; t++) {
			char pub[TP_SSHKEY_PUB_MAX], fp[TP_SSHKEY_FP_MAX];

			rc = tp_secrets_host_key(&s, slot, (enum tp_sshkey_type)t, hosts[slot],
						 NULL, pub, sizeof(pub));
			if (rc == 0)
				rc = tp_sshkey_fingerprint_line(pub, fp, sizeof(fp));
			if (rc < 0)
				break;
			if (c->json) {
				tp_json_obj_begin(&j, tp_sshkey_file_tag(t));
				tp_json_str(&j, "public", pub);
				tp_json_str(&j, "fingerprint", fp);
				tp_json_obj_end(&j);
			} else if (c->verbosity >= 0) {
				/* known_hosts: "host keytype base64" (the comment dropped). */
				char *sp = strchr(strchr(pub, ' ') + 1, ' ');

				if (sp)
					*sp = '\0';
				printf("%s %s\n", hosts[slot], pub);
				TP_INFO("slot %u %s %s", slot, tp_sshkey_file_tag(t), fp);
			}
		}
		if (c->json && rc == 0)
			tp_json_obj_end(&j);
	}
	tp_secrets_close(&s);
	if (rc < 0) {
		if (json_open)
			tp_json_abandon(&j);
		return fail(c, rc);
	}
	if (c->json) {
		tp_json_arr_end(&j);
		tp_json_obj_end(&j);
	}
	return TP_EXIT_OK;
}

int cmd_config_main(struct tp_cli *c, int argc, char **argv)
{
	struct tp_config cfg;
	const char *action, *slots = NULL;
	const struct tp_cli_opt opts[] = { { "slot", 's', TP_CLI_STR, &slots }, { 0 } };
	unsigned mask = TP_SLOTS_ALL;
	int rc, nargs;

	if ((rc = tp_cli_parse(c, argc, argv, opts, help, TP_CLI_ARGS)) != TP_CLI_GO)
		return rc;
	if ((rc = tp_cli_ready(c)))
		return rc;
	if (optind >= argc)
		return tp_cli_usage(c, "give an action: get, set, unset, list, check or hostkeys");
	action = argv[optind++];
	nargs = argc - optind;
	if (slots && strcmp(action, "hostkeys"))
		return tp_cli_usage(c, "--slot is for hostkeys only");
	if (slots && tp_slots_parse(slots, TP_SLOTS_MAX, &mask) < 0)
		return tp_cli_usage(c, "%s", tp_err_msg());
	if ((rc = tp_config_init(&cfg, NULL)) < 0)
		return fail(c, rc);
	if (!strcmp(action, "get") && nargs == 1)
		rc = do_get(c, &cfg, argv[optind]);
	else if (!strcmp(action, "set") && nargs == 2)
		rc = do_set(c, &cfg, argv[optind], argv[optind + 1]);
	else if (!strcmp(action, "unset") && nargs == 1)
		rc = do_unset(c, &cfg, argv[optind]);
	else if (!strcmp(action, "list") && nargs == 0)
		rc = do_list(c, &cfg);
	else if (!strcmp(action, "check") && nargs == 0)
		rc = do_check(c, &cfg);
	else if (!strcmp(action, "hostkeys") && nargs == 0)
		rc = do_hostkeys(c, &cfg, mask);
	else if (!strcmp(action, "get") || !strcmp(action, "unset"))
		rc = tp_cli_usage(c, "%s takes one KEY", action);
	else if (!strcmp(action, "set"))
		rc = tp_cli_usage(c, "set takes KEY VALUE (VALUE - reads stdin)");
	else if (!strcmp(action, "list") || !strcmp(action, "check") || !strcmp(action, "hostkeys"))
		rc = tp_cli_usage(c, "%s takes no arguments", action);
	else
		rc = tp_cli_usage(c, "unknown action \"%s\"; use get, set, unset, list, check or "
				  "hostkeys", action);
	tp_config_free(&cfg);
	return rc;
}
