// SPDX-License-Identifier: MIT
/*
 * The processes around the simulated USB: umockdev's preload in the twin
 * itself (a re-exec when it is missing, toolchain.md §7.2a), the command's
 * environment (the preload, the testbed and the twin's I/O counter, as
 * umockdev-wrapper would set them) and the environment of the tools the
 * twin runs, which must not get the preload, with the helpers those
 * spawns share. Apart from twin_usb.c, which puts the devices on the bus:
 * this is LD_PRELOAD order and exec, and touches no device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <umockdev.h>

#include "twin_usb.h"

/*
 * The I/O counter the command gets preloaded (libtp-twin-io.so, beside
 * tp-twin): a shared file of per-slot byte counts, and which files are the
 * nodes' eMMCs (a CM4's payload and an RK1's loader both make one a disk,
 * twin_msd.c). Returns the library's path, or NULL after saying why.
 */
static char *twin_usb_io_setup(struct twin *t, char ***env)
{
	char *exe = g_file_read_link("/proc/self/exe", NULL);
	char *dir = exe ? g_path_get_dirname(exe) : NULL;
	char *lib = dir ? g_build_filename(dir, "libtp-twin-io.so", NULL) : NULL;
	char *tb = umockdev_testbed_get_root_dir(t->usb->testbed);	/* gone with it */
	char *file = g_build_filename(tb, "tp-twin-io", NULL);
	size_t size = sizeof(uint64_t) * 2 * (TWIN_SLOTS + 1);
	GString *disks = g_string_new(NULL);
	int fd = -1;

	if (!lib || access(lib, R_OK)) {
		fprintf(stderr, "tp-twin: no %s (make tests builds it)\n", lib ? lib : "libtp-twin-io.so");
		g_clear_pointer(&lib, g_free);
		goto out;
	}
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size) ||
	    (t->usb->io = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		fprintf(stderr, "tp-twin: %s: %s\n", file, g_strerror(errno));
		t->usb->io = NULL;
		g_clear_pointer(&lib, g_free);
		goto out;
	}
	for (unsigned n = 1; n <= TWIN_SLOTS; n++) {
		struct stat st;

		if (t->opt.module[n] != TWIN_MOD_EMPTY && !fstat(t->emmc_fd[n], &st))
			g_string_append_printf(disks, "%s%u:%llu:%llu", disks->len ? " " : "", n,
					       (unsigned long long)st.st_dev,
					       (unsigned long long)st.st_ino);
	}
	*env = g_environ_setenv(*env, "TP_TWIN_IO", file, TRUE);
	*env = g_environ_setenv(*env, "TP_TWIN_DISKS", disks->str, TRUE);
out:
	if (fd >= 0)
		close(fd);
	g_string_free(disks, TRUE);
	g_free(file);
	g_free(tb);
	g_free(dir);
	g_free(exe);
	return lib;
}

/* The environment for the tools the twin runs itself (mcopy, QEMU,
 * vde_switch): its own as it was started, without the preload it
 * re-executed with (twin_usb_preload_ensure) — umockdev's, and in an ASan
 * build the ASan runtime, whose leak check fails an uninstrumented tool. */
char **twin_usb_tool_env(void)
{
	char **env = g_get_environ();
	const char *orig = g_environ_getenv(env, "TP_TWIN_ORIG_LD_PRELOAD");

	if (orig && *orig)
		env = g_environ_setenv(env, "LD_PRELOAD", orig, TRUE);
	else if (orig)
		env = g_environ_unsetenv(env, "LD_PRELOAD");
	env = g_environ_unsetenv(env, "TP_TWIN_ORIG_LD_PRELOAD");
	return g_environ_unsetenv(env, "TP_TWIN_REEXEC");
}

/*
 * /dev/null for a tool's stdin or stdout, opened by the twin itself.
 * Between fork and exec the child runs the twin's libraries, umockdev's
 * preload among them, and a child of a multi-threaded process may find a
 * lock taken for ever by a thread that does not exist in it: umockdev's
 * open() wrapper takes such a lock (its path-trap mutex), and GLib opens
 * /dev/null in the child when told G_SPAWN_STDOUT_TO_DEV_NULL. A vde_switch
 * spawned so hung the twin in the child, before exec. So the twin's spawns
 * give every descriptor from the parent and the child opens nothing.
 */
int twin_devnull(void)
{
	return open("/dev/null", O_RDWR | O_CLOEXEC);
}

/* Read fd to its end (a tool's stderr): a NUL-terminated string. */
char *twin_read_all(int fd)
{
	GString *s = g_string_new(NULL);
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		g_string_append_len(s, buf, n);
	}
	return g_string_free(s, FALSE);
}

/* The command's environment: the preload and the testbed, as
 * umockdev-wrapper would set them (toolchain.md §7.1, §7.4), and the twin's
 * own I/O counter. */
char **twin_usb_child_env(struct twin *t, char **env)
{
	const char *orig = g_environ_getenv(env, "TP_TWIN_ORIG_LD_PRELOAD");
	const char *asan = g_environ_getenv(env, "ASAN_OPTIONS");
	char *root = umockdev_testbed_get_root_dir(t->usb->testbed);
	char *io = twin_usb_io_setup(t, &env);
	/* The counter first: umockdev's wrappers call libc directly, so only
	 * a library before them sees the program's own calls. */
	char *pre = g_strconcat(io ? io : "", io ? " " : "", "libumockdev-preload.so.0",
				orig && *orig ? " " : "", orig ? orig : "", NULL);
	/* An ASan-built command must accept the preload coming first. */
	char *ao = g_strconcat(asan && *asan ? asan : "", asan && *asan ? ":" : "",
			       "verify_asan_link_order=0", NULL);

	env = g_environ_setenv(env, "LD_PRELOAD", pre, TRUE);
	env = g_environ_setenv(env, "UMOCKDEV_DIR", root, TRUE);
	env = g_environ_setenv(env, "ASAN_OPTIONS", ao, TRUE);
	env = g_environ_unsetenv(env, "TP_TWIN_ORIG_LD_PRELOAD");
	env = g_environ_unsetenv(env, "TP_TWIN_REEXEC");
	g_free(root);
	g_free(pre);
	g_free(io);
	g_free(ao);
	return env;
}

struct twin_usb_find {
	const char *needle;
	char *path;
};

static int twin_usb_find_lib(struct dl_phdr_info *info, size_t size, void *data)
{
	struct twin_usb_find *f = data;

	(void)size;
	if (info->dlpi_name && strstr(info->dlpi_name, f->needle)) {
		f->path = g_strdup(info->dlpi_name);
		return 1;
	}
	return 0;
}

static char *twin_usb_loaded(const char *needle)
{
	struct twin_usb_find f = { .needle = needle };

	dl_iterate_phdr(twin_usb_find_lib, &f);
	return f.path;
}

/*
 * umockdev_testbed_uevent() needs the preload in the twin itself
 * (toolchain.md §7.2a): re-execute with it when it is missing. An ASan
 * build must keep its runtime first in the list (§7.4). The user's own
 * LD_PRELOAD is remembered for the command.
 */
int twin_usb_preload_ensure(int argc, char **argv)
{
	char *have = twin_usb_loaded("libumockdev-preload");
	const char *cur = getenv("LD_PRELOAD");
	char *asan = NULL, *pre;

	(void)argc;
	if (have) {
		g_free(have);
		return 0;
	}
	if (getenv("TP_TWIN_REEXEC")) {
		fprintf(stderr, "tp-twin: libumockdev-preload.so.0 did not load (is umockdev installed?)\n");
		return -ENOENT;
	}
#if defined(__SANITIZE_ADDRESS__)
	asan = twin_usb_loaded("libasan.so");
#endif
	setenv("TP_TWIN_ORIG_LD_PRELOAD", cur ? cur : "", 1);
	setenv("TP_TWIN_REEXEC", "1", 1);
	pre = g_strconcat(asan ? asan : "", asan ? " " : "",
			  "libumockdev-preload.so.0", cur && *cur ? " " : "",
			  cur ? cur : "", NULL);
	setenv("LD_PRELOAD", pre, 1);
	g_free(pre);
	g_free(asan);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "tp-twin: re-exec with the umockdev preload: %s\n",
		g_strerror(errno));
	return -errno;
}
