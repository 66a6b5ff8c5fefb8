// SPDX-License-Identifier: MIT
/*
 * The libusb transport (bmc/rockchip/rockusb*.c) against a libusb stand-in.
 *
 * This file defines the libusb-1.0 functions the transport calls; being in
 * the executable, they take precedence over the shared library's. Behind
 * them sits a minimal device that follows protocols.md §4-§5 literally (CBW
 * -> data -> CSW, in submission order) with fault injection, and a virtual
 * clock. It checks the client's own logic — pipelining, ordering, error
 * paths, polling — not protocol conformance with a real loader: that is the
 * board twin's job, built separately from the same document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libusb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmc/rockchip/ldr.h"
#include "bmc/rockchip/rockusb.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/sink.h"

#define MKLDR_NO_MAIN
#include "tests/tools/mkldr.c"

#define DISK_SECTORS 8192 /* 4 MiB */
#define MAXQ 64

static struct mock {
	uint16_t bcd;        /* 0x0200 maskrom, 0x0201 loader (§2) */
	int present;
	uint64_t now_ns;
	int leave_after_ctl; /* maskrom leaves after this many control transfers */
	uint64_t left_ns;    /* ...at this virtual time */
	int never_back;
	int opens, sleeps;
	/* control transfers */
	size_t nctl, ctl_bytes;
	uint16_t ctl_len[128], ctl_area[128];
	/* bulk: submitted transfers in order, with a cancel mark */
	struct libusb_transfer *q[MAXQ];
	int cancelled[MAXQ];
	size_t nq;
	unsigned max_cbws; /* most commands queued at once */
	int ncmd;
	struct tp_rk_cbw cbw[256];
	int fail_csw_at, bad_tag_at, vanish_at, short_at, gone;
	uint8_t disk[DISK_SECTORS * 512];
} m;

static int dev_obj, handle_obj, ctx_obj;

/* ---- libusb stand-in ---------------------------------------------------- */

int libusb_init(libusb_context **ctx)
{
	*ctx = (libusb_context *)&ctx_obj;
	return 0;
}

void libusb_exit(libusb_context *ctx)
{
	(void)ctx;
}

const char *libusb_error_name(int e)
{
	return e == LIBUSB_TRANSFER_NO_DEVICE ? "LIBUSB_TRANSFER_NO_DEVICE" : "LIBUSB_ERROR";
}

const char *libusb_strerror(int e)
{
	(void)e;
	return "mock error";
}

ssize_t libusb_get_device_list(libusb_context *ctx, libusb_device ***list)
{
	(void)ctx;
	*list = calloc(2, sizeof(**list));
	if (m.left_ns && !m.present && !m.never_back && m.now_ns >= m.left_ns + 350000000ull) {
		m.present = 1; /* re-enumerated as the loader (§4.3) */
		m.bcd = 0x0201;
	}
	if (!m.present)
		return 0;
	(*list)[0] = (libusb_device *)&dev_obj;
	return 1;
}

void libusb_free_device_list(libusb_device **list, int unref)
{
	(void)unref;
	free(list);
}

libusb_device *libusb_ref_device(libusb_device *d)
{
	return d;
}

void libusb_unref_device(libusb_device *d)
{
	(void)d;
}

int libusb_get_device_descriptor(libusb_device *d, struct libusb_device_descriptor *dd)
{
	(void)d;
	memset(dd, 0, sizeof(*dd));
	dd->idVendor = 0x2207;
	dd->idProduct = 0x350b;
	dd->bcdUSB = m.bcd;
	return 0;
}

uint8_t libusb_get_bus_number(libusb_device *d)
{
	(void)d;
	return 1;
}

uint8_t libusb_get_device_address(libusb_device *d)
{
	(void)d;
	return (uint8_t)(m.bcd & 1 ? 3 : 2);
}

int libusb_get_port_numbers(libusb_device *d, uint8_t *ports, int len)
{
	(void)d;
	assert_true(len >= 2);
	ports[0] = 1, ports[1] = 2; /* "1-1.2" */
	return 2;
}

int libusb_open(libusb_device *d, libusb_device_handle **h)
{
	(void)d;
	m.opens++;
	*h = (libusb_device_handle *)&handle_obj;
	return 0;
}

void libusb_close(libusb_device_handle *h)
{
	(void)h;
}

static const struct libusb_endpoint_descriptor eps[2] = {
	{ .bEndpointAddress = 0x81, .bmAttributes = LIBUSB_TRANSFER_TYPE_BULK, .wMaxPacketSize = 512 },
	{ .bEndpointAddress = 0x02, .bmAttributes = LIBUSB_TRANSFER_TYPE_BULK, .wMaxPacketSize = 512 },
};
static const struct libusb_interface_descriptor alt = {
	.bInterfaceNumber = 0, .bNumEndpoints = 2, .bInterfaceClass = 0xFF,
	.bInterfaceSubClass = 0x06, .bInterfaceProtocol = 0x05, .endpoint = eps,
};
static const struct libusb_interface iface = { .altsetting = &alt, .num_altsetting = 1 };
static struct libusb_config_descriptor cfg = { .bNumInterfaces = 1, .interface = &iface };

int libusb_get_active_config_descriptor(libusb_device *d, struct libusb_config_descriptor **c)
{
	(void)d;
	*c = &cfg;
	return 0;
}

void libusb_free_config_descriptor(struct libusb_config_descriptor *c)
{
	(void)c;
}

int libusb_kernel_driver_active(libusb_device_handle *h, int i)
{
	(void)h, (void)i;
	return LIBUSB_ERROR_OTHER; /* what umockdev without GETDRIVER gives */
}

int libusb_detach_kernel_driver(libusb_device_handle *h, int i)
{
	(void)h, (void)i;
	fail_msg("detach called although no driver is active");
	return 0;
}

int libusb_claim_interface(libusb_device_handle *h, int i)
{
	(void)h;
	assert_int_equal(i, 0);
	assert_int_equal(m.bcd & 1, 1); /* never claims in maskrom */
	return 0;
}

int libusb_release_interface(libusb_device_handle *h, int i)
{
	(void)h, (void)i;
	return 0;
}

int libusb_clear_halt(libusb_device_handle *h, unsigned char ep)
{
	(void)h, (void)ep;
	return 0;
}

int libusb_control_transfer(libusb_device_handle *h, uint8_t rt, uint8_t req, uint16_t val,
			    uint16_t idx, unsigned char *data, uint16_t len, unsigned int timeout)
{
	(void)h, (void)data;
	/* §4.1: vendor OUT, request 0x0C, wValue 0, wIndex = area, <= 4096. */
	assert_int_equal(rt, 0x40);
	assert_int_equal(req, 0x0C);
	assert_int_equal(val, 0);
	assert_true(idx == 0x0471 || idx == 0x0472);
	assert_true(len >= 1 && len <= 4096);
	assert_true(timeout > 0);
	assert_false(m.bcd & 1);
	assert_true(m.nctl < 128);
	m.ctl_len[m.nctl] = len;
	m.ctl_area[m.nctl++] = idx;
	m.ctl_bytes += len;
	if ((int)m.nctl == m.leave_after_ctl) {
		m.present = 0; /* the usbplug starts and re-enumerates (§4.3) */
		m.left_ns = m.now_ns;
	}
	return len;
}

struct libusb_transfer *libusb_alloc_transfer(int iso)
{
	(void)iso;
	return calloc(1, sizeof(struct libusb_transfer));
}

void libusb_free_transfer(struct libusb_transfer *x)
{
	free(x);
}

int libusb_submit_transfer(struct libusb_transfer *x)
{
	assert_true(x->timeout > 0); /* a timeout on every transfer */
	if (m.gone)
		return LIBUSB_ERROR_NO_DEVICE;
	assert_true(m.nq < MAXQ);
	m.cancelled[m.nq] = 0;
	m.q[m.nq++] = x;
	return 0;
}

int libusb_cancel_transfer(struct libusb_transfer *x)
{
	for (size_t i = 0; i < m.nq; i++)
		if (m.q[i] == x) {
			m.cancelled[i] = 1;
			return 0;
		}
	return LIBUSB_ERROR_NOT_FOUND;
}

static void complete(size_t i, enum libusb_transfer_status st, int actual)
{
	struct libusb_transfer *x = m.q[i];

	memmove(&m.q[i], &m.q[i + 1], (m.nq - i - 1) * sizeof(m.q[0]));
	memmove(&m.cancelled[i], &m.cancelled[i + 1], (m.nq - i - 1) * sizeof(m.cancelled[0]));
	m.nq--;
	x->status = st;
	x->actual_length = actual;
	x->callback(x);
}

/* One device step: cancellations, else one whole command (§5). */
int libusb_handle_events_timeout_completed(libusb_context *ctx, struct timeval *tv, int *done)
{
	struct libusb_transfer *x;
	struct tp_rk_cbw c;
	struct tp_rk_csw s = { 0 };
	unsigned cbws = 0;
	int n;

	(void)ctx, (void)tv, (void)done;
	for (size_t i = 0; i < m.nq; i++)
		if (m.cancelled[i]) {
			complete(i--, LIBUSB_TRANSFER_CANCELLED, 0);
		}
	if (m.gone) {
		while (m.nq)
			complete(0, LIBUSB_TRANSFER_NO_DEVICE, 0);
		return 0;
	}
	for (size_t i = 0; i < m.nq; i++)
		cbws += m.q[i]->length == TP_RK_CBW_LEN && !(m.q[i]->endpoint & 0x80);
	if (cbws > m.max_cbws)
		m.max_cbws = cbws;
	/* A non-blocking poll lets no time pass: the device finishes
	 * nothing. Only a blocking wait advances it by one command. */
	if (!m.nq || (tv && !tv->tv_sec && !tv->tv_usec))
		return 0;
	x = m.q[0];
	assert_int_equal(x->endpoint, 0x02);
	assert_int_equal(tp_rk_cbw_decode(x->buffer, (size_t)x->length, &c), 0);
	n = ++m.ncmd;
	m.cbw[n < 256 ? n : 255] = c;
	if (n == m.vanish_at) {
		m.gone = 1;
		while (m.nq)
			complete(0, LIBUSB_TRANSFER_NO_DEVICE, 0);
		return 0;
	}
	complete(0, LIBUSB_TRANSFER_COMPLETED, TP_RK_CBW_LEN);
	if (c.data_len) {
		x = m.q[0];
		if (c.flags & 0x80) {
			static const uint8_t info[11] = { 0x00, 0x20, 0, 0, 0x00, 0x04, 4, 0, 40, 2, 1 };
			uint32_t len = c.data_len;

			assert_int_equal(x->endpoint, 0x81);
			assert_true((uint32_t)x->length >= len);
			if (c.op == TP_RK_READ_FLASH_INFO)
				memcpy(x->buffer, info, 11); /* 8192 sectors */
			else if (c.op == TP_RK_READ_LBA)
				memcpy(x->buffer, m.disk + (size_t)c.lba * 512, len);
			else
				memset(x->buffer, 0, len);
			complete(0, LIBUSB_TRANSFER_COMPLETED, (int)len);
		} else {
			assert_int_equal(x->endpoint, 0x02);
			assert_int_equal((uint32_t)x->length, c.data_len);
			assert_int_equal(c.op, TP_RK_WRITE_LBA);
			assert_true((uint64_t)c.lba + c.count <= DISK_SECTORS);
			memcpy(m.disk + (size_t)c.lba * 512, x->buffer, c.data_len);
			complete(0, LIBUSB_TRANSFER_COMPLETED,
				 n == m.short_at ? (int)c.data_len / 2 : (int)c.data_len);
		}
	}
	x = m.q[0];
	assert_int_equal(x->endpoint, 0x81);
	s.tag = n == m.bad_tag_at ? c.tag + 1 : c.tag;
	s.status = n == m.fail_csw_at;
	tp_rk_csw_encode(&s, x->buffer);
	complete(0, LIBUSB_TRANSFER_COMPLETED, TP_RK_CSW_LEN);
	return 0;
}

/* ---- virtual clock ------------------------------------------------------ */

static int v_now(void *cookie, uint64_t *ns)
{
	(void)cookie;
	*ns = m.now_ns;
	return 0;
}

static int v_sleep(void *cookie, uint64_t ns)
{
	(void)cookie;
	m.sleeps++;
	m.now_ns += ns;
	return 0;
}

static const struct tp_clock_ops vclock = { "virtual", v_now, v_sleep };

static int setup(void **state)
{
	(void)state;
	memset(&m, 0, sizeof(m));
	m.present = 1;
	m.bcd = 0x0201;
	tp_clock_use(&vclock, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tp_clock_use(NULL, NULL);
	return 0;
}

/* ---- tests -------------------------------------------------------------- */

/* A sink over the loader at 1-1.2; sectors per command if not 0. */
static struct tp_sink *open_sink_n(uint32_t sectors)
{
	struct tp_rockusb *d;
	struct tp_sink *s;

	assert_int_equal(tp_rockusb_open("1-1.2", &d), 0);
	assert_int_equal(tp_rockusb_mode(d), TP_ROCKUSB_LOADER);
	assert_string_equal(tp_rockusb_path(d), "1-1.2");
	assert_int_equal(tp_rockusb_write_max(d), CONFIG_TPKIT_ROCKUSB_WRITE_SECTORS);
	if (sectors)
		assert_int_equal(tp_rockusb_set_sectors(d, sectors), 0);
	assert_int_equal(tp_rockusb_sink_open(d, &s), 0);
	return s;
}

static struct tp_sink *open_sink(void)
{
	return open_sink_n(128);
}

static uint8_t *pattern(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = mkldr_pattern(4, seed, i);
	return p;
}

static void write_pipelined(void **state)
{
	struct tp_sink *s = open_sink();
	size_t len = 1 << 20;
	uint8_t *data = pattern(len, 1), *back = malloc(len);

	(void)state;
	assert_int_equal(s->size, DISK_SECTORS * 512ull);
	assert_int_equal(s->align, 512);
	assert_int_equal(s->max_io, 128 * 512);
	assert_string_equal(s->ops->name, "rockusb");
	assert_int_equal(tp_sink_pwrite(s, data, len, 65536), 0);
	assert_int_equal(tp_sink_flush(s), 0);
	assert_memory_equal(m.disk + 65536, data, len);
	/* 16 WRITE_LBA of 128 sectors at consecutive LBAs, never idle: as
	 * many commands queued as the configuration allows. */
	assert_int_equal(m.ncmd, 1 + 16); /* READ_FLASH_INFO first */
	for (int i = 0; i < 16; i++) {
		assert_int_equal(m.cbw[2 + i].op, TP_RK_WRITE_LBA);
		assert_int_equal(m.cbw[2 + i].lba, 128 + 128 * (uint32_t)i);
		assert_int_equal(m.cbw[2 + i].count, 128);
		if (i)
			assert_int_not_equal(m.cbw[2 + i].tag, m.cbw[1 + i].tag);
	}
	assert_int_equal(m.max_cbws, CONFIG_TPKIT_ROCKUSB_INFLIGHT);
	assert_int_equal(tp_sink_pread(s, back, len, 65536), 0);
	assert_memory_equal(back, data, len);
	tp_sink_close(s);
	free(data);
	free(back);
}

/* --rk-sectors: 1..240 per command, for writes and reads alike. */
static void sectors_option(void **state)
{
	struct tp_rockusb *d;
	struct tp_sink *s;
	size_t len = 1 << 20;
	uint8_t *data = pattern(len, 3), *back = malloc(len);

	(void)state;
	assert_int_equal(tp_rockusb_open("1-1.2", &d), 0);
	assert_int_equal(tp_rockusb_set_sectors(d, 0), -EINVAL);
	assert_int_equal(tp_rockusb_set_sectors(d, TP_ROCKUSB_SECTORS_TRY + 1), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "must be 1..512"));
	assert_int_equal(tp_rockusb_set_sectors(d, 240), 0);
	assert_int_equal(tp_rockusb_sink_open(d, &s), 0);
	assert_int_equal(s->max_io, 240 * 512);
	assert_int_equal(tp_sink_pwrite(s, data, len, 0), 0);
	assert_int_equal(tp_sink_flush(s), 0);
	assert_memory_equal(m.disk, data, len);
	assert_int_equal(tp_sink_pread(s, back, len, 0), 0);
	assert_memory_equal(back, data, len);
	/* 2048 sectors: 8 x 240 + 128, written, then read the same way. */
	assert_int_equal(m.ncmd, 1 + 9 + 9); /* READ_FLASH_INFO first */
	for (int i = 0; i < 18; i++) {
		assert_int_equal(m.cbw[2 + i].op, i < 9 ? TP_RK_WRITE_LBA : TP_RK_READ_LBA);
		assert_int_equal(m.cbw[2 + i].count, i % 9 < 8 ? 240 : 128);
		assert_int_equal(m.cbw[2 + i].lba, 240 * (uint32_t)(i % 9));
	}
	tp_sink_close(s);
	free(data);
	free(back);
}

static void write_range_checks(void **state)
{
	struct tp_sink *s = open_sink();
	uint8_t buf[1024] = { 0 };

	(void)state;
	assert_int_equal(tp_sink_pwrite(s, buf, 100, 0), -EINVAL);
	assert_int_equal(tp_sink_pwrite(s, buf, 512, 100), -EINVAL);
	assert_int_equal(tp_sink_pwrite(s, buf, 1024, s->size - 512), -ENOSPC);
	assert_non_null(strstr(tp_err_msg(), "past the end"));
	assert_int_equal(tp_sink_pwrite(s, buf, 512, s->size - 512), 0);
	assert_int_equal(tp_sink_flush(s), 0);
	tp_sink_close(s);
}

/* Fault at WRITE_LBA number k (command k + 1, after READ_FLASH_INFO). */
static void expect_write_failure(int *knob, int k, int err, const char *what)
{
	struct tp_sink *s = open_sink();
	size_t len = 8 * 65536;
	uint8_t *data = pattern(len, 2);
	char lba[64];
	int rc = 0;

	*knob = k + 1;
	for (size_t off = 0; off < len && rc == 0; off += 65536)
		rc = tp_sink_pwrite(s, data + off, 65536, off);
	if (rc == 0)
		rc = tp_sink_flush(s);
	assert_int_equal(rc, err);
	snprintf(lba, sizeof(lba), "rockusb 1-1.2: WRITE_LBA at LBA %d (+128 sectors)", (k - 1) * 128);
	if (!strstr(tp_err_msg(), lba) || !strstr(tp_err_msg(), what))
		fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", tp_err_msg(), lba, what);
	/* Sticky: the handle keeps failing the same way. */
	assert_int_equal(tp_sink_flush(s), err);
	assert_non_null(strstr(tp_err_msg(), lba));
	assert_int_equal(tp_sink_pwrite(s, data, 512, 0), err);
	assert_int_equal(m.nq, 0); /* nothing left in flight */
	tp_sink_close(s);
	free(data);
}

static void csw_failure(void **state)
{
	(void)state;
	expect_write_failure(&m.fail_csw_at, 3, -EIO, "loader reports failure");
}

static void tag_mismatch(void **state)
{
	(void)state;
	expect_write_failure(&m.bad_tag_at, 2, -EPROTO, "does not match CBW tag");
}

static void vanish(void **state)
{
	(void)state;
	expect_write_failure(&m.vanish_at, 5, -ENODEV, "disconnected");
}

static void short_data(void **state)
{
	(void)state;
	expect_write_failure(&m.short_at, 1, -EIO, "short transfer sending data (32768 of 65536");
}

static void erase_steps(void **state)
{
	struct tp_rockusb *d;

	(void)state;
	assert_int_equal(tp_rockusb_open(NULL, &d), 0);
	/* 32768-sector ERASE_LBA steps (§5.5), LBA and count in the CB. */
	assert_int_equal(tp_rockusb_erase_lba(d, 100, 70000), 0);
	assert_int_equal(m.ncmd, 3);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(m.cbw[i].op, TP_RK_ERASE_LBA);
		assert_int_equal(m.cbw[i].data_len, 0);
		assert_int_equal(m.cbw[i].lba, 100 + 32768u * (uint32_t)(i - 1));
		assert_int_equal(m.cbw[i].count, i < 3 ? 32768 : 70000 - 2 * 32768);
	}
	m.fail_csw_at = 4;
	assert_int_equal(tp_rockusb_erase_lba(d, 0, 1), -EIO);
	assert_non_null(strstr(tp_err_msg(), "ERASE_LBA at LBA 0 (+1 sectors)"));
	tp_rockusb_close(d);
}

static const struct mkldr_entry small[] = {
	{ 1, "UsbHead", 2048, 1, NULL },
	{ 1, "ddr", 8192, 2, NULL },
	{ 2, "usbplug", 4094, 0, NULL },
};

static char *write_ldr(enum mkldr_corrupt c)
{
	static char path[] = "/tmp/tpkit-rkldr-XXXXXX";
	struct mkldr_opts o = { .e = small, .n = 3, .corrupt = c };
	size_t len;
	uint8_t *f = mkldr_build(&o, &len);
	int fd;

	strcpy(path, "/tmp/tpkit-rkldr-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f, len), (ssize_t)len);
	close(fd);
	free(f);
	return path;
}

static void maskrom_then_loader(void **state)
{
	static const uint16_t want[] = { 2050, 4096, 4096, 2, 4096, 1 };
	char *path = write_ldr(MKLDR_OK);
	struct tp_rockusb *d;

	(void)state;
	m.bcd = 0x0200;
	m.leave_after_ctl = 6; /* then back as the loader 350 ms later */
	assert_int_equal(tp_rockusb_open_loader("1-1.2", path, 2000, &d), 0);
	assert_int_equal(tp_rockusb_mode(d), TP_ROCKUSB_LOADER);
	/* Polled in 100 ms steps: found on the first poll past 350 ms. */
	assert_true(m.now_ns - m.left_ns >= 350 * 1000000ull);
	assert_true(m.now_ns - m.left_ns < 450 * 1000000ull);
	assert_int_equal(m.sleeps, 4 + 2); /* polls + the two entry delays (1, 2 ms) */
	/* §4.2 framing: 2048 -> 2050; 8192 -> 2 x 4096 + 2-byte CRC; 4094 ->
	 * 4096 + 1-byte terminator. */
	assert_int_equal(m.nctl, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < m.nctl; i++) {
		assert_int_equal(m.ctl_len[i], want[i]);
		assert_int_equal(m.ctl_area[i], i < 4 ? 0x0471 : 0x0472);
	}
	assert_int_equal(tp_rockusb_test_unit_ready(d), 0);
	tp_rockusb_close(d);
	unlink(path);
}

static void loader_never_comes(void **state)
{
	char *path = write_ldr(MKLDR_OK);
	struct tp_rockusb *d;

	(void)state;
	m.bcd = 0x0200;
	m.leave_after_ctl = 6;
	m.never_back = 1;
	assert_int_equal(tp_rockusb_open("1-1.2", &d), 0);
	{
		struct tp_ldr *l;

		assert_int_equal(tp_ldr_open(path, NULL, &l), 0);
		assert_int_equal(tp_rockusb_download(d, l), 0);
		tp_ldr_free(l);
	}
	m.sleeps = 0;
	assert_int_equal(tp_rockusb_wait_loader(d, 1000), -ETIMEDOUT);
	assert_non_null(strstr(tp_err_msg(), "rockusb 1-1.2: no loader within 1000 ms"));
	assert_true(m.sleeps >= 10 && m.sleeps <= 11);
	tp_rockusb_close(d);
	unlink(path);
}

static void corrupt_loader_untouched(void **state)
{
	char *path = write_ldr(MKLDR_BAD_CRC);
	struct tp_rockusb *d;

	(void)state;
	m.bcd = 0x0200;
	assert_int_equal(tp_rockusb_open_loader("1-1.2", path, 1000, &d), -EINVAL);
	assert_null(d);
	assert_non_null(strstr(tp_err_msg(), "checksum mismatch"));
	assert_non_null(strstr(tp_err_msg(), path));
	assert_int_equal(m.opens, 0);
	assert_int_equal(m.nctl, 0);
	unlink(path);
}

static void no_device(void **state)
{
	struct tp_rockusb *d;

	(void)state;
	m.present = 0;
	assert_int_equal(tp_rockusb_open("1-1.2", &d), -ENODEV);
	assert_non_null(strstr(tp_err_msg(), "no RK3588 (2207:350b) at USB path 1-1.2"));
	m.present = 1;
	assert_int_equal(tp_rockusb_open("1-1.3", &d), -ENODEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(write_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(sectors_option, setup, teardown),
		cmocka_unit_test_setup_teardown(write_range_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(csw_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(tag_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(vanish, setup, teardown),
		cmocka_unit_test_setup_teardown(short_data, setup, teardown),
		cmocka_unit_test_setup_teardown(erase_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(maskrom_then_loader, setup, teardown),
		cmocka_unit_test_setup_teardown(loader_never_comes, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt_loader_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(no_device, setup, teardown),
	};

	return cmocka_run_group_tests_name("rockusb", tests, NULL, NULL);
}
