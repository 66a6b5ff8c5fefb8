// SPDX-License-Identifier: MIT
/*
 * mkldr: build synthetic Rockchip LDR loader files (protocols.md §3) for
 * tests, valid or deliberately broken. Standalone on purpose: its CRC-32,
 * RC4 and layout code are written apart from bmc/rockchip/ldr.c, so a test
 * that feeds one to the other checks the parser instead of mirroring it.
 *
 *   mkldr [options] OUT
 *     --chip XXXX           chip after "RK" (default 3588; stored "8853")
 *     --tag LDR|BOOT        file tag (default LDR)
 *     --471 NAME:SIZE[:MS]  a 0x471 entry; repeatable (default: the RK3588
 *     --472 NAME:SIZE[:MS]  loader's shape, §3.5); SIZE may be @FILE to take
 *     --loader NAME:SIZE    the payload from FILE
 *     --small               small default entries (fast tests)
 *     --rc4                 store payloads RC4-scrambled (RC4 flag 0)
 *     --corrupt KIND        crc | payload | tag | truncate | entry-outside |
 *                           entry-type
 *
 * Payload byte i of the k-th entry of table t is mkldr_pattern(t, k, i), so a
 * device model can check what it received without the file.
 *
 * Tests include this file with MKLDR_NO_MAIN defined to use mkldr_build().
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mkldr_corrupt {
	MKLDR_OK,
	MKLDR_BAD_CRC,       /* flip a bit of the stored CRC */
	MKLDR_BAD_PAYLOAD,   /* flip a bit of the first payload, CRC left stale */
	MKLDR_BAD_TAG,       /* tag "XDR ", CRC recomputed */
	MKLDR_TRUNCATE,      /* cut to 60% of the length */
	MKLDR_ENTRY_OUTSIDE, /* last 0x472 entry points past the end, CRC recomputed */
	MKLDR_ENTRY_TYPE,    /* first 0x471 entry typed 2, CRC recomputed */
};

struct mkldr_entry {
	int type;            /* 1 = 0x471, 2 = 0x472, 4 = loader */
	const char *name;
	uint32_t size;
	uint32_t delay;
	const uint8_t *data; /* NULL: mkldr_pattern() */
};

struct mkldr_opts {
	const char *chip; /* "3588" */
	const char *tag;  /* "LDR " or "BOOT" */
	int rc4;
	enum mkldr_corrupt corrupt;
	const struct mkldr_entry *e;
	size_t n;
};

#define MKLDR_HDR 102
#define MKLDR_ENT 57
#define MKLDR_ALIGN 2048 /* ENTRY_ALIGN of Rockchip's merger (§3.2) */

__attribute__((unused)) static uint8_t mkldr_pattern(int type, size_t k, size_t i)
{
	uint32_t x = (uint32_t)(i * 2654435761u) ^ (uint32_t)(type * 0x9E37u + k * 0x45D9u);

	return (uint8_t)(x ^ x >> 11 ^ x >> 23);
}

static uint32_t mkldr_crc32(const uint8_t *p, size_t len)
{
	static uint32_t table[256];
	uint32_t crc = 0;

	/* Table-driven, unlike the parser's bit loop; same CRC (§3.3):
	 * poly 0x04C10DB7, MSB first, init 0, no final XOR. */
	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t r = i << 24;

			for (int b = 0; b < 8; b++)
				r = (r & 0x80000000u) ? (r << 1) ^ 0x04C10DB7u : r << 1;
			table[i] = r;
		}
	while (len--)
		crc = (crc << 8) ^ table[(crc >> 24) ^ *p++];
	return crc;
}

static void mkldr_rc4(uint8_t *buf, size_t len)
{
	static const uint8_t key[16] = { 124, 78, 3, 4, 85, 5, 9, 7, 45, 44, 123, 56, 23, 13, 23, 17 };
	uint8_t s[256];
	size_t i, j = 0, a = 0, b = 0;

	for (i = 0; i < 256; i++)
		s[i] = (uint8_t)i;
	for (i = 0; i < 256; i++) {
		uint8_t t = s[i];

		j = (j + t + key[i & 15]) % 256;
		s[i] = s[j];
		s[j] = t;
	}
	for (i = 0; i < len; i++) {
		uint8_t t;

		a = (a + 1) % 256;
		b = (b + s[a]) % 256;
		t = s[a];
		s[a] = s[b];
		s[b] = t;
		buf[i] ^= s[(s[a] + s[b]) % 256];
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The file as a malloc'd buffer of *len bytes, or NULL. */
__attribute__((unused)) static uint8_t *mkldr_build(const struct mkldr_opts *o, size_t *len)
{
	static const int types[3] = { 1, 2, 4 };
	size_t cnt[3] = { 0, 0, 0 }, total, off, data_off;
	uint8_t *f;

	*len = 0;
	for (size_t i = 0; i < o->n; i++)
		for (int t = 0; t < 3; t++)
			cnt[t] += o->e[i].type == types[t];
	data_off = MKLDR_HDR + MKLDR_ENT * (cnt[0] + cnt[1] + cnt[2]);
	total = data_off;
	for (size_t i = 0; i < o->n; i++)
		total += (o->e[i].size + MKLDR_ALIGN - 1) / MKLDR_ALIGN * MKLDR_ALIGN;
	total += 4;
	f = calloc(1, total);
	if (!f)
		return NULL;

	/* Header (§3.1). */
	memcpy(f, o->tag ? o->tag : "LDR ", 4);
	f[0x04] = MKLDR_HDR;
	put32(f + 0x06, 0x01080111);      /* version */
	put32(f + 0x0A, 0x01030000);      /* merger version */
	f[0x0E] = 2022 & 0xFF, f[0x0F] = 2022 >> 8;
	f[0x10] = 8, f[0x11] = 30, f[0x12] = 16, f[0x13] = 51, f[0x14] = 13;
	for (int i = 0; i < 4; i++)       /* "3588" stored as "8853" */
		f[0x15 + i] = (uint8_t)(o->chip ? o->chip : "3588")[3 - i];
	off = MKLDR_HDR;
	for (int t = 0; t < 3; t++) {
		uint8_t *h = f + 0x19 + 6 * t;

		h[0] = (uint8_t)cnt[t];
		put32(h + 1, (uint32_t)off);
		h[5] = MKLDR_ENT;
		off += MKLDR_ENT * cnt[t];
	}
	f[0x2B] = 0;              /* not signed */
	f[0x2C] = o->rc4 ? 0 : 1; /* non-zero = RC4 off */

	/* Tables, then payloads in table order (as the merger writes them). */
	off = MKLDR_HDR;
	for (int t = 0; t < 3; t++) {
		size_t k = 0;

		for (size_t i = 0; i < o->n; i++) {
			const struct mkldr_entry *e = &o->e[i];
			uint8_t *ent = f + off, *d = f + data_off;

			if (e->type != types[t])
				continue;
			ent[0] = MKLDR_ENT;
			put32(ent + 0x01, (uint32_t)e->type);
			for (size_t c = 0; c < 20 && e->name[c]; c++)
				ent[0x05 + 2 * c] = (uint8_t)e->name[c]; /* UTF-16LE */
			put32(ent + 0x2D, (uint32_t)data_off);
			put32(ent + 0x31, e->size);
			put32(ent + 0x35, e->delay);
			for (uint32_t b = 0; b < e->size; b++)
				d[b] = e->data ? e->data[b] : mkldr_pattern(e->type, k, b);
			/* §3.4: 0x471/0x472 as one stream, loader entries
			 * per 512-byte packet. */
			if (o->rc4 && e->type != 4)
				mkldr_rc4(d, e->size);
			else if (o->rc4)
				for (uint32_t b = 0; b < e->size; b += 512)
					mkldr_rc4(d + b, e->size - b < 512 ? e->size - b : 512);
			data_off += (e->size + MKLDR_ALIGN - 1) / MKLDR_ALIGN * MKLDR_ALIGN;
			off += MKLDR_ENT;
			k++;
		}
	}

	switch (o->corrupt) {
	case MKLDR_BAD_TAG:
		memcpy(f, "XDR ", 4);
		break;
	case MKLDR_ENTRY_OUTSIDE:
		put32(f + MKLDR_HDR + MKLDR_ENT * (cnt[0] + cnt[1] - 1) + 0x2D, (uint32_t)total + 4096);
		break;
	case MKLDR_ENTRY_TYPE:
		put32(f + MKLDR_HDR + 0x01, 2);
		break;
	default:
		break;
	}
	put32(f + total - 4, mkldr_crc32(f, total - 4));
	switch (o->corrupt) {
	case MKLDR_BAD_CRC:
		f[total - 1] ^= 0x40;
		break;
	case MKLDR_BAD_PAYLOAD:
		f[MKLDR_HDR + MKLDR_ENT * (cnt[0] + cnt[1] + cnt[2])] ^= 0x01;
		break;
	case MKLDR_TRUNCATE:
		total = total * 6 / 10;
		break;
	default:
		break;
	}
	*len = total;
	return f;
}

#ifndef MKLDR_NO_MAIN
#include <getopt.h>

#define MAX_ENTRIES 32

static uint8_t *read_file(const char *path, uint32_t *size)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
	    (buf = malloc(n ? (size_t)n : 1)) && fread(buf, 1, (size_t)n, fp) == (size_t)n) {
		*size = (uint32_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	return buf;
}

/* NAME:SIZE[:MS] or NAME:@FILE[:MS] */
static int parse_entry(char *arg, int type, struct mkldr_entry *e)
{
	char *size = strchr(arg, ':'), *delay, *end;

	*e = (struct mkldr_entry){ 0 }; /* no payload file unless @FILE says so */
	if (!size)
		return -1;
	*size++ = '\0';
	delay = strchr(size, ':');
	if (delay)
		*delay++ = '\0';
	e->type = type;
	e->name = arg;
	e->delay = delay ? (uint32_t)strtoul(delay, NULL, 0) : 0;
	if (size[0] == '@') {
		e->data = read_file(size + 1, &e->size);
		if (!e->data) {
			fprintf(stderr, "mkldr: %s: %s\n", size + 1, strerror(errno));
			return -1;
		}
		return 0;
	}
	e->size = (uint32_t)strtoul(size, &end, 0);
	return *end || !e->size ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct mkldr_entry rk3588[] = {
		/* protocols.md §3.5: bmcd's rk3588_spl_loader_v1.08.111.bin */
		{ 1, "UsbHead", 2048, 1, NULL },
		{ 1, "rk3588_ddr_lp4_2112M", 65536, 1, NULL },
		{ 2, "rk3588_usbplug_v1.08", 96256, 0, NULL },
		{ 4, "FlashHead", 2048, 0, NULL },
		{ 4, "FlashData", 65536, 0, NULL },
		{ 4, "FlashBoot", 8192, 0, NULL },
	};
	static const struct mkldr_entry small[] = {
		{ 1, "UsbHead", 100, 1, NULL },
		{ 1, "ddr", 5000, 2, NULL },
		{ 2, "usbplug", 4095, 0, NULL },
		{ 4, "FlashData", 600, 0, NULL },
	};
	static const char *const kinds[] = { "none", "crc", "payload", "tag", "truncate",
					     "entry-outside", "entry-type" };
	static const struct option lo[] = {
		{ "chip", 1, NULL, 'c' },   { "tag", 1, NULL, 't' },   { "471", 1, NULL, '1' },
		{ "472", 1, NULL, '2' },    { "loader", 1, NULL, '4' }, { "small", 0, NULL, 's' },
		{ "rc4", 0, NULL, 'r' },    { "corrupt", 1, NULL, 'x' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mkldr_entry e[MAX_ENTRIES];
	struct mkldr_opts o = { .chip = "3588", .tag = "LDR " };
	int c, use_small = 0;
	uint8_t *f;
	size_t len;
	FILE *out;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (strlen(optarg) != 4)
				goto usage;
			o.chip = optarg;
			break;
		case 't':
			o.tag = !strcmp(optarg, "BOOT") ? "BOOT" : !strcmp(optarg, "LDR") ? "LDR " : NULL;
			if (!o.tag)
				goto usage;
			break;
		case '1':
		case '2':
		case '4':
			if (o.n == MAX_ENTRIES || parse_entry(optarg, c - '0', &e[o.n]) < 0)
				goto usage;
			o.n++;
			break;
		case 's':
			use_small = 1;
			break;
		case 'r':
			o.rc4 = 1;
			break;
		case 'x':
			for (c = 0; c < (int)(sizeof(kinds) / sizeof(kinds[0])); c++)
				if (!strcmp(optarg, kinds[c]))
					break;
			if (c == (int)(sizeof(kinds) / sizeof(kinds[0])))
				goto usage;
			o.corrupt = (enum mkldr_corrupt)c;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	if (!o.n) {
		o.e = use_small ? small : rk3588;
		o.n = use_small ? sizeof(small) / sizeof(small[0]) : sizeof(rk3588) / sizeof(rk3588[0]);
	} else {
		o.e = e;
	}
	f = mkldr_build(&o, &len);
	if (!f || !(out = fopen(argv[optind], "wb")) || fwrite(f, 1, len, out) != len ||
	    fclose(out) != 0) {
		fprintf(stderr, "mkldr: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	free(f);
	for (size_t i = 0; o.e == e && i < o.n; i++) /* @FILE payloads (LeakSanitizer) */
		free((void *)e[i].data);
	return 0;
usage:
	fprintf(stderr, "usage: mkldr [--chip XXXX] [--tag LDR|BOOT] [--471 NAME:SIZE[:MS]]...\n"
			"             [--472 NAME:SIZE[:MS]]... [--loader NAME:SIZE]... [--small]\n"
			"             [--rc4] [--corrupt crc|payload|tag|truncate|entry-outside|"
			"entry-type] OUT\n");
	return 2;
}
#endif
