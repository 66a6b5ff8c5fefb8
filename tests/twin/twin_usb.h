/* SPDX-License-Identifier: MIT */
/*
 * tp-twin's simulated USB: the device layer shared by twin_usb.c (testbed,
 * devices, usbdevfs ioctls), twin_usbenv.c (the preload, the command's and
 * the tools' environments), twin_usbtime.c (USB 2.0 high-speed timing),
 * twin_rk3588.c (RK3588 maskrom and loader) with twin_rk3588_boot.c (the
 * RK1's power and boot), twin_bcm2711.c (BCM2711 boot ROM and second
 * stage) with twin_bcm2711_boot.c (the CM4's power and boot), twin_msd.c
 * (a node's eMMC as the BMC's SCSI disk) and twin_emmc.c (eMMC backing
 * files, boot check). docs/twin.md, "Simulated USB devices".
 *
 * A device type plugs in with a struct twin_usb_ops and a struct
 * twin_usb_desc: the layer does enumeration, standard requests, URB
 * queues, halts and timing; the type only sees transfers.
 */
#ifndef TPKIT_TWIN_USB_H
#define TPKIT_TWIN_USB_H

#include <stddef.h>
#include <stdint.h>

#include "twin.h"

#define TWIN_USB_UF_NS		125000u	/* one high-speed microframe */
#define TWIN_USB_PKTS_PER_UF	13u	/* bulk 512-byte packets (protocols.md §9.1) */
/* Gaps the bus model keeps for other devices to fill: four devices with a
 * few commands queued each leave a few dozen ahead of the clock; older ones
 * are dropped first (less filling, never a wrong slot). */
#define TWIN_USB_GAPS		256u
#define TWIN_USB_EP0_PACKET	64u
#define TWIN_USB_BULK_PACKET	512u
/* The most of a bulk URB the layer hands a device at once (whole packets):
 * a device sees packets, not the host's transfers (twin_usbfs.c). */
#define TWIN_USB_PIECE		16384u

struct twin_usb_dev;

/* One transfer as the device sees it (a URB, or a control setup + data). */
struct twin_xfer {
	bool control;
	uint8_t ep;		/* endpoint address, 0x80 = IN */
	const uint8_t *setup;	/* control only: the 8-byte setup packet */
	uint8_t *buf;		/* OUT: the data; IN: room for the reply */
	size_t len;		/* OUT: bytes offered; IN: room */
	size_t actual;		/* bytes moved: IN, the device sets it; bulk
				 * OUT, preset to len, the device may take
				 * fewer (whole packets), the rest follows */
	int status;		/* 0, -EPIPE (STALL), -EAGAIN (NAK: not now),
				 * -EOVERFLOW (babble) */
	bool nak_wait;		/* with -EAGAIN: a host may wait here on
				 * purpose (its timeout ends it), so a host
				 * reaping meanwhile is not a deadlock */
	/* Set by the device for the timing model (twin_usbtime.c): */
	uint64_t not_before;	/* data not ready / no room before this (ns) */
	uint64_t min_end;	/* cannot complete before this (eMMC rate) */
};

struct twin_usb_ops {
	const char *kind;	/* "maskrom", "loader": timeline and reports */
	/* A control transfer the generic layer does not answer itself
	 * (anything but the standard GET_DESCRIPTOR). */
	void (*control)(struct twin_usb_dev *d, struct twin_xfer *x);
	/* A bulk transfer on one of the device's endpoints. */
	void (*bulk)(struct twin_usb_dev *d, struct twin_xfer *x);
	/* The transfer X took simulated time up to END (virtual ns). */
	void (*done)(struct twin_usb_dev *d, const struct twin_xfer *x,
		     uint64_t end);
	/* USBDEVFS_RESET: a bus reset of the device. */
	void (*reset)(struct twin_usb_dev *d);
};

struct twin_usb_desc {
	uint16_t vid, pid, bcd_usb, bcd_device;
	uint8_t dev_class;		/* 9 for hubs */
	const char *strings[3];		/* manufacturer, product, serial; NULL: none */
	uint8_t if_class, if_sub, if_proto;
	uint8_t ep_in, ep_out;		/* bulk; 0: none */
	uint8_t ep_int;			/* interrupt IN (hubs); 0: none */
	uint8_t str_index[3];		/* descriptor index of each string; 0: i + 1 */
};

/* The timing model's parameters (options) and the shared bus. */
struct twin_usbtime {
	uint64_t turnaround_ns;		/* --usb-turnaround-us */
	uint64_t cmd_latency_ns;	/* --rk-cmd-latency-us */
	uint64_t emmc_rate;		/* --emmc-write-rate, bytes/s */
	uint64_t next_slot;		/* first free packet slot on the bus */
	/* Free slots before next_slot, oldest first: the time a transfer had
	 * to wait (a CSW's command latency, an idle device's turnaround) is
	 * free for other devices' packets. */
	struct twin_usbgap {
		uint64_t from, to;	/* slots [from, to) */
	} gaps[TWIN_USB_GAPS];
	unsigned ngaps;
};

struct twin_usb_dev {
	struct twin *t;
	const struct twin_usb_ops *ops;
	struct twin_usb_desc desc;
	void *priv;			/* the device type's state */
	unsigned slot;			/* 1..4; 0 for hubs */
	unsigned devnum;
	char sysname[16];		/* "1-1.2" */
	char devnode[32];		/* "/dev/bus/usb/001/003" */
	char *syspath;			/* "/sys/devices/.../1-1.2" */
	void *handler;			/* UMockdevIoctlBase */
	bool attached;			/* in the testbed */
	bool gone;			/* disconnected: every ioctl gets ENODEV */
	bool unresponsive;		/* the device NAKs everything (a fault): a
					 * host waiting on it is not a deadlock, its
					 * timeouts are its business */
	/* The kernel driver that matches the interface and binds it at
	 * enumeration (usb-storage, rockusb), or NULL; the one bound now
	 * (NULL once a program detached it: USBDEVFS_DISCONNECT); the disk
	 * it makes (twin_msd.c). */
	const char *kdriver;
	const char *driver;
	struct twin_msd *disk;
	bool halted[32];		/* [ep & 0x0f | (in ? 16 : 0)] */
	GQueue pending;			/* struct twin_urb, submission order */
	GQueue done;			/* completed, completion order */
	bool reaped_last;		/* the last non-blocking reap returned a URB */
	uint64_t last_end;		/* end of the device's last transfer */
	/* session figures (bulk only) */
	uint64_t bulk_ns, bulk_busy_until, bytes_out, bytes_in;
	unsigned urbs;
};

/* A module's hooks on board changes (RK1, CM4). */
struct twin_usb_node {
	bool powered;
	bool link_bmc;			/* link = bmc/device */
	struct twin_usb_dev *dev;	/* the function on the node's USB, if any */
	void *module;			/* the module's own per-slot state */
	struct twin_msd *msd;		/* its eMMC as the BMC's disk: a CM4's
					 * payload, an RK1's loader through
					 * rockusb.ko (twin_msd.c) */
};

struct twin_usb {
	void *testbed;			/* UMockdevTestbed */
	struct twin_usb_dev *root_hub, *hub;
	struct twin_usb_node node[TWIN_SLOTS + 1];
	unsigned next_devnum;
	unsigned sd_used;		/* sdX letters in use, bit 0 = sda */
	unsigned next_scsi_host;	/* host0, host1, ... never reused */
	struct twin_usbtime time;
	GPtrArray *devs;		/* every device ever made, freed at exit */
	bool started;
	/* What the command read and wrote through each CM4's /dev/sdX: per
	 * slot, bytes read and written (tests/twin/preload/twin_iocount.c) */
	uint64_t (*io)[2];
	/* A peer that waits in real time (twin_usb.c, twin_usb_peer_tick) */
	bool peer;			/* USB used with no socket connection open */
	int64_t peer_last;		/* its last usbdevfs call, monotonic us */
	guint peer_src;
};

/* twin_usb.c */
int twin_usb_start(struct twin *t);
void twin_usb_board_changed(struct twin *t);
struct twin_usb_dev *twin_usb_dev_new(struct twin *t, unsigned slot,
				      const struct twin_usb_ops *ops,
				      const struct twin_usb_desc *desc,
				      void *priv);
void twin_usb_dev_delete(struct twin *t, struct twin_usb_dev *d);
void twin_usb_dev_halt(struct twin_usb_dev *d, uint8_t ep);
void twin_usb_finish(struct twin *t);
void twin_usb_peer_seen(struct twin *t);
void twin_usb_stop(struct twin *t);
size_t twin_usb_desc_build(const struct twin_usb_desc *s, uint8_t *out);

/* twin_usbenv.c */
int twin_usb_preload_ensure(int argc, char **argv);
char **twin_usb_child_env(struct twin *t, char **env);
char **twin_usb_tool_env(void);
int twin_devnull(void);
char *twin_read_all(int fd);

/* twin_usbfs.c */
int twin_usbfs_on_ioctl(void *handler, void *client, void *dev);
void twin_usbfs_shutdown(struct twin_usb_dev *d);
void twin_usbfs_free(struct twin_usb_dev *d);

/* twin_usbdrv.c: the kernel's drivers for the nodes' interfaces (CLIENT
 * and ARG: umockdev's UMockdevIoctlClient and UMockdevIoctlData). */
void twin_usbdrv_probe(struct twin *t, struct twin_usb_dev *d);
void twin_usbdrv_getdriver(struct twin_usb_dev *d, void *client, void *arg);
void twin_usbdrv_ioctl(struct twin_usb_dev *d, void *client, void *arg);

/* twin_usbtime.c */
void twin_usbtime_init(struct twin *t);
void twin_usbtime_schedule(struct twin *t, struct twin_usb_dev *d,
			   const struct twin_xfer *x, uint64_t earliest,
			   uint64_t *start, uint64_t *end);
uint64_t twin_usbtime_idle_start(struct twin *t, uint64_t submit_ns);
uint64_t twin_usbtime_reserve(struct twin *t, uint64_t from, uint64_t packets);
void twin_usbtime_account(struct twin_usb_dev *d, uint8_t ep, size_t bytes,
			  uint64_t submit, uint64_t end);
void twin_usbtime_report(struct twin *t, struct twin_usb_dev *d,
			 char *note, size_t len);

/* twin_rkfault.c: the faults of docs/twin.md "Faults", per RK1 node. */
struct twin_rkfault {
	uint64_t written;		/* WRITE_LBA bytes taken since the start */
	bool vanished;			/* --rk-vanish-after has fired (once) */
	bool vanish_armed;		/* disconnect at the end of this transfer */
};
bool twin_rkfault_cmd(struct twin_usb_dev *d, uint8_t op, uint64_t lba,
		      uint32_t count);
size_t twin_rkfault_out(struct twin_usb_dev *d, struct twin_rkfault *f,
			uint64_t lba, uint32_t count, uint32_t done, size_t len);
void twin_rkfault_in(struct twin_usb_dev *d, uint64_t lba, uint32_t count,
		     uint64_t first, uint8_t *buf, size_t sectors);

/* An RK1 (RK3588) per slot (nd->module): what its USB functions say
 * (twin_rk3588.c) and when which one is on the bus (twin_rk3588_boot.c). */
enum twin_rk_state { TWIN_RK_OFF, TWIN_RK_WAIT_ROM, TWIN_RK_ROM, TWIN_RK_PLUG,
		     TWIN_RK_LOADER, TWIN_RK_BOOTING, TWIN_RK_OS, TWIN_RK_HALT };
enum twin_rk_stage { TWIN_RK_CBW, TWIN_RK_DATA_IN, TWIN_RK_DATA_OUT,
		     TWIN_RK_CSW };

struct twin_rk_node {
	unsigned slot;
	enum twin_rk_state state;
	/* maskrom download (§4) */
	unsigned area;			/* 0x471/0x472 being received, 0 none */
	GByteArray *stream;
	unsigned areas_471;
	bool plug_armed;		/* 0x472 accepted: re-enumerate */
	/* loader (§5) */
	enum twin_rk_stage stage;
	uint32_t tag, dlen, done;
	uint8_t op, sub;
	uint64_t lba;
	uint32_t count;
	bool fail;			/* the CSW reports failure */
	uint8_t reply[16];
	bool cbw_timed;			/* next done() is the CBW's */
	uint64_t cbw_end;
	bool reset_armed;
	uint8_t reset_kind;
	struct twin_rkfault fault;	/* twin_rkfault.c */
};

/* twin_rk3588.c: the maskrom and the loader on USB. */
void twin_rk3588_plug(struct twin *t, struct twin_rk_node *rk, bool loader);

/* twin_rk3588_boot.c: the RK1's power, boot ROM and re-enumeration. */
void twin_rk3588_power(struct twin *t, unsigned slot, bool on, bool initial);
void twin_rk3588_link(struct twin *t, unsigned slot, bool up);
void twin_rk3588_reboot(struct twin *t, unsigned slot);
void twin_rk3588_free(struct twin *t, unsigned slot);
/* struct twin_usb_ops' done for both functions: what a transfer armed
 * (the usbplug, DEVICE_RESET, a fault) happens on the clock. */
void twin_rk3588_done(struct twin_usb_dev *d, const struct twin_xfer *x,
		      uint64_t end);

/* A CM4 (BCM2711) per slot (nd->module): what its boot ROM and second
 * stage say on USB, rpiboot (twin_bcm2711.c), and when which of them, or
 * the payload's disk, is on the bus (twin_bcm2711_boot.c). */
#define TWIN_BCM_MSG_LEN	24u	/* boot_message_t, §7.3 */
#define TWIN_BCM_EP_DATA	0x01u	/* ep_write's data: bulk OUT 1 (§7.2) */

enum twin_bcm_state {
	TWIN_BCM_OFF, TWIN_BCM_WAIT_ROM, TWIN_BCM_ROM, TWIN_BCM_WAIT_S2,
	TWIN_BCM_S2, TWIN_BCM_WAIT_MSD, TWIN_BCM_MSD, TWIN_BCM_BOOTING,
	TWIN_BCM_OS, TWIN_BCM_HALT,
};
/* Where the exchange stands: what the device waits for next. */
enum twin_bcm_phase {
	TWIN_BCM_PH_MSG_CTRL, TWIN_BCM_PH_MSG_DATA, TWIN_BCM_PH_SS_CTRL,
	TWIN_BCM_PH_SS_DATA, TWIN_BCM_PH_RET, TWIN_BCM_PH_ROM_END,
	TWIN_BCM_PH_REQ, TWIN_BCM_PH_SIZE, TWIN_BCM_PH_READ_CTRL,
	TWIN_BCM_PH_READ_DATA, TWIN_BCM_PH_DONE,
};

struct twin_bcm_file;			/* twin_bcm2711.c's file tables */

struct twin_bcm_node {
	unsigned slot;
	enum twin_bcm_state state;
	enum twin_bcm_phase ph;
	uint8_t msg[TWIN_BCM_MSG_LEN];
	uint32_t ss_len;		/* from the boot message */
	uint32_t want, got;		/* the ep_write in progress */
	enum twin_cm4_payload payload;	/* what the second stage runs */
	const struct twin_bcm_file *files;	/* what it asks for */
	size_t file;			/* index into files */
	bool size_known;		/* GetFileSize answered for file */
	uint32_t size;
	GByteArray *content;		/* a file the twin checks */
	bool rom_armed, done_armed;
	char serial[24];
	struct twin_usb_desc rom_desc, s2_desc;
};

/* twin_bcm2711.c: the CM4's boot ROM and rpiboot second stage on USB. */
void twin_bcm2711_plug(struct twin *t, struct twin_bcm_node *b);
void twin_bcm2711_event(struct twin *t, unsigned slot, const char *from,
			const char *to, const char *note);

/* twin_bcm2711_boot.c: the CM4's power, boot ROM and re-enumeration. */
void twin_bcm2711_power(struct twin *t, unsigned slot, bool on, bool initial);
void twin_bcm2711_link(struct twin *t, unsigned slot, bool up);
void twin_bcm2711_finish(struct twin *t, unsigned slot);
bool twin_bcm2711_gadget(struct twin *t, unsigned slot);
void twin_bcm2711_free(struct twin *t, unsigned slot);
/* struct twin_usb_ops' done for the ROM and the second stage: what a
 * transfer armed (the second stage, the payload) happens on the clock. */
void twin_bcm2711_done(struct twin_usb_dev *d, const struct twin_xfer *x,
		       uint64_t end);

/* twin_msd.c: a node's eMMC as the BMC's SCSI disk through a usb-storage
 * driver (the CM4's payload: usb-storage; an RK1's loader: rockusb.ko),
 * and its timing. */
struct twin_msd;
struct twin_msd *twin_msd_new(struct twin *t, unsigned slot);
void twin_msd_plug(struct twin_msd *m);
void twin_msd_unplug(struct twin_msd *m);
void twin_msd_attach(struct twin_msd *m, struct twin_usb_dev *d, const char *driver);
void twin_msd_bind(struct twin_msd *m);
void twin_msd_unbind(struct twin_msd *m, const char *why);
void twin_msd_gone(struct twin_msd *m);
void twin_msd_finish(struct twin_msd *m);
void twin_msd_free(struct twin_msd *m);
void twin_msd_tick(struct twin *t);
uint8_t twin_usb_str_index(const struct twin_usb_desc *s, int i);

/* twin_emmc.c */
int twin_emmc_open(struct twin *t, unsigned slot);
uint64_t twin_emmc_sectors(struct twin *t, unsigned slot);
int twin_emmc_rw(struct twin *t, unsigned slot, bool write, uint64_t lba,
		 void *buf, size_t sectors);
int twin_emmc_erase(struct twin *t, unsigned slot, uint64_t lba,
		    uint64_t sectors);
int twin_emmc_boot(struct twin *t, unsigned slot);
/* A stand-in node's getty greeting from the image on its eMMC: /etc/issue
 * and "<hostname> login: " (twin_getty.c). Free with g_free(). */
char *twin_getty_greeting(struct twin *t, unsigned slot, const char *tty);
const char *twin_emmc_idblock(struct twin *t, unsigned slot);
void twin_emmc_close(struct twin *t);

#endif /* TPKIT_TWIN_USB_H */
