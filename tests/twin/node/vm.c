// SPDX-License-Identifier: MIT
/*
 * Node VMs (docs/twin.md, "Nodes that boot"): with --node-vm, a module
 * that boots from its disks runs what its boot loader finds under QEMU,
 * one process per slot: x86-64 under TCG, the slot's eMMC file as an SD/MMC
 * card (/dev/mmcblk0), the RK1's NVMe file when there is one
 * (/dev/nvme0n1), a virtio NIC on the board's switch (switch.c), and its
 * ttyS0 on the slot's console (console.c).
 *
 * Power-off stops the VM (SIGTERM, then SIGKILL if it lingers) and reaps
 * it before the slot can power on again, as QEMU locks its disk files. A
 * VM never outlives the twin: the twin stops them all on every way out of
 * main(), and each QEMU gets SIGKILL if the twin dies first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "node.h"
#include "../twin_usb.h"

#define TWIN_NODE_TERM_MS	5000	/* SIGTERM to SIGKILL */
#define TWIN_NODE_NVME_TIMEOUT_S 600	/* guest NVMe timeouts: docs/twin.md */

static const char *const twin_node_scratch_files[] = {
	"kernel", "initrd", "extlinux.conf", "config.txt", "cmdline.txt",
};

int twin_node_init(struct twin *t)
{
	int rc = 0;

	if (!t->opt.node_vm)
		return 0;
	t->nodes = g_new0(struct twin_nodes, 1);
	t->nodes->sw_in = -1;
	for (unsigned n = 1; n <= TWIN_SLOTS; n++) {
		struct twin_node *nd = &t->nodes->slot[n];

		nd->log_fd = nd->pty = nd->pty_slave = -1;
		nd->to_node = nd->from_node = nd->pidfd = -1;
	}
	/* A write to a VM that just exited must not kill the twin. */
	signal(SIGPIPE, SIG_IGN);
	for (unsigned n = 1; !rc && n <= TWIN_SLOTS; n++)
		if (t->opt.module[n] != TWIN_MOD_EMPTY)
			rc = twin_console_open(t, n);
	if (!rc)
		rc = twin_switch_start(t);
	return rc;
}

static void twin_node_event(struct twin *t, unsigned slot, bool on,
			    const char *note)
{
	char subject[16];

	snprintf(subject, sizeof(subject), "slot%u", slot);
	twin_timeline_add(t, "vm", subject, on ? "off" : "on", on ? "on" : "off",
			  note);
}

/* Keep the console's last bytes: how the guest ended is in them. */
static void twin_node_tail(struct twin_node *nd, const char *buf, size_t n)
{
	size_t keep = sizeof(nd->tail) - 1;

	if (n >= keep) {
		memcpy(nd->tail, buf + n - keep, keep);
		nd->tail_len = keep;
	} else {
		size_t old = nd->tail_len + n > keep ? keep - n : nd->tail_len;

		memmove(nd->tail, nd->tail + nd->tail_len - old, old);
		memcpy(nd->tail + old, buf, n);
		nd->tail_len = old + n;
	}
	nd->tail[nd->tail_len] = '\0';
}

/* Whatever QEMU's stdout holds now goes to the console; false at EOF. */
static bool twin_node_drain(struct twin *t, unsigned slot)
{
	struct twin_node *nd = &t->nodes->slot[slot];
	char buf[8192];

	for (;;) {
		ssize_t n = read(nd->from_node, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			twin_console_write(t, slot, buf, (size_t)n);
			twin_node_tail(nd, buf, (size_t)n);
			continue;
		}
		return n < 0 && errno == EAGAIN;
	}
}

static void twin_node_scratch_clear(struct twin_node *nd);

struct twin_node_ref {
	struct twin *t;
	unsigned slot;
};

static struct twin_node_ref *twin_node_ref(struct twin *t, unsigned slot)
{
	struct twin_node_ref *r = g_new(struct twin_node_ref, 1);

	r->t = t;
	r->slot = slot;
	return r;
}

static gboolean twin_node_output(gint fd, GIOCondition cond, gpointer data)
{
	struct twin_node_ref *r = data;
	struct twin_node *nd = &r->t->nodes->slot[r->slot];

	(void)fd;
	(void)cond;
	if (twin_node_drain(r->t, r->slot))
		return G_SOURCE_CONTINUE;
	nd->from_src = 0;
	return G_SOURCE_REMOVE;
}

/* The VM is gone (reaped, STATUS): close its pipes, forget it. */
static void twin_node_forget(struct twin *t, unsigned slot, int status,
			     const char *why)
{
	struct twin_node *nd = &t->nodes->slot[slot];
	char note[64];

	if (nd->from_node >= 0)
		twin_node_drain(t, slot);	/* the last words */
	if (nd->from_src)
		g_source_remove(nd->from_src);
	if (nd->pid_src)
		g_source_remove(nd->pid_src);
	nd->from_src = nd->pid_src = 0;
	twin_console_attach(t, slot, -1);
	if (nd->to_node >= 0)
		close(nd->to_node);
	if (nd->from_node >= 0)
		close(nd->from_node);
	if (nd->pidfd >= 0)
		close(nd->pidfd);
	nd->to_node = nd->from_node = nd->pidfd = -1;
	nd->pid = 0;
	if (WIFEXITED(status))
		snprintf(note, sizeof(note), "%s, exit %d", why, WEXITSTATUS(status));
	else
		snprintf(note, sizeof(note), "%s, signal %d", why,
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	twin_node_event(t, slot, false, note);
	twin_node_scratch_clear(nd);
}

/* The extracted files go with the VM that used them. */
static void twin_node_scratch_clear(struct twin_node *nd)
{
	for (size_t i = 0; nd->scratch && i < G_N_ELEMENTS(twin_node_scratch_files); i++) {
		char *p = g_build_filename(nd->scratch, twin_node_scratch_files[i], NULL);

		unlink(p);
		g_free(p);
	}
	if (nd->scratch)
		rmdir(nd->scratch);
	g_free(nd->scratch);
	nd->scratch = NULL;
}

/*
 * QEMU ended by itself: the guest powered off or rebooted (-no-reboot makes
 * both end QEMU). A real module that reboots runs its boot loader again,
 * which may now find another disk (the RK1's NVMe after a migration), so a
 * reboot is a new boot scan and a new VM. Linux says which it was on the
 * console as its last words (kernel/reboot.c: "reboot: Restarting system"
 * or "reboot: Power down"); a node that only powered off stays off.
 */
static gboolean twin_node_exited(gint fd, GIOCondition cond, gpointer data)
{
	struct twin_node_ref *r = data;
	struct twin_node *nd = &r->t->nodes->slot[r->slot];
	int status = 0;
	bool reboot;

	(void)fd;
	(void)cond;
	if (waitpid(nd->pid, &status, WNOHANG) != nd->pid)
		return G_SOURCE_CONTINUE;
	nd->pid_src = 0;	/* removed by returning */
	if (nd->from_node >= 0)
		twin_node_drain(r->t, r->slot);	/* the last words */
	reboot = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		 strstr(nd->tail, "reboot: Restarting system");
	twin_node_forget(r->t, r->slot, status, reboot ? "guest reboot" : "qemu ended");
	/* An RK1's ROM looks at its eMMC first (twin_rk3588_boot.c); a CM4's
	 * EEPROM boot loader goes straight to its scan. */
	if (reboot && r->t->opt.module[r->slot] == TWIN_MOD_RK1)
		twin_rk3588_reboot(r->t, r->slot);
	else if (reboot)
		twin_node_boot(r->t, r->slot);
	return G_SOURCE_REMOVE;
}

static void twin_node_stop(struct twin *t, unsigned slot, const char *why)
{
	struct twin_node *nd;
	struct pollfd p;
	int status = 0;

	if (!t->nodes || !t->nodes->slot[slot].pid)
		return;
	nd = &t->nodes->slot[slot];
	p.fd = nd->pidfd;
	p.events = POLLIN;
	kill(nd->pid, SIGTERM);
	/* The pidfd becomes readable when QEMU exits: no polling loop. */
	while (poll(&p, 1, TWIN_NODE_TERM_MS) < 0 && errno == EINTR)
		;
	if (!(p.revents & POLLIN))
		kill(nd->pid, SIGKILL);
	while (waitpid(nd->pid, &status, 0) < 0 && errno == EINTR)
		;
	twin_node_forget(t, slot, status, why);
}

void twin_node_power_off(struct twin *t, unsigned slot)
{
	twin_node_stop(t, slot, "power off");
}

static void twin_node_child_setup(gpointer data)
{
	(void)data;
	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive the twin */
}

/* A file in a QEMU option: absolute, its commas doubled (QEMU's escape). */
static char *twin_node_qpath(const char *path)
{
	char *abs = g_canonicalize_filename(path, NULL);
	char **parts = g_strsplit(abs, ",", -1);
	char *q = g_strjoinv(",,", parts);

	g_strfreev(parts);
	g_free(abs);
	return q;
}

/* A stable MAC per slot (locally administered, 52:54:00 is QEMU's). */
static char *twin_node_argv_net(struct twin *t, unsigned slot, GPtrArray *a)
{
	char *sock = twin_node_qpath(t->nodes->sw_dir);

	g_ptr_array_add(a, g_strdup("-netdev"));
	g_ptr_array_add(a, g_strdup_printf("vde,id=net0,sock=%s", sock));
	g_free(sock);
	g_ptr_array_add(a, g_strdup("-device"));
	return g_strdup_printf("virtio-net-pci,netdev=net0,mac=52:54:00:74:70:%02x", slot);
}

static GPtrArray *twin_node_argv(struct twin *t, unsigned slot,
				 const struct twin_boot *b, const char *nvme)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	char *emmc = twin_node_qpath(t->emmc_path[slot]);
	char *nv = nvme ? twin_node_qpath(nvme) : NULL;
	static const char *const fixed[] = {
		/* The monitor stays off stdio, so no byte of the console
		 * is taken for a QEMU escape (-nographic would mux it). */
		"-nodefaults", "-no-user-config", "-display", "none",
		"-accel", "tcg", "-m", "1024", "-smp", "1", "-no-reboot",
		"-serial", "stdio", "-monitor", "none",
		"-device", "sdhci-pci", "-device", "sd-card,drive=emmc",
	};

	g_ptr_array_add(a, g_strdup(t->opt.qemu));
	for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
		g_ptr_array_add(a, g_strdup(fixed[i]));
	/*
	 * cache=unsafe: the guest's flushes are not passed on as fsync() of
	 * the disk file. Under TCG on a busy host an fsync of a file the
	 * guest just filled (a root copied to the NVMe) outlasts the guest
	 * kernel's 30 s NVMe I/O timeout, and the guest aborts the writes.
	 * What a power cut does is unchanged: QEMU has no cache of its own for
	 * a raw file, so what the guest wrote is in the host's page cache when
	 * the twin kills QEMU, exactly as a write that reached a real drive.
	 */
	g_ptr_array_add(a, g_strdup("-drive"));
	g_ptr_array_add(a, g_strdup_printf("if=none,id=emmc,format=raw,cache=unsafe,file=%s", emmc));
	if (nvme) {
		g_ptr_array_add(a, g_strdup("-drive"));
		g_ptr_array_add(a, g_strdup_printf("if=none,id=nvme,format=raw,cache=unsafe,file=%s", nv));
		g_ptr_array_add(a, g_strdup("-device"));
		g_ptr_array_add(a, g_strdup_printf("nvme,serial=tpkit-slot%u,drive=nvme", slot));
	}
	g_ptr_array_add(a, twin_node_argv_net(t, slot, a));
	g_ptr_array_add(a, g_strdup("-kernel"));
	g_ptr_array_add(a, g_strdup(b->kernel));
	if (b->initrd) {
		g_ptr_array_add(a, g_strdup("-initrd"));
		g_ptr_array_add(a, g_strdup(b->initrd));
	}
	g_ptr_array_add(a, g_strdup("-append"));
	/*
	 * A real NVMe answers in milliseconds; QEMU's, under TCG on a busy
	 * host, has taken longer than the guest's 30 s I/O and 60 s admin
	 * timeouts, and the guest then drops the drive ("Removing after
	 * probe failure") and boots without its root. The loader adds what
	 * the module's own command line does not need, after it, so the
	 * node's `root=` and everything tpkit reads are the image's.
	 */
	if (nvme)
		g_ptr_array_add(a, g_strdup_printf("%s nvme_core.io_timeout=%u nvme_core.admin_timeout=%u",
						   b->append, TWIN_NODE_NVME_TIMEOUT_S,
						   TWIN_NODE_NVME_TIMEOUT_S));
	else
		g_ptr_array_add(a, g_strdup(b->append));
	g_ptr_array_add(a, NULL);
	g_free(emmc);
	g_free(nv);
	return a;
}

static int twin_node_spawn(struct twin *t, unsigned slot,
			   const struct twin_boot *b, const char *nvme)
{
	struct twin_node *nd = &t->nodes->slot[slot];
	GPtrArray *argv = twin_node_argv(t, slot, b, nvme);
	char name[32];
	char *errlog, **env;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, efd, rc = 0;
	GError *err = NULL;

	snprintf(name, sizeof(name), "console/slot%u.qemu.log", slot);
	errlog = g_build_filename(t->root, name, NULL);
	efd = open(errlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (efd < 0 || !g_unix_open_pipe(in, FD_CLOEXEC, NULL) ||
	    !g_unix_open_pipe(out, FD_CLOEXEC, NULL)) {
		rc = -errno;
		fprintf(stderr, "tp-twin: node VM of slot %u: %s\n", slot, g_strerror(errno));
		goto out;
	}
	env = twin_usb_tool_env();
	if (!g_spawn_async_with_pipes_and_fds(NULL, (const char *const *)argv->pdata,
					      (const char *const *)env, G_SPAWN_SEARCH_PATH |
					      G_SPAWN_DO_NOT_REAP_CHILD,
					      twin_node_child_setup, NULL,
					      in[0], out[1], efd, NULL, NULL, 0,
					      &nd->pid, NULL, NULL, NULL, &err)) {
		g_strfreev(env);
		fprintf(stderr, "tp-twin: cannot run %s: %s\n", t->opt.qemu, err->message);
		g_error_free(err);
		nd->pid = 0;
		rc = -ENOEXEC;
		goto out;
	}
	g_strfreev(env);
	nd->pidfd = (int)syscall(SYS_pidfd_open, nd->pid, 0);
	if (nd->pidfd < 0) {
		rc = -errno;
		kill(nd->pid, SIGKILL);
		waitpid(nd->pid, NULL, 0);
		nd->pid = 0;
		fprintf(stderr, "tp-twin: pidfd_open: %s\n", g_strerror(-rc));
		goto out;
	}
	nd->to_node = in[1];
	nd->from_node = out[0];
	nd->tail_len = 0;
	nd->tail[0] = '\0';
	in[1] = out[0] = -1;
	g_unix_set_fd_nonblocking(nd->to_node, TRUE, NULL);
	g_unix_set_fd_nonblocking(nd->from_node, TRUE, NULL);
	twin_console_attach(t, slot, nd->to_node);
	nd->from_src = g_unix_fd_add_full(G_PRIORITY_DEFAULT, nd->from_node, G_IO_IN | G_IO_HUP,
					  twin_node_output, twin_node_ref(t, slot), g_free);
	nd->pid_src = g_unix_fd_add_full(G_PRIORITY_LOW, nd->pidfd, G_IO_IN,
					 twin_node_exited, twin_node_ref(t, slot), g_free);
	twin_node_event(t, slot, true, nvme ? "qemu, emmc + nvme" : "qemu, emmc");
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (efd >= 0)
		close(efd);
	g_free(errlog);
	g_ptr_array_free(argv, TRUE);
	return rc;
}

/* <--nvme-dir>/slotN.nvme when it exists: the RK1's M.2 drive. */
static char *twin_node_nvme(struct twin *t, unsigned slot)
{
	char name[16];
	char *p;

	if (!t->opt.nvme_dir || t->opt.module[slot] != TWIN_MOD_RK1)
		return NULL;
	snprintf(name, sizeof(name), "slot%u.nvme", slot);
	p = g_build_filename(t->opt.nvme_dir, name, NULL);
	if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
		return p;
	g_free(p);
	return NULL;
}

/*
 * The module left its boot ROM for its disks: the boot loader's scan, its
 * verdict on the console and as a `boot` event, then the VM. 0 when a
 * kernel runs, else -ENOENT (no bootable device) or another -errno.
 */
int twin_node_boot(struct twin *t, unsigned slot)
{
	struct twin_node *nd = &t->nodes->slot[slot];
	bool cm4 = t->opt.module[slot] == TWIN_MOD_CM4;
	char *nvme = twin_node_nvme(t, slot);
	const char *devs[] = { nvme, t->emmc_path[slot], NULL };
	const char *names[] = { "nvme", "emmc", NULL };
	char subject[16], rel[32];
	struct twin_boot b;
	char *text;
	int rc;

	twin_node_power_off(t, slot);	/* a reset: the old VM goes first */
	snprintf(rel, sizeof(rel), "node/slot%u", slot);
	nd->scratch = g_build_filename(t->root, rel, NULL);
	if (g_mkdir_with_parents(nd->scratch, 0755)) {
		rc = -errno;
		fprintf(stderr, "tp-twin: %s: %s\n", nd->scratch, g_strerror(errno));
		g_free(nvme);
		return rc;
	}
	rc = cm4 ? twin_rpi_scan(t->emmc_path[slot], nd->scratch, &b) :
		   twin_uboot_scan(devs, names, nd->scratch, &b);
	snprintf(subject, sizeof(subject), "slot%u", slot);
	twin_timeline_add(t, "boot", subject, rc ? (cm4 ? "emmc" : "scan") : b.dev,
			  rc ? "fail" : "ok", b.note);
	text = g_strdup_printf(cm4 ?
		"\nRPi: BOOTLOADER (tp-twin node VM, CM4)\nBoot mode: EMMC\n%s\n%s" :
		"\nU-Boot (tp-twin node VM, RK1)\nScanning: nvme emmc\n%s\n%s",
		b.note, rc ? (cm4 ? "Boot mode: RESTART (0f)\n" :
			      "## Boot failed: no bootable device\n=> ") :
		"Starting kernel ...\n\n");
	twin_console_write(t, slot, text, strlen(text));
	g_free(text);
	if (!rc)
		rc = twin_node_spawn(t, slot, &b, nvme);
	if (rc)
		twin_node_scratch_clear(nd);
	twin_boot_clear(&b);
	g_free(nvme);
	return rc;
}

void twin_node_stop_all(struct twin *t)
{
	if (!t->nodes)
		return;
	for (unsigned n = 1; n <= TWIN_SLOTS; n++) {
		twin_node_stop(t, n, "twin exit");
		twin_console_close(t, n);
	}
	if (t->nodes->sw_pid)
		twin_switch_stop(t);
	g_free(t->nodes);
	t->nodes = NULL;
}
