// SPDX-License-Identifier: Apache-2.0
/*
 * erase-loader: loads erase.bpf.o (through its bpftool skeleton), attaches it, and streams the
 * erase records to stdout as binary frames for Maxwell (src/entropy/ebpf/frames.ts decodes them).
 *
 * Frames: a 16-byte header {u32 magic 'MXWE', u16 protocol, u16 type, u32 count, u32 bytes}
 * followed by `bytes` of payload, all little-endian:
 *   HELLO  (1): {u32 protocol, u32 record size, u32 transport, u32 wakeup events,
 *                u64 buffer bytes, u32 loader pid, u32 interval ms}
 *   EVENTS (2): `count` records of struct erase_event (erase.h)
 *   STATS  (3): {u64 submitted, dropped, unwatched, forks, delivered, perf lost, ts ns}
 *   REPLY  (4): {i32 result (0 or -errno), u32 command sequence number (1 = first line)}
 *   LOG    (5): UTF-8 text
 *
 * Commands, one per line on stdin (each answered by a REPLY once it has taken effect):
 *   watch-tgid <tgid> <tag>    watch-cgroup <id> <tag>    unwatch <tag>
 *   flush      (consume everything now, then STATS, then REPLY: a barrier for tests)
 *   quit
 * End of stdin means Maxwell went away: the loader exits and the kernel detaches the probes.
 *
 * Consumption: with BPF_RB_NO_WAKEUP the kernel never wakes an epoll waiter, so
 * ring_buffer__poll() would sleep forever; the loader calls ring_buffer__consume() on a timer
 * (--interval-ms, default 10) instead. The wakeup transports also consume on the timer so that
 * a perf buffer with wakeup_events N never holds fewer than N records for ever.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include "erase.h"
#include "erase.skel.h"

#define FRAME_MAGIC 0x4557584dU /* "MXWE" read as little-endian bytes */
enum frame_type { FRAME_HELLO = 1, FRAME_EVENTS = 2, FRAME_STATS = 3, FRAME_REPLY = 4, FRAME_LOG = 5 };

struct frame_header {
	uint32_t magic;
	uint16_t protocol;
	uint16_t type;
	uint32_t count;
	uint32_t bytes;
};

#define BATCH_RECORDS 4096

static struct erase_event batch[BATCH_RECORDS];
static uint32_t batch_len;
static uint64_t delivered;
static uint64_t perf_lost;
static volatile sig_atomic_t stopping;
static int ncpus;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Blocking, complete write of header + payload: a slow reader slows the loader, the ring
 * then fills and the kernel counts drops (never silent). */
static void write_frame(uint16_t type, uint32_t count, const void *payload, uint32_t bytes)
{
	struct frame_header h = { FRAME_MAGIC, MXW_EBPF_PROTOCOL, type, count, bytes };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, bytes } };
	int n = bytes ? 2 : 1;
	size_t left = sizeof(h) + bytes;
	while (left > 0) {
		ssize_t w = writev(STDOUT_FILENO, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(3); /* Maxwell closed the pipe */
		}
		left -= (size_t)w;
		while (n > 0 && (size_t)w >= iov[0].iov_len) {
			w -= (ssize_t)iov[0].iov_len;
			iov[0] = iov[1];
			n--;
		}
		if (n > 0) {
			iov[0].iov_base = (char *)iov[0].iov_base + w;
			iov[0].iov_len -= (size_t)w;
		}
	}
}

static void logf_(const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len >= (int)sizeof(text))
		len = sizeof(text) - 1;
	write_frame(FRAME_LOG, 0, text, (uint32_t)len);
}

static void flush_batch(void)
{
	if (batch_len == 0)
		return;
	write_frame(FRAME_EVENTS, batch_len, batch, batch_len * (uint32_t)sizeof(batch[0]));
	delivered += batch_len;
	batch_len = 0;
}

static void add_record(const void *data, size_t size)
{
	if (size < sizeof(struct erase_event))
		return;
	memcpy(&batch[batch_len++], data, sizeof(struct erase_event));
	if (batch_len == BATCH_RECORDS)
		flush_batch();
}

static int on_ring_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	add_record(data, size);
	return 0;
}

/* Records as the perf ring stores them: a sample carries {u32 size, data}, a loss {u64 id, lost}. */
static enum bpf_perf_event_ret on_perf_event(void *ctx, int cpu, struct perf_event_header *event)
{
	(void)ctx;
	(void)cpu;
	if (event->type == PERF_RECORD_SAMPLE) {
		const struct {
			struct perf_event_header header;
			uint32_t size;
			char data[];
		} *sample = (const void *)event;
		add_record(sample->data, sample->size);
	} else if (event->type == PERF_RECORD_LOST) {
		const struct {
			struct perf_event_header header;
			uint64_t id;
			uint64_t lost;
		} *lost = (const void *)event;
		perf_lost += lost->lost;
	}
	return LIBBPF_PERF_EVENT_CONT;
}

static void write_stats(struct erase_bpf *skel)
{
	uint64_t totals[COUNTER_MAX] = { 0 };
	uint64_t *percpu = calloc((size_t)ncpus, sizeof(uint64_t));
	if (!percpu)
		return;
	for (uint32_t i = 0; i < COUNTER_MAX; i++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &i, percpu) == 0)
			for (int c = 0; c < ncpus; c++)
				totals[i] += percpu[c];
	}
	free(percpu);
	uint64_t payload[7] = { totals[COUNTER_SUBMITTED], totals[COUNTER_DROPPED], totals[COUNTER_UNWATCHED],
				totals[COUNTER_FORKS], delivered, perf_lost, now_ns() };
	write_frame(FRAME_STATS, 0, payload, sizeof(payload));
}

/* Recomputes the "is this map empty" flags the probe reads before its lookups. */
static void refresh_flags(struct erase_bpf *skel)
{
	uint32_t first32;
	uint64_t first64;
	skel->bss->any_tgids = bpf_map_get_next_key(bpf_map__fd(skel->maps.watch_tgids), NULL, &first32) == 0;
	skel->bss->any_cgroups = bpf_map_get_next_key(bpf_map__fd(skel->maps.watch_cgroups), NULL, &first64) == 0;
}

struct watch_value {
	uint32_t tag;
	uint32_t inherited;
};

static int unwatch_tag(struct erase_bpf *skel, uint32_t tag)
{
	int fd32 = bpf_map__fd(skel->maps.watch_tgids), fd64 = bpf_map__fd(skel->maps.watch_cgroups);
	struct watch_value v;
	uint32_t key32, next32;
	uint64_t key64, next64;
	int removed = 0;
	/* Collect first, delete after: deleting while iterating a hash map restarts the walk. */
	static uint32_t doomed32[16384];
	static uint64_t doomed64[4096];
	int n = 0;
	for (int err = bpf_map_get_next_key(fd32, NULL, &next32); err == 0; err = bpf_map_get_next_key(fd32, &key32, &next32)) {
		key32 = next32;
		if (bpf_map_lookup_elem(fd32, &key32, &v) == 0 && v.tag == tag && n < 16384)
			doomed32[n++] = key32;
	}
	for (int i = 0; i < n; i++)
		removed += bpf_map_delete_elem(fd32, &doomed32[i]) == 0;
	n = 0;
	for (int err = bpf_map_get_next_key(fd64, NULL, &next64); err == 0; err = bpf_map_get_next_key(fd64, &key64, &next64)) {
		key64 = next64;
		if (bpf_map_lookup_elem(fd64, &key64, &v) == 0 && v.tag == tag && n < 4096)
			doomed64[n++] = key64;
	}
	for (int i = 0; i < n; i++)
		removed += bpf_map_delete_elem(fd64, &doomed64[i]) == 0;
	return removed;
}

struct consumers {
	struct ring_buffer *rb;
	struct perf_buffer *pb;
};

static void consume(struct consumers *c)
{
	if (c->rb)
		ring_buffer__consume(c->rb);
	if (c->pb)
		perf_buffer__consume(c->pb);
	flush_batch();
}

static int run_command(struct erase_bpf *skel, struct consumers *c, char *line)
{
	unsigned long long a = 0, b = 0;
	struct watch_value v = { 0, 0 };
	if (sscanf(line, "watch-tgid %llu %llu", &a, &b) == 2) {
		uint32_t tgid = (uint32_t)a;
		v.tag = (uint32_t)b;
		int err = bpf_map_update_elem(bpf_map__fd(skel->maps.watch_tgids), &tgid, &v, BPF_ANY);
		refresh_flags(skel);
		return err ? -errno : 0;
	}
	if (sscanf(line, "watch-cgroup %llu %llu", &a, &b) == 2) {
		uint64_t id = a;
		v.tag = (uint32_t)b;
		int err = bpf_map_update_elem(bpf_map__fd(skel->maps.watch_cgroups), &id, &v, BPF_ANY);
		refresh_flags(skel);
		return err ? -errno : 0;
	}
	if (sscanf(line, "unwatch %llu", &a) == 1) {
		unwatch_tag(skel, (uint32_t)a);
		refresh_flags(skel);
		return 0;
	}
	if (strncmp(line, "flush", 5) == 0) {
		consume(c);
		write_stats(skel);
		return 0;
	}
	if (strncmp(line, "quit", 4) == 0) {
		stopping = 1;
		return 0;
	}
	return -EINVAL;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: erase-loader [--transport ringbuf|ringbuf-wakeup|perfbuf] [--wakeup-events N]\n"
		"                    [--ring-mib N] [--perf-pages N] [--interval-ms N] [--stats-ms N] [--no-brk]\n");
}

int main(int argc, char **argv)
{
	uint32_t transport = TRANSPORT_RINGBUF_NO_WAKEUP, wakeup_events = 1, ring_mib = 16, perf_pages = 256;
	uint32_t interval_ms = 10, stats_ms = 100;
	int with_brk = 1;
	static const struct option opts[] = {
		{ "transport", required_argument, NULL, 't' }, { "wakeup-events", required_argument, NULL, 'w' },
		{ "ring-mib", required_argument, NULL, 'r' },  { "perf-pages", required_argument, NULL, 'p' },
		{ "interval-ms", required_argument, NULL, 'i' }, { "stats-ms", required_argument, NULL, 's' },
		{ "no-brk", no_argument, NULL, 'b' },           { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		switch (ch) {
		case 't':
			if (strcmp(optarg, "ringbuf") == 0)
				transport = TRANSPORT_RINGBUF_NO_WAKEUP;
			else if (strcmp(optarg, "ringbuf-wakeup") == 0)
				transport = TRANSPORT_RINGBUF_WAKEUP;
			else if (strcmp(optarg, "perfbuf") == 0)
				transport = TRANSPORT_PERFBUF;
			else {
				usage();
				return 2;
			}
			break;
		case 'w': wakeup_events = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': ring_mib = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'p': perf_pages = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'i': interval_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': stats_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'b': with_brk = 0; break;
		default: usage(); return ch == 'h' ? 0 : 2;
		}
	}
	if (wakeup_events == 0 || ring_mib == 0 || (ring_mib & (ring_mib - 1)) || perf_pages == 0 ||
	    (perf_pages & (perf_pages - 1)) || interval_ms == 0) {
		fprintf(stderr, "erase-loader: --ring-mib and --perf-pages must be powers of two; counts must be > 0\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ncpus = libbpf_num_possible_cpus();

	struct erase_bpf *skel = erase_bpf__open();
	if (!skel) {
		fprintf(stderr, "erase-loader: open failed: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->transport = transport;
	skel->rodata->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	long page = sysconf(_SC_PAGESIZE);
	bpf_map__set_max_entries(skel->maps.rb, transport == TRANSPORT_PERFBUF ? (uint32_t)page : ring_mib << 20);
	if (!with_brk)
		bpf_program__set_autoload(skel->progs.on_brk, false);
	int err = erase_bpf__load(skel);
	if (err) {
		fprintf(stderr, "erase-loader: load failed: %s\n", strerror(-err));
		erase_bpf__destroy(skel);
		return 1;
	}
	err = erase_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "erase-loader: attach failed: %s (is tracefs mounted at /sys/kernel/tracing?)\n", strerror(-err));
		erase_bpf__destroy(skel);
		return 1;
	}

	struct consumers c = { NULL, NULL };
	int epfd = -1;
	uint64_t buffer_bytes;
	if (transport == TRANSPORT_PERFBUF) {
		struct perf_event_attr attr = { 0 };
		attr.type = PERF_TYPE_SOFTWARE;
		attr.config = PERF_COUNT_SW_BPF_OUTPUT;
		attr.sample_type = PERF_SAMPLE_RAW;
		attr.sample_period = 1;
		attr.wakeup_events = wakeup_events;
		/* The raw constructor, because perf_buffer__new() fixes wakeup_events at 1. */
		c.pb = perf_buffer__new_raw(bpf_map__fd(skel->maps.pb), perf_pages, &attr, on_perf_event, NULL, NULL);
		if (!c.pb) {
			fprintf(stderr, "erase-loader: perf buffer: %s\n", strerror(errno));
			erase_bpf__destroy(skel);
			return 1;
		}
		epfd = perf_buffer__epoll_fd(c.pb);
		buffer_bytes = (uint64_t)perf_pages * (uint64_t)page * (uint64_t)ncpus;
	} else {
		c.rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), on_ring_record, NULL, NULL);
		if (!c.rb) {
			fprintf(stderr, "erase-loader: ring buffer: %s\n", strerror(errno));
			erase_bpf__destroy(skel);
			return 1;
		}
		epfd = ring_buffer__epoll_fd(c.rb);
		buffer_bytes = (uint64_t)ring_mib << 20;
	}

	struct {
		uint32_t protocol, record, transport, wakeup;
		uint64_t buffer_bytes;
		uint32_t pid, interval_ms;
	} hello = { MXW_EBPF_PROTOCOL, sizeof(struct erase_event), transport, wakeup_events, buffer_bytes, (uint32_t)getpid(), interval_ms };
	write_frame(FRAME_HELLO, 0, &hello, sizeof(hello));

	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	char line[256];
	size_t line_len = 0;
	uint32_t seq = 0;
	uint64_t next_consume = now_ns() + (uint64_t)interval_ms * 1000000ULL;
	uint64_t next_stats = now_ns() + (uint64_t)stats_ms * 1000000ULL;
	int wakeups = transport != TRANSPORT_RINGBUF_NO_WAKEUP;

	while (!stopping) {
		uint64_t t = now_ns();
		int timeout = t >= next_consume ? 0 : (int)((next_consume - t + 999999) / 1000000);
		struct pollfd fds[2] = { { STDIN_FILENO, POLLIN, 0 }, { epfd, POLLIN, 0 } };
		int ready = poll(fds, wakeups ? 2 : 1, timeout);
		if (ready < 0 && errno != EINTR)
			break;
		if (wakeups && (fds[1].revents & POLLIN))
			consume(&c);
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			for (;;) {
				char ch;
				ssize_t r = read(STDIN_FILENO, &ch, 1);
				if (r == 0) {
					stopping = 1; /* Maxwell went away */
					break;
				}
				if (r < 0)
					break; /* EAGAIN: no more for now */
				if (ch != '\n') {
					if (line_len < sizeof(line) - 1)
						line[line_len++] = ch;
					continue;
				}
				line[line_len] = 0;
				line_len = 0;
				int32_t result = run_command(skel, &c, line);
				struct {
					int32_t result;
					uint32_t seq;
				} reply = { result, ++seq };
				write_frame(FRAME_REPLY, 0, &reply, sizeof(reply));
			}
		}
		t = now_ns();
		if (t >= next_consume) {
			consume(&c);
			/* Keep a fixed grid; after a stall, resume from now rather than catching up. */
			next_consume += (uint64_t)interval_ms * 1000000ULL;
			if (next_consume <= t)
				next_consume = t + (uint64_t)interval_ms * 1000000ULL;
		}
		if (t >= next_stats) {
			write_stats(skel);
			next_stats = t + (uint64_t)stats_ms * 1000000ULL;
		}
	}
	consume(&c);
	write_stats(skel);
	ring_buffer__free(c.rb);
	perf_buffer__free(c.pb);
	erase_bpf__destroy(skel);
	(void)logf_;
	return 0;
}
