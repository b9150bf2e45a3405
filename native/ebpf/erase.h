/*
 * The record shared by the eBPF program (erase.bpf.c), its loader (erase-loader.c) and the
 * TypeScript decoder (src/entropy/ebpf/frames.ts). 40 bytes, little-endian, no padding holes.
 * Change it in all three places and bump MXW_EBPF_PROTOCOL.
 */
#ifndef MXW_ERASE_H
#define MXW_ERASE_H

#define MXW_EBPF_PROTOCOL 1

enum erase_kind {
	ERASE_MUNMAP = 1,
	ERASE_MADV_DONTNEED = 2,
	ERASE_MADV_FREE = 3,
	ERASE_MADV_REMOVE = 4,
	ERASE_BRK_SHRINK = 5,
};

/* How the program hands records to user space (a read-only constant set before load). */
enum erase_transport {
	TRANSPORT_RINGBUF_NO_WAKEUP = 0, /* BPF_RB_NO_WAKEUP, consumed on a timer */
	TRANSPORT_RINGBUF_WAKEUP = 1,    /* BPF_RB_FORCE_WAKEUP: one wakeup per record */
	TRANSPORT_PERFBUF = 2,           /* bpf_perf_event_output; wakeup_events set by the loader */
};

/* Indices of the per-CPU counter array. */
enum erase_counter {
	COUNTER_SUBMITTED = 0, /* records handed to the ring or perf buffer */
	COUNTER_DROPPED = 1,   /* records the buffer had no room for */
	COUNTER_UNWATCHED = 2, /* probe hits of processes nobody watches (the tax they pay) */
	COUNTER_FORKS = 3,     /* children added to the watch map because their parent was watched */
	COUNTER_MAX = 4,
};

struct erase_event {
	__u64 ts_ns;     /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cgroup_id; /* bpf_get_current_cgroup_id(): the cgroup2 directory's inode */
	__u64 bytes;     /* length asked for, rounded up to whole pages as the kernel does */
	__u32 pid;       /* thread id */
	__u32 tgid;      /* process id */
	__u16 kind;      /* enum erase_kind */
	__u16 flags;     /* bit 0: matched by cgroup (else by tgid) */
	__u32 tag;       /* the watch entry's tag: Maxwell's slot for the agent */
};

#endif
