// SPDX-License-Identifier: GPL-2.0
/*
 * Maxwell's memory-erase probe (DESIGN.md §1.4, issue 7). Tracepoints on munmap, madvise
 * (DONTNEED / FREE / REMOVE) and brk shrinks emit one 40-byte record per erase made by a
 * watched process into a BPF ring buffer (or, for the overhead research only, a perf buffer).
 *
 * Filtering happens here, in the kernel, so that processes nobody watches pay one or two hash
 * lookups and no record: a process is watched when its tgid is in `watch_tgids` (children
 * forked by a watched process are added automatically, and removed when they exit) or when
 * its cgroup2 directory's id is in `watch_cgroups`. The value of either map is the tag the
 * user space gave the agent; it travels in the record so attribution costs nothing later.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "erase.h"

char LICENSE[] SEC("license") = "GPL";

#define MADV_DONTNEED 4
#define MADV_FREE 8
#define MADV_REMOVE 9

/* Set by the loader before load; the verifier prunes the transports not chosen. */
const volatile __u32 transport = TRANSPORT_RINGBUF_NO_WAKEUP;
const volatile __u64 page_size = 4096;

/* Written by the loader through the mmapped .bss: skip a lookup in an empty map. */
volatile __u32 any_tgids;
volatile __u32 any_cgroups;

struct watch {
	__u32 tag;
	__u32 inherited; /* 1 when added by the fork hook, not by the loader */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct watch);
} watch_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct watch);
} watch_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* the loader resizes it (--ring-mib) */
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pb SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);
	if (c)
		*c += 1; /* per-CPU slot: no atomic needed */
}

static __always_inline void emit(void *ctx, __u64 len, __u16 kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct watch *w = NULL;
	__u16 flags = 0;
	__u64 cg = 0;

	if (any_tgids)
		w = bpf_map_lookup_elem(&watch_tgids, &tgid);
	if (!w && any_cgroups) {
		cg = bpf_get_current_cgroup_id();
		w = bpf_map_lookup_elem(&watch_cgroups, &cg);
		flags = 1;
	}
	if (!w) {
		count(COUNTER_UNWATCHED);
		return;
	}
	if (!flags)
		cg = bpf_get_current_cgroup_id();

	__u64 bytes = (len + page_size - 1) & ~(page_size - 1);

	if (transport == TRANSPORT_PERFBUF) {
		struct erase_event e = {};
		e.ts_ns = bpf_ktime_get_ns();
		e.cgroup_id = cg;
		e.bytes = bytes;
		e.pid = (__u32)id;
		e.tgid = tgid;
		e.kind = kind;
		e.flags = flags;
		e.tag = w->tag;
		if (bpf_perf_event_output(ctx, &pb, BPF_F_CURRENT_CPU, &e, sizeof(e)) == 0)
			count(COUNTER_SUBMITTED);
		else
			count(COUNTER_DROPPED);
		return;
	}

	struct erase_event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count(COUNTER_DROPPED);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = cg;
	e->bytes = bytes;
	e->pid = (__u32)id;
	e->tgid = tgid;
	e->kind = kind;
	e->flags = flags;
	e->tag = w->tag;
	bpf_ringbuf_submit(e, transport == TRANSPORT_RINGBUF_WAKEUP ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	count(COUNTER_SUBMITTED);
}

SEC("tracepoint/syscalls/sys_enter_munmap")
int on_munmap(struct trace_event_raw_sys_enter *ctx)
{
	__u64 len = ctx->args[1];
	if (len == 0)
		return 0; /* EINVAL: nothing erased */
	emit(ctx, len, ERASE_MUNMAP);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_madvise")
int on_madvise(struct trace_event_raw_sys_enter *ctx)
{
	__u64 len = ctx->args[1];
	int behavior = (int)ctx->args[2];
	__u16 kind;

	if (behavior == MADV_DONTNEED)
		kind = ERASE_MADV_DONTNEED;
	else if (behavior == MADV_FREE)
		kind = ERASE_MADV_FREE;
	else if (behavior == MADV_REMOVE)
		kind = ERASE_MADV_REMOVE;
	else
		return 0;
	if (len == 0)
		return 0;
	emit(ctx, len, kind);
	return 0;
}

/* brk(new) below the current break releases the pages in between (brk(0) only asks). */
SEC("tracepoint/syscalls/sys_enter_brk")
int on_brk(struct trace_event_raw_sys_enter *ctx)
{
	__u64 want = ctx->args[0];
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 cur = BPF_CORE_READ(task, mm, brk);
	__u64 start = BPF_CORE_READ(task, mm, start_brk);

	if (want == 0 || want < start || want >= cur)
		return 0;
	__u64 pcur = (cur + page_size - 1) & ~(page_size - 1);
	__u64 pwant = (want + page_size - 1) & ~(page_size - 1);
	if (pcur <= pwant)
		return 0; /* shrinks within a page free nothing */
	emit(ctx, pcur - pwant, ERASE_BRK_SHRINK);
	return 0;
}

/* A new process forked by a watched one is watched under the same tag. Threads share the tgid. */
SEC("raw_tp/sched_process_fork")
int on_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 child_pid = BPF_CORE_READ(child, pid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	__u32 parent_tgid = bpf_get_current_pid_tgid() >> 32;

	if (!any_tgids || child_pid != child_tgid)
		return 0;
	struct watch *w = bpf_map_lookup_elem(&watch_tgids, &parent_tgid);
	if (!w)
		return 0;
	struct watch inherited = { .tag = w->tag, .inherited = 1 };
	bpf_map_update_elem(&watch_tgids, &child_tgid, &inherited, BPF_NOEXIST);
	count(COUNTER_FORKS);
	return 0;
}

/* A process that ends leaves the map, so a recycled pid is never charged to the old agent. */
SEC("tracepoint/sched/sched_process_exit")
int on_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;

	if (!any_tgids || (__u32)id != tgid)
		return 0;
	bpf_map_delete_elem(&watch_tgids, &tgid);
	return 0;
}
