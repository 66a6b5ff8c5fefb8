// SPDX-License-Identifier: MIT
/*
 * Files of the BMC that go into a node's root (hostfile.h). The node
 * helper is read at planning time, on the main thread, so that a missing
 * or wrong file stops a flash before any node is touched
 * (docs/seeding.md §8).
 */
#include "hostfile.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HELPER_MAX (64u << 20) /* the static aarch64 build is a few MiB */

const char *tp_elf_k3s_arch(unsigned machine)
{
	return machine == TP_ELF_AARCH64 ? "arm64" : machine == TP_ELF_X86_64 ? "amd64" : NULL;
}

/* What to do about a helper that cannot be used, by where its path came from. */
static const char *advice(const char *what)
{
	return what ? "give the node helper built for the nodes (build/tpkit-node, or "
		      "build-aarch64/tpkit-node from make TPKIT_ARCH=aarch64 node)"
		    : "build it (make TPKIT_ARCH=aarch64 node) and install it (make install), "
		      "or give one with --node-helper FILE";
}

/*
 * ELF header (the System V gABI): e_ident[0..3] = 7f 'E' 'L' 'F',
 * e_ident[4] class (1 = 32-bit, 2 = 64-bit), e_ident[5] data (1 = little,
 * 2 = big endian), then e_type (2 bytes at 16: 2 EXEC, 3 DYN) and
 * e_machine (2 bytes at 18) in that byte order.
 */
static int elf_check(const unsigned char *d, size_t len, unsigned *machine)
{
	unsigned type;

	if (len < 20 || memcmp(d, "\x7f" "ELF", 4))
		return -ENOEXEC;
	if ((d[4] != 1 && d[4] != 2) || (d[5] != 1 && d[5] != 2))
		return -ENOEXEC;
	type = d[5] == 1 ? d[16] | d[17] << 8 : d[17] | d[16] << 8;
	*machine = d[5] == 1 ? d[18] | d[19] << 8 : d[19] | d[18] << 8;
	return type == 2 || type == 3 ? 0 : -ENOEXEC;
}

int tp_seed_helper_read(const char *path, const char *what, char **data, size_t *len,
			unsigned *machine)
{
	const char *from = what ? what : "the node helper";
	struct stat st;
	char *d = NULL;
	size_t n = 0;
	int fd, rc;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return tp_err_set(rc, "%s %s: %s; %s", from, path, strerror(-rc), advice(what));
	}
	if (fstat(fd, &st) < 0)
		TP_FAIL(-errno, "%s %s: %s", from, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		TP_FAIL(-EINVAL, "%s %s is not a regular file; %s", from, path, advice(what));
	if ((uint64_t)st.st_size > HELPER_MAX)
		TP_FAIL(-EFBIG, "%s %s is %llu bytes, more than a node helper can be (%u MiB); %s",
			from, path, (unsigned long long)st.st_size, HELPER_MAX >> 20, advice(what));
	d = malloc((size_t)st.st_size + 1);
	if (!d)
		TP_FAIL(-ENOMEM, "out of memory reading %s", path);
	while (n < (size_t)st.st_size) {
		ssize_t got = read(fd, d + n, (size_t)st.st_size - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			TP_FAIL(-errno, "reading %s %s: %s", from, path, strerror(errno));
		if (got == 0)
			TP_FAIL(-EIO, "reading %s %s: it shrank while being read", from, path);
		n += (size_t)got;
	}
	if (elf_check((unsigned char *)d, n, machine) < 0)
		TP_FAIL(-ENOEXEC, "%s %s is not an ELF executable (a program built for the "
			"nodes); %s", from, path, advice(what));
	*data = d;
	*len = n;
	d = NULL;
	rc = 0;
out:
	free(d);
	close(fd);
	return rc;
}
