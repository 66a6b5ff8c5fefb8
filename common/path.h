/* SPDX-License-Identifier: MIT */
/*
 * Every file the board code touches (/sys, /proc/device-tree, /dev, the
 * EEPROM) is resolved under a root prefix, so that tests and the board twin
 * can hand tpkit a fake tree. The prefix comes from TPKIT_ROOT (default "/").
 */
#ifndef TP_PATH_H
#define TP_PATH_H

#include <stddef.h>
#include <sys/types.h>

#define TP_PATH_MAX 4096

/* Set the root prefix; NULL means TPKIT_ROOT from the environment, or "/". */
void tp_root_set(const char *root);
const char *tp_root_get(void);

/* Build "<root><path>" (path is absolute). Returns 0 or -ENAMETOOLONG. */
int tp_path(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Read up to size-1 bytes of a small file (sysfs attribute, DT property) under
 * the root, NUL-terminate, and return the byte count or -errno. The message
 * names the full path.
 */
ssize_t tp_file_read(const char *path, void *buf, size_t size);

/* Write a string to an existing file under the root (O_WRONLY|O_TRUNC, never
 * O_CREAT: a missing sysfs file is an error, not something to create). */
int tp_file_write(const char *path, const char *text);

#endif
