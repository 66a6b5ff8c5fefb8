// SPDX-License-Identifier: MIT
/*
 * Maskrom framing and sequencing (protocols.md §4), with the control
 * transfers recorded instead of sent and a virtual clock for the delays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bmc/rockchip/ldr.h"
#include "bmc/rockchip/maskrom.h"
#include "common/clock.h"
#include "common/err.h"

#define MKLDR_NO_MAIN
#include "tests/tools/mkldr.c"

#define MAX_EV 256

/* One event: a transfer (area, length, last) or a sleep (area 0, ms). */
struct ev {
	uint16_t area;
	size_t len;
	int last;
	unsigned sleep_ms;
};

static struct rec {
	struct ev ev[MAX_EV];
	size_t n;
	uint8_t stream[300000]; /* the bytes of every transfer, back to back */
	size_t bytes;
	int fail_at; /* make the n-th transfer fail (1-based), 0 = never */
} rec;

static int record(void *cookie, uint16_t area, const uint8_t *buf, size_t len, int last)
{
	(void)cookie;
	assert_true(rec.n < MAX_EV);
	assert_true(len > 0 && len <= TP_MASKROM_CHUNK);
	rec.ev[rec.n++] = (struct ev){ .area = area, .len = len, .last = last };
	if (rec.fail_at && (int)rec.n == rec.fail_at)
		return tp_err_set(-EPIPE, "stalled");
	assert_true(rec.bytes + len <= sizeof(rec.stream));
	memcpy(rec.stream + rec.bytes, buf, len);
	rec.bytes += len;
	return 0;
}

static int fake_now(void *cookie, uint64_t *ns)
{
	(void)cookie;
	*ns = 0;
	return 0;
}

static int fake_sleep(void *cookie, uint64_t ns)
{
	(void)cookie;
	assert_true(rec.n < MAX_EV);
	rec.ev[rec.n++] = (struct ev){ .sleep_ms = (unsigned)(ns / 1000000u) };
	return 0;
}

static const struct tp_clock_ops fake_clock = { "fake", fake_now, fake_sleep };

static int setup(void **state)
{
	(void)state;
	memset(&rec, 0, sizeof(rec));
	tp_clock_use(&fake_clock, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tp_clock_use(NULL, NULL);
	return 0;
}

/* Independent bitwise CRC-16/CCITT-FALSE. */
static uint16_t ref_crc16(const uint8_t *p, size_t len)
{
	uint16_t c = 0xFFFF;

	while (len--) {
		c ^= (uint16_t)(*p++ << 8);
		for (int i = 0; i < 8; i++)
			c = (c & 0x8000) ? (uint16_t)((c << 1) ^ 0x1021) : (uint16_t)(c << 1);
	}
	return c;
}

/* Send one entry of len bytes and check the transfers against §4.2's table. */
static void check_len(size_t len)
{
	uint8_t *data = malloc(len + 1);
	size_t full = len / 4096, rem = len % 4096, body = len, i = 0;
	uint16_t crc;

	assert_non_null(data);
	for (size_t k = 0; k < len; k++)
		data[k] = mkldr_pattern(1, len, k);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(tp_maskrom_send(0x0471, data, len, 1, record, NULL), 0);

	/* 4095: a 0x00 pad is appended first and covered by the CRC. */
	if (rem == 4095) {
		data[len] = 0x00;
		body = len + 1;
	}
	crc = ref_crc16(data, body);
	/* The stream is exactly data (+pad), CRC big-endian (+ 1-byte 0x00
	 * terminator in the 4094 case). */
	assert_int_equal(rec.bytes, body + 2 + (rem == 4094));
	assert_memory_equal(rec.stream, data, body);
	assert_int_equal(rec.stream[body], crc >> 8);
	assert_int_equal(rec.stream[body + 1], crc & 0xFF);
	if (rem == 4094)
		assert_int_equal(rec.stream[body + 2], 0x00);

	for (; i < full; i++)
		assert_int_equal(rec.ev[i].len, 4096);
	switch (rem) {
	case 0: /* 4096-byte chunks, then a 2-byte CRC transfer */
		assert_int_equal(rec.ev[i++].len, 2);
		break;
	case 4094: /* 4094 + 2 = 4096, then a 1-byte 0x00 */
		assert_int_equal(rec.ev[i++].len, 4096);
		assert_int_equal(rec.ev[i++].len, 1);
		break;
	case 4095: /* 4095 + pad = 4096, then a 2-byte CRC transfer */
		assert_int_equal(rec.ev[i++].len, 4096);
		assert_int_equal(rec.ev[i++].len, 2);
		break;
	default:
		assert_int_equal(rec.ev[i++].len, rem + 2);
	}
	assert_int_equal(rec.n, i);
	/* The area always ends short, and only the final one is "last". */
	assert_true(rec.ev[rec.n - 1].len < 4096);
	for (size_t k = 0; k < rec.n; k++) {
		assert_int_equal(rec.ev[k].area, 0x0471);
		assert_int_equal(rec.ev[k].last, k == rec.n - 1);
	}
	free(data);
}

static void edge_lengths(void **state)
{
	static const size_t lens[] = { 1,	 2,	   100,	    2048,	 4093,	    4094,
				       4095,	 4096,	   4097,    8190,	 8191,	    8192,
				       4096 + 4093, 4096 + 4094, 4096 + 4095, 65536, 96256, 3 * 4096 + 1 };

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		check_len(lens[i]);
}

static void empty_rejected(void **state)
{
	(void)state;
	assert_int_equal(tp_maskrom_send(0x0471, (const uint8_t *)"", 0, 0, record, NULL), -EINVAL);
	assert_int_equal(rec.n, 0);
}

/* The RK3588 loader of §3.5, transfer by transfer (its worked examples). */
static void rk3588_sequence(void **state)
{
	struct mkldr_opts o = { .chip = "3588" };
	struct mkldr_entry e[] = {
		{ 1, "UsbHead", 2048, 1, NULL },
		{ 1, "rk3588_ddr_lp4_2112M", 65536, 1, NULL },
		{ 2, "rk3588_usbplug_v1.08", 96256, 0, NULL },
		{ 4, "FlashData", 1024, 0, NULL },
	};
	struct tp_ldr *l;
	uint8_t *f;
	size_t len, i = 0;

	(void)state;
	o.e = e, o.n = 4;
	f = mkldr_build(&o, &len);
	assert_int_equal(tp_ldr_parse(f, len, "rk.bin", "3588", &l), 0);
	assert_int_equal(tp_maskrom_download(l, record, NULL), 0);

	/* UsbHead: one 2050-byte transfer, then its 1 ms. */
	assert_int_equal(rec.ev[i].area, 0x0471);
	assert_int_equal(rec.ev[i++].len, 2050);
	assert_int_equal(rec.ev[i++].sleep_ms, 1);
	/* DDR init: 16 x 4096, a 2-byte CRC, 1 ms. */
	for (int k = 0; k < 16; k++) {
		assert_int_equal(rec.ev[i].area, 0x0471);
		assert_int_equal(rec.ev[i++].len, 4096);
	}
	assert_int_equal(rec.ev[i++].len, 2);
	assert_int_equal(rec.ev[i++].sleep_ms, 1);
	/* usbplug: 23 x 4096, then 2050; no delay; the last is "last". */
	for (int k = 0; k < 23; k++) {
		assert_int_equal(rec.ev[i].area, 0x0472);
		assert_int_equal(rec.ev[i].last, 0);
		assert_int_equal(rec.ev[i++].len, 4096);
	}
	assert_int_equal(rec.ev[i].area, 0x0472);
	assert_int_equal(rec.ev[i].last, 1);
	assert_int_equal(rec.ev[i++].len, 2050);
	/* Loader (flash) entries are never downloaded. */
	assert_int_equal(rec.n, i);
	tp_ldr_free(l);
	free(f);
}

static void failure_names_entry(void **state)
{
	struct tp_ldr *l;
	uint8_t *f;
	size_t len;
	struct mkldr_entry e[] = {
		{ 1, "UsbHead", 100, 1, NULL },
		{ 2, "usbplug", 9000, 0, NULL },
	};
	struct mkldr_opts o = { .e = e, .n = 2 };

	(void)state;
	f = mkldr_build(&o, &len);
	assert_int_equal(tp_ldr_parse(f, len, "x.bin", NULL, &l), 0);
	rec.fail_at = 4; /* UsbHead, sleep, usbplug chunk 1, chunk 2 fails */
	assert_int_equal(tp_maskrom_download(l, record, NULL), -EPIPE);
	assert_non_null(strstr(tp_err_msg(), "area 0x0472 entry \"usbplug\" of x.bin"));
	assert_non_null(strstr(tp_err_msg(), "stalled"));
	assert_int_equal(rec.n, 4); /* stopped at the failure */
	tp_ldr_free(l);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(edge_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(rk3588_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(failure_names_entry, setup, teardown),
	};

	return cmocka_run_group_tests_name("maskrom", tests, NULL, NULL);
}
