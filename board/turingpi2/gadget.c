// SPDX-License-Identifier: MIT
/*
 * The BMC's USB gadget's mass-storage LUN (gadget.h). The kernel's configfs
 * rules this follows (docs/hardware.md, "The BMC's own USB gadget"): a
 * function can be linked into a configuration only while the gadget is
 * unbound, unlinking one while bound unbinds the gadget anyway, writing ""
 * to UDC when unbound is ENODEV, and a UDC name that is taken or unknown is
 * EBUSY. So every change is made unbound, and the gadget is bound again to
 * the controller it had, so that the BMC's USB serial console comes back
 * with it.
 */
#include "gadget.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* As S11bmc-otg makes it, and bmcd's app/usb_gadget.rs adds to it. */
#define GADGET   "/sys/kernel/config/usb_gadget/g1"
#define FUNCTION GADGET "/functions/mass_storage.0"
#define LINK     GADGET "/configs/c.1/mass_storage.0"
#define UDCS     "/sys/class/udc"

static void trim(char *s)
{
	s[strcspn(s, "\n")] = '\0';
}

/* The controller the gadget is bound to into name, "" when unbound. */
static int udc_read(char *name, size_t size)
{
	ssize_t n = tp_file_read(GADGET "/UDC", name, size);

	if (n == -ENOENT)
		return tp_err_set(-ENOENT, "the BMC's USB gadget (%s) is missing: the firmware's "
				  "/etc/init.d/S11bmc-otg makes it at boot; run it (start), or "
				  "check that the kernel has USB gadget configfs", GADGET);
	if (n < 0)
		return (int)n;
	trim(name);
	return 0;
}

/* The BMC's one device controller, for a gadget that was not bound. */
static int udc_only(char *name, size_t size)
{
	char dir[TP_PATH_MAX];
	struct dirent *e;
	DIR *d;
	int rc = tp_path(dir, sizeof(dir), UDCS);

	if (rc < 0)
		return rc;
	if (!(d = opendir(dir)))
		return tp_err_set(-errno, "cannot list the BMC's USB device controllers (%s): %s",
				  dir, strerror(errno));
	name[0] = '\0';
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && !name[0])
			snprintf(name, size, "%s", e->d_name);
	closedir(d);
	return name[0] ? 0 :
			 tp_err_set(-ENODEV, "the BMC has no USB device controller (%s is empty)",
				    dir);
}

static int unbind(void)
{
	int rc = tp_file_write(GADGET "/UDC", "\n");

	return rc < 0 ? tp_err_prefix(rc, "unbinding the BMC's USB gadget: ") : 0;
}

/* Bound again to was, or, if it was not bound, to the BMC's controller. */
static int bind(const char *was)
{
	char udc[64];
	int rc = 0;

	if (was[0])
		snprintf(udc, sizeof(udc), "%s", was);
	else
		rc = udc_only(udc, sizeof(udc));
	if (rc == 0 && (rc = tp_file_write(GADGET "/UDC", udc)) < 0)
		rc = tp_err_prefix(rc, "binding the BMC's USB gadget to %s: ", udc);
	return rc;
}

static int path_exists(const char *path, bool *yes)
{
	char full[TP_PATH_MAX];
	struct stat st;
	int rc = tp_path(full, sizeof(full), "%s", path);

	if (rc < 0)
		return rc;
	*yes = lstat(full, &st) == 0;
	if (!*yes && errno != ENOENT)
		return tp_err_set(-errno, "cannot look at %s: %s", full, strerror(errno));
	return 0;
}

/* Unlinked and removed, if there (the gadget unbound by the caller). */
static int unplug(void)
{
	char link[TP_PATH_MAX], fn[TP_PATH_MAX];
	bool linked, made;
	int rc;

	if ((rc = path_exists(LINK, &linked)) < 0 || (rc = path_exists(FUNCTION, &made)) < 0)
		return rc;
	if ((rc = tp_path(link, sizeof(link), LINK)) < 0 ||
	    (rc = tp_path(fn, sizeof(fn), FUNCTION)) < 0)
		return rc;
	if (linked && unlink(link) < 0)
		return tp_err_set(-errno, "cannot unlink %s: %s", link, strerror(errno));
	/* Its lun.0 goes with it, and the kernel closes the disk. */
	if (made && rmdir(fn) < 0)
		return tp_err_set(-errno, "cannot remove %s: %s", fn, strerror(errno));
	return 0;
}

/* The function made, disk its LUN 0, linked (the gadget unbound). */
static int plug(const char *disk)
{
	char link[TP_PATH_MAX], fn[TP_PATH_MAX];
	int rc;

	if ((rc = unplug()) < 0)
		return rc;
	if ((rc = tp_path(link, sizeof(link), LINK)) < 0 ||
	    (rc = tp_path(fn, sizeof(fn), FUNCTION)) < 0)
		return rc;
	if (mkdir(fn, 0755) < 0)
		return tp_err_set(-errno, "cannot make the gadget's mass-storage function %s: %s%s",
				  fn, strerror(errno),
				  errno == ENOENT ? " (is the kernel's mass_storage gadget function, "
						    "usb_f_mass_storage, there?)" :
						    "");
	if ((rc = tp_file_write(FUNCTION "/lun.0/file", disk)) < 0)
		return rc;
	/* configfs resolves a link's target from the caller's working
	 * directory, not from the link's: an absolute path always works. */
	if (symlink(fn, link) < 0)
		return tp_err_set(-errno, "cannot link %s into the gadget's configuration (%s): %s",
				  fn, link, strerror(errno));
	return 0;
}

int tp_gadget_msd_export(const char *disk)
{
	char was[64];
	int rc = udc_read(was, sizeof(was));

	if (rc < 0)
		return rc;
	if (was[0] && (rc = unbind()) < 0)
		return rc;
	if ((rc = plug(disk)) < 0) {
		struct tp_err_ctx why;

		tp_err_save(&why, rc);
		if (unplug() < 0 || (was[0] && bind(was) < 0))
			TP_WARN("putting the BMC's USB gadget back after a failed export: %s",
				tp_err_msg());
		tp_err_restore(&why);
		return tp_err_prefix(rc, "exporting %s on the BMC's USB gadget: ", disk);
	}
	if ((rc = bind(was)) < 0)
		return rc;
	TP_INFO("BMC USB gadget: %s is LUN 0 of mass_storage.0", disk);
	return 0;
}

int tp_gadget_msd_withdraw(void)
{
	char was[64];
	bool linked, made;
	int rc;

	if ((rc = path_exists(LINK, &linked)) < 0 || (rc = path_exists(FUNCTION, &made)) < 0)
		return rc;
	if (!linked && !made)
		return 0;
	if ((rc = udc_read(was, sizeof(was))) < 0)
		return rc;
	/* Unlinking while bound would unbind it anyway; doing it first
	 * keeps the order ours. */
	if (linked && was[0] && (rc = unbind()) < 0)
		return rc;
	rc = unplug();
	if (linked && was[0]) {
		int rc2 = bind(was);

		rc = rc < 0 ? rc : rc2;
	}
	if (rc == 0)
		TP_INFO("BMC USB gadget: mass_storage.0 removed");
	return rc;
}

int tp_gadget_msd_query(char *disk, size_t size)
{
	bool linked;
	ssize_t n;
	int rc = path_exists(LINK, &linked);

	disk[0] = '\0';
	if (rc < 0 || !linked)
		return rc;
	n = tp_file_read(FUNCTION "/lun.0/file", disk, size);
	if (n < 0)
		return (int)n;
	trim(disk);
	return disk[0] != '\0';
}
