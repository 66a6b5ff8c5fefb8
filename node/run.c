// SPDX-License-Identifier: MIT
/*
 * External commands (systemctl, cloud-init, later sgdisk, rsync, k3s's
 * install.sh): fork and execvp, never a shell, so no value from node.conf
 * is ever parsed as shell text. The command's stderr is kept (its last
 * lines) to say why it failed; its stdout goes to our stderr, which systemd
 * puts in the node's journal.
 */
#define _GNU_SOURCE
#include "node.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* Keep the last TP_RUN_TAIL-1 bytes of what the command wrote, then trim to
 * whole lines and fold line breaks, so the reason fits one report line. */
static void keep_tail(char *tail, size_t *len, const char *buf, size_t n)
{
	const size_t cap = TP_RUN_TAIL - 1;

	if (n >= cap) {
		memcpy(tail, buf + n - cap, cap);
		*len = cap;
	} else {
		if (*len + n > cap) {
			size_t drop = *len + n - cap;

			memmove(tail, tail + drop, *len - drop);
			*len -= drop;
		}
		memcpy(tail + *len, buf, n);
		*len += n;
	}
	tail[*len] = '\0';
}

static void fold(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = *p == '\n' ? '|' : ' ';
}

static void child(const char *const argv[], const char *const env[], int infd, int outfd,
		  int errfd)
{
	const char *path = getenv("TPKIT_NODE_PATH");
	int null = infd >= 0 ? infd : open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* Tests put stub commands first in TPKIT_NODE_PATH; execvp searches
	 * PATH, so the override becomes PATH for the command as well. */
	if (path && *path)
		setenv("PATH", path, 1);
	/* Added in the child only: the helper's own environment stays as
	 * systemd gave it. */
	for (size_t i = 0; env && env[i]; i++)
		putenv((char *)env[i]);
	if (null >= 0)
		dup2(null, 0);
	dup2(outfd >= 0 ? outfd : 2, 1);
	dup2(errfd, 2);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], (char *const *)argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int tp_node_run(const char *const argv[], struct tp_run_result *res)
{
	return tp_node_run_env(argv, NULL, res);
}

static int run(const char *const argv[], const char *const env[], int infd, int outfd,
	       struct tp_run_result *res)
{
	int p[2], st;
	size_t len = 0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(p, O_CLOEXEC) < 0)
		return tp_err_set(-errno, "%s: cannot make a pipe: %s", argv[0], strerror(errno));
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return tp_err_set(-e, "%s: cannot fork: %s", argv[0], strerror(e));
	}
	if (pid == 0)
		child(argv, env, infd, outfd, p[1]);
	close(p[1]);
	for (;;) {
		char buf[1024];
		ssize_t r = read(p[0], buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		keep_tail(res->tail, &len, buf, (size_t)r);
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return tp_err_set(-errno, "%s: cannot wait: %s", argv[0], strerror(errno));
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	/* Only whole lines: drop a partial first line of a cut tail. */
	if (len == TP_RUN_TAIL - 1) {
		char *nl = strchr(res->tail, '\n');

		if (nl && nl[1])
			memmove(res->tail, nl + 1, strlen(nl + 1) + 1);
	}
	fold(res->tail);
	return 0;
}

int tp_node_run_env(const char *const argv[], const char *const env[], struct tp_run_result *res)
{
	return run(argv, env, -1, -1, res);
}

int tp_node_run_out(const char *const argv[], char *out, size_t size, struct tp_run_result *res)
{
	/* An anonymous file, not a pipe: one reader is enough (stderr's), and
	 * a command that writes more than a pipe holds cannot block on it. */
	int fd = memfd_create("tpkit-node-out", MFD_CLOEXEC);
	ssize_t n;
	int rc;

	out[0] = '\0';
	if (fd < 0)
		return tp_err_set(-errno, "%s: cannot make a file for its output: %s", argv[0],
				  strerror(errno));
	rc = run(argv, NULL, -1, fd, res);
	if (rc == 0) {
		n = pread(fd, out, size - 1, 0);
		out[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	return rc;
}

int tp_node_run_in(const char *const argv[], const char *in, struct tp_run_result *res)
{
	/* The text in an anonymous file, read from its start: no pipe to
	 * fill, so no size limit and no writer to block (sfdisk's script). */
	int fd = memfd_create("tpkit-node-in", MFD_CLOEXEC);
	size_t len = strlen(in), done = 0;
	int rc;

	if (fd < 0)
		return tp_err_set(-errno, "%s: cannot make a file for its input: %s", argv[0],
				  strerror(errno));
	while (done < len) {
		ssize_t w = write(fd, in + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = tp_err_set(-errno, "%s: cannot write its input: %s", argv[0],
					strerror(errno));
			close(fd);
			return rc;
		}
		done += (size_t)w;
	}
	lseek(fd, 0, SEEK_SET);
	rc = run(argv, NULL, fd, -1, res);
	close(fd);
	return rc;
}

int tp_node_run_ok(const char *const argv[])
{
	return tp_node_run_ok_env(argv, NULL);
}

/* Exit code 0, else the command, its exit code and stderr as the error. */
static int want_ok(const char *const argv[], int rc, const struct tp_run_result *r)
{
	char cmd[256];
	size_t len = 0;

	if (rc < 0)
		return rc;
	if (r->status == 0)
		return 0;
	cmd[0] = '\0';
	for (size_t i = 0; argv[i] && len < sizeof(cmd); i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, "%s%s", i ? " " : "", argv[i]);
	if (r->status == 127 && strstr(r->tail, "cannot run"))
		return tp_err_set(-ENOENT, "%s: %s", cmd, r->tail);
	return tp_err_set(-EIO, "%s: exit %d%s%s", cmd, r->status, *r->tail ? ": " : "",
			  r->tail);
}

int tp_node_run_ok_in(const char *const argv[], const char *in)
{
	struct tp_run_result res;
	int rc = tp_node_run_in(argv, in, &res);

	return want_ok(argv, rc, &res);
}

int tp_node_run_ok_env(const char *const argv[], const char *const env[])
{
	struct tp_run_result res;
	int rc = tp_node_run_env(argv, env, &res);

	return want_ok(argv, rc, &res);
}
