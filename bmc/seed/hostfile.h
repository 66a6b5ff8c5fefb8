/* SPDX-License-Identifier: MIT */
/*
 * Files of the BMC that seeding copies into a node's root (docs/seeding.md
 * §8): the node helper, read whole and checked to be an ELF executable, and
 * large files (the k3s bundle) that are hashed and later streamed in chunks
 * rather than held in memory.
 */
#ifndef TP_SEED_HOSTFILE_H
#define TP_SEED_HOSTFILE_H

#include <stddef.h>
#include <stdint.h>

/* ELF e_machine values seeding knows (the node's architecture). */
#define TP_ELF_X86_64  62
#define TP_ELF_AARCH64 183

/* The k3s name of a machine ("arm64", "amd64"), NULL for any other. */
const char *tp_elf_k3s_arch(unsigned machine);

/*
 * Read the node helper at path whole (at most 64 MiB) into *data (malloc'ed)
 * and check that it is an ELF executable (magic, type EXEC or DYN); its
 * e_machine into *machine. what names the option that gave the path, for
 * the message ("--node-helper" or NULL for the default). 0 or -errno with
 * a message that names the file and what to do.
 */
int tp_seed_helper_read(const char *path, const char *what, char **data, size_t *len,
			unsigned *machine);

#endif
