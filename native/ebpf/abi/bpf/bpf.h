/* SPDX-License-Identifier: Apache-2.0 */
/* The map calls of libbpf 1.x's <bpf/bpf.h> that erase-loader uses; see libbpf.h beside this file. */
#ifndef MXW_ABI_BPF_H
#define MXW_ABI_BPF_H

#include <linux/bpf.h>
#include <linux/types.h>

int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags);
int bpf_map_lookup_elem(int fd, const void *key, void *value);
int bpf_map_delete_elem(int fd, const void *key);
int bpf_map_get_next_key(int fd, const void *key, void *next_key);

#endif
