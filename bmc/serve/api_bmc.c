// SPDX-License-Identifier: MIT
/*
 * What the API does to the BMC itself (serve.md section 5): its network
 * restarted, a reboot, the daemon reloaded, the SD card's space. The
 * actions answer "ok" first and act a second later, from a process of
 * their own, as bmcd does: the client gets its answer before the network,
 * the BMC or the server goes away. The programs are the BMC's own (BusyBox
 * ifdown/ifup and reboot, the init script), found under TPKIT_ROOT, so a
 * test's fake root records what would have run.
 */
#include "serve.h"
#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/path.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* The BMC's SD card, where bmcd looks (serve.md section 5). */
#define SDCARD "/mnt/sdcard"

/* bmcd's delay before acting: the answer goes out first. */
#define ACT_DELAY_S 1

/* Up to three commands, each a program and its arguments (paths under
 * the root), run one after the other while each succeeds. */
struct action {
	const char *what;          /* "restart the network" */
	const char *argv[3][4];
};

static const struct action network = {
	"restart the network", { { "/sbin/ifdown", "br0", NULL }, { "/sbin/ifup", "br0", NULL } }
};
static const struct action reboot = { "reboot the BMC", { { "/sbin/reboot", NULL } } };
static const struct action reload = {
	"restart tpkit serve", { { "/etc/init.d/S94tpkit-serve", "restart", NULL } }
};

/* Run a's commands in the background, detached (setsid: a restart of
 * this server must not take them down with it), after ACT_DELAY_S. The
 * paths are checked first, so a BMC without them is a clear 500 now
 * rather than a silent nothing later. */
static int act(struct tp_req *r, const struct action *a)
{
	char path[3][TP_PATH_MAX];
	pid_t pid;

	for (int i = 0; i < 3 && a->argv[i][0]; i++)
		if (tp_path(path[i], sizeof(path[i]), "%s", a->argv[i][0]) < 0 ||
		    access(path[i], X_OK) < 0)
			return tp_env_error(r, 500, "Failed to %s: %s is not there to run it",
					    a->what, a->argv[i][0]);
	/* Twice forked: the grandchild is nobody's to wait for, so no
	 * zombie stays behind in a server that runs for months. */
	if ((pid = fork()) < 0)
		return tp_env_error(r, 500, "Failed to %s: fork: %s", a->what, strerror(errno));
	if (pid == 0) {
		if (setsid() < 0 || fork() != 0)
			_exit(0);
		int nul = open("/dev/null", O_RDWR);
		long max = sysconf(_SC_OPEN_MAX);

		if (nul >= 0) {
			dup2(nul, STDIN_FILENO);
			dup2(nul, STDOUT_FILENO);
		}
		/* The server's sockets must not outlive it here: a restarted
		 * server could not bind its ports while a child held them. */
		for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			close(fd);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		sleep(ACT_DELAY_S);
		for (int i = 0; i < 3 && a->argv[i][0]; i++) {
			char *argv[4] = { path[i] };
			int st;
			pid_t c;

			for (int k = 1; k < 4 && a->argv[i][k]; k++)
				argv[k] = (char *)a->argv[i][k];
			if ((c = fork()) == 0) {
				execv(path[i], argv);
				_exit(127);
			}
			if (c < 0 || waitpid(c, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
				_exit(1);
		}
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	tp_log(TP_LOG_INFO, "%s, as %s asked", a->what, r->peer);
	return tp_env_ok(r);
}

int tp_api_network_set(struct tp_req *r)
{
	/* tpi sends cmd=reset; bmcd ignores it, and so do we. */
	return act(r, &network);
}

int tp_api_reboot_set(struct tp_req *r)
{
	/* bmcd's fel writes a magic word to physical memory through
	 * /dev/mem; tpkit will not poke the SoC's registers. */
	if (tp_query_get(&r->q, "fel"))
		return tp_env_error(r, 501, "rebooting the BMC into FEL mode is not supported by "
				    "tpkit serve: hold the FEL button while powering it instead");
	return act(r, &reboot);
}

int tp_api_reload_set(struct tp_req *r)
{
	return act(r, &reload);
}

/* [{"total":BYTES,"use":BYTES,"free":BYTES}] of the card's filesystem. */
int tp_api_sdcard_get(struct tp_req *r)
{
	char path[TP_PATH_MAX];
	struct statvfs sv;
	struct tp_env e;
	uint64_t total, avail;

	if (tp_path(path, sizeof(path), SDCARD) < 0 || statvfs(path, &sv) < 0)
		return tp_env_error(r, 400, "Failed to get microSD card info: %s: %s", SDCARD,
				    strerror(errno ? errno : ENAMETOOLONG));
	total = (uint64_t)sv.f_blocks * sv.f_frsize;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (tp_env_begin(&e) < 0)
		return tp_env_error(r, 500, "out of memory");
	tp_json_arr_begin(e.json, "result");
	tp_json_obj_begin(e.json, NULL);
	tp_json_uint(e.json, "total", total);
	tp_json_uint(e.json, "use", total - (uint64_t)sv.f_bfree * sv.f_frsize);
	tp_json_uint(e.json, "free", avail);
	tp_json_obj_end(e.json);
	tp_json_arr_end(e.json);
	return tp_env_send(r, &e, 200);
}

int tp_api_sdcard_set(struct tp_req *r)
{
	/* bmcd's own answer: it never formats the card either. */
	return tp_env_error(r, 501, "microSD card formatting is not implemented");
}
