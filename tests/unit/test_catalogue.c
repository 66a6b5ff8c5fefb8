// SPDX-License-Identifier: MIT
/* The image catalogue parser (common/catalogue.c): entries, every malformed
 * case with its file:line message, overrides across files, --image auto. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/catalogue.h"
#include "common/err.h"
#include "common/path.h"

#define H1 "88584d5797bac01efd3bb1063935ce9f00947e4d4aa0c671d0a39ec8db6ca8f7"
#define H2 "790652faeb4f61ce7bb12f5cb61734595c61d3cd882915b8b5f9918106c80d37"
#define HU "88584D5797BAC01EFD3BB1063935CE9F00947E4D4AA0C671D0A39EC8DB6CA8F7"

static int parse(struct tp_catalogue *c, const char *text, const char *file)
{
	return tp_catalogue_parse(c, text, strlen(text), file);
}

static void parse_ok(void **state)
{
	struct tp_catalogue c = { 0 };
	const struct tp_catalogue_entry *e;
	const char *text = "# comment\n"
			   "\n"
			   "[ubuntu-24.04-server-rk1]\n"
			   "module = rk1\r\n"
			   "  url=https://h/x.img.xz#frag  \n"
			   "sha256 = " HU "\n"
			   "size = 1234\n"
			   "raw-size = 8589934592\n"
			   "description = Ubuntu # not a comment\n"
			   "default = yes\n"
			   "[cm4_img.2]\n"
			   "module = cm4\n"
			   "url = http://127.0.0.1:8080/c.img.xz\n"
			   "sha256 = " H2; /* no final newline */

	(void)state;
	assert_int_equal(parse(&c, text, "a.conf"), 0);
	assert_int_equal(c.n, 2);
	e = tp_catalogue_find(&c, "ubuntu-24.04-server-rk1");
	assert_non_null(e);
	assert_string_equal(e->module, "rk1");
	assert_string_equal(e->url, "https://h/x.img.xz#frag");
	assert_string_equal(e->sha256, H1); /* lower-cased */
	assert_int_equal(e->size, 1234);
	assert_int_equal(e->raw_size, 8589934592ull);
	assert_string_equal(e->description, "Ubuntu # not a comment");
	assert_true(e->is_default);
	assert_string_equal(e->origin, "a.conf:3");
	e = tp_catalogue_find(&c, "cm4_img.2");
	assert_non_null(e);
	assert_string_equal(e->sha256, H2);
	assert_int_equal(e->size, 0);
	assert_int_equal(e->raw_size, 0);
	assert_false(e->is_default);
	assert_string_equal(e->origin, "a.conf:11");
	assert_null(tp_catalogue_find(&c, "nope"));
	tp_catalogue_free(&c);
}

#define ENT(name) "[" name "]\nmodule = rk1\nurl = https://h/i.xz\nsha256 = " H1 "\n"

static void parse_bad(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "[a]\nmodule = rk1\nurl = https://h/i\nsha256 = 88584d5797bac01efd3bb1063935ce9f"
		  "00947e4d4aa0c671d0a39ec8db6ca8f\n",
		  "t.conf:4: sha256: \"88584d5797bac01efd3bb1063935ce9f00947e4d4aa0c671d0a39ec8db"
		  "6ca8f\" has 63 characters; a SHA-256 is 64 hex digits" },
		{ "[a]\nsha256 = " H1 "0\n", "t.conf:2: sha256: \"" H1 "0\" has 65 characters" },
		{ "[a]\nsha256 = g8584d5797bac01efd3bb1063935ce9f00947e4d4aa0c671d0a39ec8db6ca8f7\n",
		  "t.conf:2: sha256: \"g8584d5797bac01efd3bb1063935ce9f00947e4d4aa0c671d0a39ec8db6"
		  "ca8f7\" is not hexadecimal ('g' at position 1)" },
		{ "[a]\nsha256 = 88584d5797bac01efd3bb1063935ce9f00947e4d4aa0c671d0a39ec8db6ca8f "
		  "\n", "has 63 characters" },
		{ ENT("a") "\n" ENT("b") ENT("a"),
		  "t.conf:10: name: [a] is defined twice in this file (first at line 1)" },
		{ ENT("a") "colour = red\n",
		  "t.conf:5: unknown key \"colour\"; the keys are kind, module, arch, version, "
		  "url, sha256, size, raw-size, description and default" },
		/* k3s files (docs/seeding.md §9). */
		{ "[k]\nkind = k3s\n", "t.conf:2: kind: \"k3s\" is not image, k3s-binary, "
		  "k3s-images or k3s-install" },
		{ "[k]\nkind = k3s-binary\narch = aarch64\n", "t.conf:3: arch: \"aarch64\" is "
		  "not arm64 or amd64 (k3s's names)" },
		{ "[k]\nkind = k3s-binary\nversion = 1.31.12\n", "t.conf:3: version: \"1.31.12\" "
		  "is not a k3s release (vX.Y.Z+k3sN)" },
		{ "[k]\nversion = v1.31.12+k3s1 x\n", "t.conf:2: version: \"v1.31.12+k3s1 x\" is "
		  "not a k3s release" },
		{ "[k]\nkind = k3s-binary\nversion = v1.31.12+k3s1\nurl = https://h/k3s-arm64\n"
		  "sha256 = " H1 "\n", "t.conf:1: [k]: arch missing; a k3s-binary entry needs "
		  "version, arch, url and sha256" },
		{ "[k]\nkind = k3s-install\narch = arm64\nurl = https://h/install.sh\n"
		  "sha256 = " H1 "\n", "t.conf:1: [k]: version missing; a k3s-install entry needs "
		  "version, url and sha256" },
		{ "[k]\nkind = k3s-images\nmodule = rk1\narch = arm64\nversion = v1.31.12+k3s1\n"
		  "url = https://h/i.tar.zst\nsha256 = " H1 "\n", "t.conf:1: [k]: module, default "
		  "and raw-size are for OS images; a k3s-images entry has arch and version" },
		{ ENT("a") "version = v1.31.12+k3s1\n", "t.conf:1: [a]: arch and version are for "
		  "k3s files (kind = k3s-...); an image has a module" },
		{ ENT("a") "url = https://h/j\n", "t.conf:5: url: given twice for [a]" },
		{ "[Bad]\n", "t.conf:1: name: \"Bad\" is not a valid image name" },
		{ "[a b]\n", "t.conf:1: name: \"a b\" is not a valid image name" },
		{ "[]\n", "t.conf:1: name: \"\" is not a valid image name" },
		{ "[-a]\n", "t.conf:1: name: \"-a\" is not a valid image name" },
		{ "[a/b]\n", "t.conf:1: name: \"a/b\" is not a valid image name" },
		{ "[a] x\n", "t.conf:1: \"[a] x\": a stanza starts with [name] alone on its line" },
		{ "[a\n", "t.conf:1: \"[a\": a stanza starts with [name] alone" },
		{ "[a]\nmodule = rk3\n", "t.conf:2: module: \"rk3\" is not a module tpkit flashes; "
		  "use rk1 or cm4" },
		{ "[a]\nurl = ftp://h/i\n", "t.conf:2: url: \"ftp://h/i\" is not an http:// or "
		  "https:// URL" },
		{ "[a]\nurl =\n", "t.conf:2: url: empty value for [a]" },
		{ ENT("a") "size = 12k\n", "t.conf:5: size: \"12k\" is not a byte count" },
		{ ENT("a") "size = 0\n", "t.conf:5: size: \"0\" is not a byte count" },
		{ ENT("a") "raw-size = -1\n", "t.conf:5: raw-size: \"-1\" is not a byte count" },
		{ ENT("a") "size = 99999999999999999999\n", "t.conf:5: size: \"999" },
		{ ENT("a") "default = maybe\n", "t.conf:5: default: \"maybe\" is not yes or no" },
		{ "[a]\nmodule = rk1\nurl = https://h/i\n\n[b]\n",
		  "t.conf:1: [a]: sha256 missing; every image needs module, url and sha256" },
		{ "[a]\nmodule = rk1\nsha256 = " H1 "\n", "t.conf:1: [a]: url missing" },
		{ "[a]\nurl = https://h/i\nsha256 = " H1 "\n", "t.conf:1: [a]: module missing" },
		{ "module = rk1\n", "t.conf:1: \"module = rk1\" comes before any [name] line" },
		{ "# ok\n[a]\njust words\n", "t.conf:3: \"just words\" is neither [name], key = "
		  "value nor a # comment" },
		{ "[a]\nsha 256 = x\n", "t.conf:2: unknown key \"sha 256\" (keys are one word" },
		{ ENT("a") "default = yes\n" ENT("b") "default = yes\n",
		  "t.conf:6: default: [b] and [a] (line 1) are both the default rk1 image" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_catalogue c = { 0 };

		assert_int_equal(parse(&c, ENT("keep"), "base.conf"), 0);
		tp_err_clear();
		if (parse(&c, cases[i].text, "t.conf") != -EINVAL ||
		    !strstr(tp_err_msg(), cases[i].msg))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, tp_err_msg(), cases[i].msg);
		/* A malformed file changes nothing. */
		assert_int_equal(c.n, 1);
		assert_string_equal(c.e[0].name, "keep");
		tp_catalogue_free(&c);
	}
}

/* The k3s bundle's files: kind, arch, version; found by version and arch,
 * an install.sh without arch for any arch. */
static void k3s_files(void **state)
{
	struct tp_catalogue c = { 0 };
	const struct tp_catalogue_entry *e;
	const char *text = "[k3s-v1.31.12-arm64]\nkind = k3s-binary\narch = arm64\n"
			   "version = v1.31.12+k3s1\nurl = https://h/k3s-arm64\nsha256 = " H1 "\n"
			   "size = 70000000\n"
			   "[k3s-images-v1.31.12-amd64]\nkind = k3s-images\narch = amd64\n"
			   "version = v1.31.12+k3s1\nurl = https://h/k3s-airgap-images-amd64.tar.zst\n"
			   "sha256 = " H2 "\n"
			   "[k3s-install-v1.31.12]\nkind = k3s-install\nversion = v1.31.12+k3s1\n"
			   "url = https://h/install.sh\nsha256 = " H2 "\n"
			   "[rk1]\nkind = image\n" "module = rk1\nurl = https://h/r.img.xz\n"
			   "sha256 = " H1 "\n";

	(void)state;
	assert_int_equal(parse(&c, text, "k.conf"), 0);
	assert_int_equal(c.n, 4);
	e = tp_catalogue_k3s(&c, TP_CAT_K3S_BINARY, "v1.31.12+k3s1", "arm64");
	assert_non_null(e);
	assert_string_equal(e->name, "k3s-v1.31.12-arm64");
	assert_int_equal(e->size, 70000000);
	assert_string_equal(e->module, "");
	assert_null(tp_catalogue_k3s(&c, TP_CAT_K3S_BINARY, "v1.31.12+k3s1", "amd64"));
	assert_null(tp_catalogue_k3s(&c, TP_CAT_K3S_BINARY, "v1.32.3+k3s1", "arm64"));
	e = tp_catalogue_k3s(&c, TP_CAT_K3S_IMAGES, "v1.31.12+k3s1", "amd64");
	assert_non_null(e);
	assert_string_equal(e->url, "https://h/k3s-airgap-images-amd64.tar.zst");
	e = tp_catalogue_k3s(&c, TP_CAT_K3S_INSTALL, "v1.31.12+k3s1", "arm64");
	assert_non_null(e);
	assert_string_equal(tp_catalogue_kind_name(e->kind), "k3s-install");
	assert_string_equal(e->arch, "");
	/* k3s files are no module's image: auto still finds the one image. */
	e = tp_catalogue_auto(&c, "rk1");
	assert_non_null(e);
	assert_string_equal(e->name, "rk1");
	assert_int_equal(e->kind, TP_CAT_IMAGE);
	tp_catalogue_free(&c);
}

static void parse_limits(void **state)
{
	struct tp_catalogue c = { 0 };
	char *big = malloc(4000);
	static const char nul[] = "[a]\nmod\0ule = rk1\n";

	(void)state;
	memset(big, 'x', 3999);
	big[3999] = '\0';
	assert_int_equal(parse(&c, big, "t.conf"), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "t.conf:1: line longer than 2048 characters"));
	assert_int_equal(tp_catalogue_parse(&c, nul, sizeof(nul) - 1, "t.conf"), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "t.conf:2: a NUL byte"));
	/* names: 63 characters is the most */
	assert_true(tp_catalogue_name_ok("a23456789012345678901234567890123456789012345678901234567890123"));
	assert_false(tp_catalogue_name_ok("a234567890123456789012345678901234567890123456789012345678901234"));
	assert_true(tp_catalogue_name_ok("0.9_a-b"));
	assert_false(tp_catalogue_name_ok(".hidden"));
	assert_false(tp_catalogue_name_ok("auto!"));
	assert_int_equal(parse(&c, "", "empty.conf"), 0);
	assert_int_equal(c.n, 0);
	free(big);
	tp_catalogue_free(&c);
}

static void overrides(void **state)
{
	struct tp_catalogue c = { 0 };
	const struct tp_catalogue_entry *e;

	(void)state;
	assert_int_equal(parse(&c, ENT("a") "default = yes\n" ENT("b")
			       "[m]\nmodule = cm4\nurl = https://h/m\nsha256 = " H2 "\n",
			       "ship.conf"), 0);
	e = tp_catalogue_auto(&c, "rk1");
	assert_non_null(e);
	assert_string_equal(e->name, "a");
	/* The only cm4 image needs no default flag. */
	assert_string_equal(tp_catalogue_auto(&c, "cm4")->name, "m");

	/* Replace a whole (it keeps its default flag: not said) and add one. */
	assert_int_equal(parse(&c, "[a]\nmodule = rk1\nurl = https://mirror/a\nsha256 = " H2
			       "\n" "[z]\nmodule = cm4\nurl = https://h/z\nsha256 = " H1 "\n",
			       "/etc/tpkit/images.conf"), 0);
	assert_int_equal(c.n, 4);
	e = tp_catalogue_find(&c, "a");
	assert_string_equal(e->url, "https://mirror/a");
	assert_string_equal(e->sha256, H2);
	assert_int_equal(e->size, 0);
	assert_string_equal(e->origin, "/etc/tpkit/images.conf:1");
	assert_true(e->is_default);
	/* Two cm4 images, none marked: auto refuses to guess. */
	assert_null(tp_catalogue_auto(&c, "cm4"));
	assert_non_null(strstr(tp_err_msg(), "has 2 cm4 images and none is marked default = yes"));

	/* A later default moves the flag; "default = no" drops it. */
	assert_int_equal(parse(&c, ENT("b") "default = yes\n", "user.conf"), 0);
	assert_string_equal(tp_catalogue_auto(&c, "rk1")->name, "b");
	assert_false(tp_catalogue_find(&c, "a")->is_default);
	assert_int_equal(parse(&c, ENT("b") "default = no\n", "user2.conf"), 0);
	assert_null(tp_catalogue_auto(&c, "rk1"));
	tp_catalogue_free(&c);

	assert_null(tp_catalogue_auto(&c, "rk1"));
	assert_non_null(strstr(tp_err_msg(), "the image catalogue has no rk1 image"));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The three files, in order, under a fake root (tp_path). */
static void load_files(void **state)
{
	char dir[] = "/tmp/tpkit-cat.XXXXXX", p[512], user[512];
	struct tp_catalogue c = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	tp_root_set(dir);
	assert_int_equal(tp_catalogue_load(&c, NULL), -ENOENT);
	assert_non_null(strstr(tp_err_msg(), "no image catalogue"));
	assert_non_null(strstr(tp_err_msg(), "/usr/share/tpkit/images.conf"));
	snprintf(p, sizeof(p), "mkdir -p %s/usr/share/tpkit %s/etc/tpkit", dir, dir);
	assert_int_equal(system(p), 0);
	snprintf(p, sizeof(p), "%s/usr/share/tpkit/images.conf", dir);
	write_file(p, ENT("a") ENT("b"));
	assert_int_equal(tp_catalogue_load(&c, NULL), 0); /* no /etc file: fine */
	assert_int_equal(c.n, 2);
	tp_catalogue_free(&c);
	snprintf(p, sizeof(p), "%s/etc/tpkit/images.conf", dir);
	write_file(p, ENT("b") "size = 7\n" ENT("c"));
	snprintf(user, sizeof(user), "%s/user.conf", dir);
	write_file(user, ENT("c") "size = 9\n");
	assert_int_equal(tp_catalogue_load(&c, user), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(tp_catalogue_find(&c, "b")->size, 7);
	assert_int_equal(tp_catalogue_find(&c, "c")->size, 9);
	tp_catalogue_free(&c);
	/* A malformed /etc file is an error naming it, not ignored. */
	write_file(p, ENT("b") "sha256 = 123\n");
	assert_int_equal(tp_catalogue_load(&c, NULL), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "/etc/tpkit/images.conf:5: sha256:"));
	tp_catalogue_free(&c);
	snprintf(p, sizeof(p), "%s/missing.conf", dir);
	unlink(user);
	assert_int_equal(tp_catalogue_load_file(&c, p, true), 0);
	assert_int_equal(tp_catalogue_load_file(&c, p, false), -ENOENT);
	assert_non_null(strstr(tp_err_msg(), "cannot open the image catalogue"));
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
	tp_root_set("/");
}

/* The catalogue that ships parses, and pins the values of
 * commissioning.md §3.1. */
static void shipped(void **state)
{
	struct tp_catalogue c = { 0 };
	const char *path = "images/images.conf";

	(void)state;
	if (access(path, R_OK) != 0)
		skip();
	assert_int_equal(tp_catalogue_load_file(&c, path, false), 0);
	assert_string_equal(tp_catalogue_auto(&c, "rk1")->sha256, H1);
	assert_string_equal(tp_catalogue_auto(&c, "cm4")->sha256, H2);
	assert_non_null(strstr(tp_catalogue_auto(&c, "rk1")->url,
			       "/v2.4.0/ubuntu-24.04-preinstalled-server-arm64-turing-rk1.img.xz"));
	assert_non_null(strstr(tp_catalogue_auto(&c, "cm4")->url,
			       "/24.04.4/release/ubuntu-24.04.4-preinstalled-server-arm64+raspi"));
	tp_catalogue_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_ok),   cmocka_unit_test(parse_bad),
		cmocka_unit_test(k3s_files),
		cmocka_unit_test(parse_limits), cmocka_unit_test(overrides),
		cmocka_unit_test(load_files), cmocka_unit_test(shipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
