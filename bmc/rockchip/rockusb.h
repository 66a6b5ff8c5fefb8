/* SPDX-License-Identifier: MIT */
/*
 * RK1 (RK3588) over USB with libusb-1.0: find the module's boot ROM or
 * loader, download the loader into the boot ROM (maskrom), wait for the
 * loader to come up, then drive it with rockusb commands. Protocol facts are
 * in docs/protocols.md §2, §4 and §5.
 *
 * Writes are queued: tp_rockusb_write_lba() returns once the command is
 * submitted, with up to CONFIG_TPKIT_ROCKUSB_INFLIGHT commands in flight, so
 * the bus never idles between commands (§9.2). Their failures surface at a
 * later call or at tp_rockusb_flush(); after a failure every further call
 * returns the same error. A handle is for one thread.
 */
#ifndef TP_ROCKUSB_H
#define TP_ROCKUSB_H

#include "rockusb_proto.h"

#include <stdbool.h>
#include <stdint.h>

struct tp_ldr;
struct tp_sink;
struct tp_rockusb;

#define TP_ROCKUSB_VID 0x2207
#define TP_ROCKUSB_PID_RK3588 0x350b

/*
 * The most sectors per READ_LBA/WRITE_LBA the RK3588 usbplug is known to
 * take: the kernel's rockusb.ko sends up to usb-storage's max_sectors, 240
 * for a high-speed device, and bmcd flashes RK1s that way (protocols.md
 * §5.5). The format allows 65535. Up to TP_ROCKUSB_SECTORS_TRY may be asked
 * for, to measure a loader (docs/performance.md, "Command size"): a loader
 * that refuses fails the first write, before any of the image is written
 * (the boot area is left blank).
 */
#define TP_ROCKUSB_SECTORS_MAX 240u
#define TP_ROCKUSB_SECTORS_TRY 512u

enum tp_rockusb_mode {
	TP_ROCKUSB_MASKROM, /* boot ROM: only the vendor download (§4) */
	TP_ROCKUSB_LOADER,  /* usbplug: rockusb commands (§5) */
};

/*
 * Open an RK3588 (2207:350b). path is a USB bus-port path ("1-1.2": bus 1,
 * hub port 1, port 2) or NULL for the first one found. Maskrom and loader are
 * told apart by bcdUSB bit 0 (§2); a loader's rockusb interface is claimed
 * (detaching rockusb.ko / usb-storage from it if bound). -ENODEV if none.
 */
int tp_rockusb_open(const char *path, struct tp_rockusb **out);

/*
 * The usual way in: open the device at path; if it is in maskrom, download
 * the loader file at loader_path (validated before the device is touched,
 * chip RK3588), then wait up to timeout_ms for the loader. On return the
 * handle is in loader mode. loader_path NULL means CONFIG_TPKIT_RK1_LOADER.
 */
int tp_rockusb_open_loader(const char *path, const char *loader_path, unsigned timeout_ms,
			   struct tp_rockusb **out);

/*
 * Poll (every 100 ms on tp_clock, a fresh bus scan each time) until an
 * RK3588 in either mode appears at path, then open it; -ETIMEDOUT after
 * timeout_ms. path may be "*-1.2": port path 1.2 on any bus.
 */
int tp_rockusb_wait_device(const char *path, unsigned timeout_ms, struct tp_rockusb **out);

enum tp_rockusb_mode tp_rockusb_mode(const struct tp_rockusb *d);

/* Bus-port path of the device ("1-1.2"). */
const char *tp_rockusb_path(const struct tp_rockusb *d);

/*
 * Maskrom only: send the loader's 0x471 and 0x472 areas (§4). The device
 * then re-enumerates, so the handle is closed; follow with
 * tp_rockusb_wait_loader().
 */
int tp_rockusb_download(struct tp_rockusb *d, const struct tp_ldr *ldr);

/* Poll (every 100 ms, re-listing devices each time) until a loader appears
 * at the same bus-port path, then open it. -ETIMEDOUT after timeout_ms. */
int tp_rockusb_wait_loader(struct tp_rockusb *d, unsigned timeout_ms);

/* Loader commands (§5.3); each 0 or -errno with a message naming the
 * device, the command and, for LBA commands, the LBA. The short ones wait
 * for queued writes first. */
int tp_rockusb_test_unit_ready(struct tp_rockusb *d);
int tp_rockusb_read_flash_id(struct tp_rockusb *d, char id[TP_RK_FLASH_ID_LEN + 1], bool *emmc);
int tp_rockusb_read_flash_info(struct tp_rockusb *d, struct tp_rk_flash_info *fi);
int tp_rockusb_read_chip_info(struct tp_rockusb *d, char chip[5]);

/* Read count sectors at lba into buf (count * 512 bytes), in commands of at
 * most tp_rockusb_sectors() sectors; queued writes complete first. */
int tp_rockusb_read_lba(struct tp_rockusb *d, uint32_t lba, uint32_t count, void *buf);

/* Queue one WRITE_LBA of count (1..tp_rockusb_write_max()) sectors; buf is
 * copied, so the caller may reuse it on return. */
int tp_rockusb_write_lba(struct tp_rockusb *d, uint32_t lba, uint32_t count, const void *buf);

/* Sectors per READ_LBA/WRITE_LBA command: CONFIG_TPKIT_ROCKUSB_WRITE_SECTORS
 * until set. */
uint32_t tp_rockusb_write_max(const struct tp_rockusb *d);

/* Set them: 1..TP_ROCKUSB_SECTORS_TRY (-EINVAL otherwise, with a message);
 * queued writes complete first. */
int tp_rockusb_set_sectors(struct tp_rockusb *d, uint32_t sectors);

/* Wait for every queued command and check every CSW. */
int tp_rockusb_flush(struct tp_rockusb *d);

/* ERASE_LBA over count sectors, in steps of 32768 sectors as rkdeveloptool
 * erases eMMC (§5.5). */
int tp_rockusb_erase_lba(struct tp_rockusb *d, uint32_t lba, uint32_t count);

/* DEVICE_RESET with a §5.4 subcode; the device may vanish before its CSW,
 * which is not an error here. The handle is unusable afterwards. */
int tp_rockusb_reset(struct tp_rockusb *d, enum tp_rk_reset kind);

/* Waits for queued commands (their errors are only logged: call
 * tp_rockusb_flush() first to see them), releases the device. */
void tp_rockusb_close(struct tp_rockusb *d);

/* Close a loader handing it back to the kernel's rockusb driver if its
 * claim took it from it (protocols.md §6), so that it becomes the BMC's
 * disk again. Closes whatever happens; 0 or -errno with a message. */
int tp_rockusb_give_back(struct tp_rockusb *d);

/*
 * A sink (common/sink.h) over a loader-mode handle: offsets and lengths in
 * 512-byte sectors, size from READ_FLASH_INFO, max_io one WRITE_LBA. The
 * sink owns d from a successful return on; on failure d is left to the
 * caller.
 */
int tp_rockusb_sink_open(struct tp_rockusb *d, struct tp_sink **out);

#endif
