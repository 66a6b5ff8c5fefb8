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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* infd: the command's stdin (-1: /dev/null); outfd: its stdout (-1: our
 * stderr); errfd: its stderr. */
static void child(const char *const argv[], int infd, int outfd, int errfd)
{
	const char *path = getenv("TPKIT_NODE_PATH");
	int null = infd >= 0 ? infd : open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* Tests put stub commands first in TPKIT_NODE_PATH; execvp searches
	 * PATH, so the override becomes PATH for the command as well. */
	if (path && *path)
		setenv("PATH", path, 1);
	if (null >= 0)
		dup2(null, 0);
	dup2(outfd >= 0 ? outfd : 2, 1);
	dup2(errfd, 2);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], (char *const *)argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Close both ends of up to three pipes (-1 entries skipped). */
static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int tp_node_run_io(const char *const argv[], const char *in, char *out, size_t outsize,
		   struct tp_run_result *res)
{
	/* fds: stderr read/write, stdin read/write, stdout read/write. */
	int fds[6] = { -1, -1, -1, -1, -1, -1 }, st;
	size_t len = 0, inlen = in ? strlen(in) : 0, outlen = 0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (out && outsize)
		out[0] = '\0';
	/* stdin is written whole before anything is read: it must fit the
	 * pipe's buffer (64 KiB on Linux; an sfdisk script is a few hundred
	 * bytes), or a command that writes before it reads could block us. */
	if (inlen > 60000)
		return tp_err_set(-E2BIG, "%s: %zu bytes of input is more than a pipe holds",
				  argv[0], inlen);
	if (pipe2(fds, O_CLOEXEC) < 0 || (in && pipe2(fds + 2, O_CLOEXEC) < 0) ||
	    (out && pipe2(fds + 4, O_CLOEXEC) < 0)) {
		int e = errno;

		close_all(fds, 6);
		return tp_err_set(-e, "%s: cannot make a pipe: %s", argv[0], strerror(e));
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close_all(fds, 6);
		return tp_err_set(-e, "%s: cannot fork: %s", argv[0], strerror(e));
	}
	if (pid == 0)
		child(argv, fds[2], fds[5], fds[1]);
	close(fds[1]);
	if (fds[2] >= 0)
		close(fds[2]);
	if (fds[5] >= 0)
		close(fds[5]);
	if (fds[3] >= 0) {
		/* A command that exits without reading gets EPIPE here (we
		 * ignore SIGPIPE's default only for this write): its exit
		 * code says what happened. */
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);
		size_t done = 0;

		while (done < inlen) {
			ssize_t w = write(fds[3], in + done, inlen - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			done += (size_t)w;
		}
		close(fds[3]);
		signal(SIGPIPE, old);
	}
	for (int open_fds = 1 + (fds[4] >= 0); open_fds;) {
		struct pollfd pf[2] = { { fds[0], POLLIN, 0 }, { fds[4], POLLIN, 0 } };
		char buf[1024];

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < 2; k++) {
			ssize_t r;

			if (pf[k].fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(pf[k].fd, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(pf[k].fd);
				fds[k ? 4 : 0] = -1;
				open_fds--;
				continue;
			}
			if (k == 0) {
				keep_tail(res->tail, &len, buf, (size_t)r);
			} else if (outlen + 1 < outsize) {
				size_t take = (size_t)r < outsize - 1 - outlen ? (size_t)r
									  : outsize - 1 - outlen;

				memcpy(out + outlen, buf, take);
				outlen += take;
				out[outlen] = '\0';
			}
		}
	}
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

int tp_node_run(const char *const argv[], struct tp_run_result *res)
{
	return tp_node_run_io(argv, NULL, NULL, 0, res);
}

int tp_node_run_ok(const char *const argv[])
{
	return tp_node_run_ok_in(argv, NULL);
}

int tp_node_run_ok_in(const char *const argv[], const char *in)
{
	struct tp_run_result res;
	char cmd[256];
	size_t len = 0;
	int rc = tp_node_run_io(argv, in, NULL, 0, &res);

	if (rc < 0)
		return rc;
	if (res.status == 0)
		return 0;
	cmd[0] = '\0';
	for (size_t i = 0; argv[i] && len < sizeof(cmd); i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, "%s%s", i ? " " : "", argv[i]);
	if (res.status == 127 && strstr(res.tail, "cannot run"))
		return tp_err_set(-ENOENT, "%s: %s", cmd, res.tail);
	return tp_err_set(-EIO, "%s: exit %d%s%s", cmd, res.status, *res.tail ? ": " : "",
			  res.tail);
}
