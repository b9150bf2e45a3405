/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The part of libbpf 1.x's ABI that erase-loader and its bpftool skeleton use, declared so that the
 * loader builds on a machine with only the shared library (libbpf1, which iproute2 pulls into every
 * Debian base system) and gcc, without libbpf-dev. Every symbol here is in libbpf's LIBBPF_1.0.0 map
 * or earlier and keeps its signature across 1.x; the skeleton structs carry their own sizes (sz,
 * map_skel_sz, prog_skel_sz), which is how libbpf keeps them compatible.
 *
 * scripts/build-ebpf.sh checks these declarations against the real <bpf/libbpf.h> where
 * libbpf-dev is installed (native/ebpf/check-abi.c): a prototype that differs fails to compile.
 */
#ifndef MXW_ABI_LIBBPF_H
#define MXW_ABI_LIBBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "bpf.h"

struct bpf_object;
struct bpf_map;
struct bpf_program;
struct bpf_link;
struct bpf_object_open_opts;
struct ring_buffer;
struct ring_buffer_opts;
struct perf_buffer;
struct perf_buffer_raw_opts;
struct perf_event_attr;
struct perf_event_header;

/* Under MXW_ABI_CHECK the structs get a prefix, so check-abi.c can lay them beside libbpf's own. */
#ifdef MXW_ABI_CHECK
#define MXW_ABI(name) mxw_##name
#else
#define MXW_ABI(name) name
#endif

struct MXW_ABI(bpf_map_skeleton) {
	const char *name;
	struct bpf_map **map;
	void **mmaped;
};

struct MXW_ABI(bpf_prog_skeleton) {
	const char *name;
	struct bpf_program **prog;
	struct bpf_link **link;
};

struct MXW_ABI(bpf_object_skeleton) {
	size_t sz;
	const char *name;
	const void *data;
	size_t data_sz;
	struct bpf_object **obj;
	int map_cnt;
	int map_skel_sz;
	struct MXW_ABI(bpf_map_skeleton) *maps;
	int prog_cnt;
	int prog_skel_sz;
	struct MXW_ABI(bpf_prog_skeleton) *progs;
};

#ifndef MXW_ABI_CHECK
enum bpf_perf_event_ret {
	LIBBPF_PERF_EVENT_DONE = 0,
	LIBBPF_PERF_EVENT_ERROR = -1,
	LIBBPF_PERF_EVENT_CONT = -2,
};

typedef int (*ring_buffer_sample_fn)(void *ctx, void *data, size_t size);
typedef enum bpf_perf_event_ret (*perf_buffer_event_fn)(void *ctx, int cpu, struct perf_event_header *event);
#endif

int libbpf_num_possible_cpus(void);

int bpf_object__open_skeleton(struct bpf_object_skeleton *s, const struct bpf_object_open_opts *opts);
int bpf_object__load_skeleton(struct bpf_object_skeleton *s);
int bpf_object__attach_skeleton(struct bpf_object_skeleton *s);
void bpf_object__detach_skeleton(struct bpf_object_skeleton *s);
void bpf_object__destroy_skeleton(struct bpf_object_skeleton *s);

int bpf_map__fd(const struct bpf_map *map);
int bpf_map__set_max_entries(struct bpf_map *map, __u32 max_entries);
int bpf_program__set_autoload(struct bpf_program *prog, bool autoload);

struct ring_buffer *ring_buffer__new(int map_fd, ring_buffer_sample_fn sample_cb, void *ctx,
				     const struct ring_buffer_opts *opts);
void ring_buffer__free(struct ring_buffer *rb);
int ring_buffer__consume(struct ring_buffer *rb);
int ring_buffer__epoll_fd(const struct ring_buffer *rb);

struct perf_buffer *perf_buffer__new_raw(int map_fd, size_t page_cnt, struct perf_event_attr *attr,
					 perf_buffer_event_fn event_cb, void *ctx,
					 const struct perf_buffer_raw_opts *opts);
void perf_buffer__free(struct perf_buffer *pb);
int perf_buffer__epoll_fd(const struct perf_buffer *pb);
int perf_buffer__consume(struct perf_buffer *pb);

#endif
