// SPDX-License-Identifier: MIT
/*
 * The argocd step (docs/node-helper.md §13): on the server, two HelmChart
 * manifests in k3s's auto-deploy directory, which k3s applies at start and
 * whenever they change (node-helper.md §13): ArgoCD from the argo-cd
 * chart, and the root application (app of apps) from the argocd-apps chart,
 * pointing at node.conf's argocd_repo, argocd_path and argocd_revision. No
 * kubectl or helm is needed, and the helm-controller retries the second
 * chart until the first has made the Application kind.
 */
#include "node.h"
#include "common/atomic.h"
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MANIFESTS "/var/lib/rancher/k3s/server/manifests"
/* File names are AddOn names: RFC 1123, no clash with k3s's own
 * (node-helper.md §13). */
#define ARGOCD_FILE MANIFESTS "/tpkit-argocd.yaml"
#define ROOT_FILE MANIFESTS "/tpkit-argocd-root.yaml"
#define HELM_REPO "https://argoproj.github.io/argo-helm"
/* Pinned chart versions (docs/node-helper.md §13): argo-cd as the prior art
 * pins it (node-helper.md §13), argocd-apps as argo-helm's Chart.yaml. */
#define ARGOCD_CHART_VERSION "9.4.17"
#define APPS_CHART_VERSION "2.0.7"
#define ARGOCD_NS "argocd"
/* config.md's defaults for argocd/path and argocd/revision. */
#define DEFAULT_PATH "."
#define DEFAULT_REVISION "HEAD"

/* v as a YAML double-quoted scalar: only '"' and '\' need escapes there,
 * so ':' '#' '{' or a leading '*' in a URL cannot change the document's
 * shape; control characters (node.conf refuses them) are escaped too. */
static int quote(char *out, size_t size, const char *v)
{
	size_t n = 0;

	if (size < 3)
		return -ENOSPC;
	out[n++] = '"';
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;

		if (n + 6 >= size)
			return -ENOSPC;
		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			n += (size_t)snprintf(out + n, size - n, "\\x%02x", ch);
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
	return 0;
}

static const char argocd_yaml[] =
	"# Written by tpkit-node (docs/node-helper.md, part 13): ArgoCD itself.\n"
	"apiVersion: helm.cattle.io/v1\n"
	"kind: HelmChart\n"
	"metadata:\n"
	"  name: argocd\n"
	"  namespace: kube-system\n"
	"spec:\n"
	"  chart: argo-cd\n"
	"  repo: " HELM_REPO "\n"
	"  version: \"" ARGOCD_CHART_VERSION "\"\n"
	"  targetNamespace: " ARGOCD_NS "\n"
	"  createNamespace: true\n"
	"  valuesContent: |-\n"
	"    configs:\n"
	"      params:\n"
	"        server.insecure: true\n";

/* The root application's manifest for c's repository. */
static int root_yaml(const struct tp_node_conf *nc, char *out, size_t size)
{
	char repo[600], path[600], rev[300];
	int n;

	if (quote(repo, sizeof(repo), nc->argocd_repo) < 0 ||
	    quote(path, sizeof(path), *nc->argocd_path ? nc->argocd_path : DEFAULT_PATH) < 0 ||
	    quote(rev, sizeof(rev),
		  *nc->argocd_revision ? nc->argocd_revision : DEFAULT_REVISION) < 0)
		return tp_err_set(-ENAMETOOLONG, "argocd_repo, _path or _revision too long");
	/* argocd-apps takes applications as a map keyed by name
	 * (node-helper.md §13); the Application lives in ArgoCD's own
	 * namespace, which ArgoCD watches. */
	n = snprintf(out, size,
		     "# Written by tpkit-node (docs/node-helper.md, part 13): the root "
		     "application.\n"
		     "apiVersion: helm.cattle.io/v1\n"
		     "kind: HelmChart\n"
		     "metadata:\n"
		     "  name: argocd-root\n"
		     "  namespace: kube-system\n"
		     "spec:\n"
		     "  chart: argocd-apps\n"
		     "  repo: " HELM_REPO "\n"
		     "  version: \"" APPS_CHART_VERSION "\"\n"
		     "  targetNamespace: " ARGOCD_NS "\n"
		     "  createNamespace: true\n"
		     "  valuesContent: |-\n"
		     "    applications:\n"
		     "      root:\n"
		     "        project: default\n"
		     "        source:\n"
		     "          repoURL: %s\n"
		     "          targetRevision: %s\n"
		     "          path: %s\n"
		     "        destination:\n"
		     "          server: https://kubernetes.default.svc\n"
		     "          namespace: " ARGOCD_NS "\n"
		     "        syncPolicy:\n"
		     "          automated:\n"
		     "            prune: true\n"
		     "            selfHeal: true\n"
		     "          syncOptions:\n"
		     "            - CreateNamespace=true\n",
		     repo, rev, path);
	if (n < 0 || (size_t)n >= size)
		return tp_err_set(-ENAMETOOLONG, "the root application's manifest is too long");
	return 0;
}

/* Why the step does not apply, or NULL when it does. */
static const char *not_applicable(const struct tp_node_conf *nc)
{
	if (strcmp(nc->role, "server"))
		return strcmp(nc->role, "none") ? "not applicable: role agent"
						: "not applicable: role none";
	if (!*nc->argocd_repo)
		return "not applicable: no argocd_repo in node.conf (config argocd/repo is empty)";
	return NULL;
}

static int holds(const char *file, const char *text)
{
	char buf[8192];
	ssize_t n = tp_file_read(file, buf, sizeof(buf));

	return n >= 0 && (size_t)n == strlen(text) && !memcmp(buf, text, (size_t)n);
}

int tp_argocd_done(struct tp_node_ctx *c)
{
	char root[8192];

	if (not_applicable(c->conf))
		return 1;
	if (root_yaml(c->conf, root, sizeof(root)) < 0)
		return 0;
	return holds(ARGOCD_FILE, argocd_yaml) && holds(ROOT_FILE, root);
}

static int put(const char *file, const char *text)
{
	char full[TP_PATH_MAX];
	int rc = tp_path(full, sizeof(full), "%s", file);

	/* 0600: k3s reads them as root; the repository URL may carry a
	 * credential. */
	return rc < 0 ? rc : tp_file_write_atomic(full, text, strlen(text), 0600);
}

int tp_argocd_run(struct tp_node_ctx *c)
{
	const char *why = not_applicable(c->conf);
	char root[8192], dir[TP_PATH_MAX];
	int rc;

	if (why) {
		snprintf(c->why, sizeof(c->why), "%s", why);
		return TP_STEP_SKIP;
	}
	rc = root_yaml(c->conf, root, sizeof(root));
	if (rc < 0)
		return rc;
	/* k3s makes its server directory 0700; so do we when we come first. */
	rc = tp_path(dir, sizeof(dir), "%s", MANIFESTS);
	if (rc == 0)
		rc = tp_dir_make(dir, 0700, 0);
	if (rc == 0)
		rc = put(ARGOCD_FILE, argocd_yaml);
	if (rc == 0)
		rc = put(ROOT_FILE, root);
	if (rc < 0)
		return rc;
	/* The URL is not repeated: it may carry a credential. */
	snprintf(c->why, sizeof(c->why), "argo-cd %s and argocd-apps %s HelmCharts in %s; "
		 "root application at path %s, revision %s", ARGOCD_CHART_VERSION,
		 APPS_CHART_VERSION, MANIFESTS,
		 *c->conf->argocd_path ? c->conf->argocd_path : DEFAULT_PATH,
		 *c->conf->argocd_revision ? c->conf->argocd_revision : DEFAULT_REVISION);
	return 0;
}
