// SPDX-License-Identifier: Apache-2.0
/*
 * Compiled by scripts/build-ebpf.sh where libbpf-dev is installed: checks that the headers in
 * abi/bpf/, which the loader is built against everywhere, agree with the real libbpf headers. C
 * lets a function be declared twice only with compatible prototypes, so a wrong declaration fails
 * to compile; the skeleton structs are laid beside libbpf's field by field.
 */
#include <assert.h>
#include <stddef.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define MXW_ABI_CHECK
#include "abi/bpf/libbpf.h"

#define SAME(type, field) static_assert(offsetof(struct type, field) == offsetof(struct mxw_##type, field), #type "." #field)
#define SAME_SIZE(type) static_assert(sizeof(struct type) == sizeof(struct mxw_##type), #type " size")

SAME(bpf_map_skeleton, name);
SAME(bpf_map_skeleton, map);
SAME(bpf_map_skeleton, mmaped);
SAME_SIZE(bpf_map_skeleton);
SAME(bpf_prog_skeleton, name);
SAME(bpf_prog_skeleton, prog);
SAME(bpf_prog_skeleton, link);
SAME_SIZE(bpf_prog_skeleton);
SAME(bpf_object_skeleton, sz);
SAME(bpf_object_skeleton, name);
SAME(bpf_object_skeleton, data);
SAME(bpf_object_skeleton, data_sz);
SAME(bpf_object_skeleton, obj);
SAME(bpf_object_skeleton, map_cnt);
SAME(bpf_object_skeleton, map_skel_sz);
SAME(bpf_object_skeleton, maps);
SAME(bpf_object_skeleton, prog_cnt);
SAME(bpf_object_skeleton, prog_skel_sz);
SAME(bpf_object_skeleton, progs);
SAME_SIZE(bpf_object_skeleton);

int main(void)
{
	return 0;
}
