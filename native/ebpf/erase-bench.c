// SPDX-License-Identifier: Apache-2.0
/*
 * erase-bench: a workload with known erasure, for Maxwell's eBPF tests and `maxwell research ebpf`.
 * It prints "READY <pid>" and waits for one line on stdin (so the caller can start watching it
 * first), runs, prints one JSON line with what it did, and exits.
 *
 *   erase-bench mmap-munmap N     N × (mmap 4 KiB, touch, munmap): a munmap-heavy loop
 *   erase-bench munmap-cheap N    N × munmap of an unmapped 4 KiB page: the cheapest erase syscall
 *   erase-bench getppid N         N × getppid(): a syscall no probe sees (control)
 *   erase-bench known             a fixed mix of munmap and madvise DONTNEED/FREE/REMOVE, bytes by kind
 *   erase-bench rate R N          N × mmap+munmap paced at R per second
 *   erase-bench fork K N          K children, each N × mmap+munmap (tests fork following)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void map_unmap(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	p[0] = 1;
	if (munmap(p, len) != 0)
		die("munmap");
}

static char *anon(size_t len, int flags)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 1, len);
	return p;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: erase-bench mmap-munmap|munmap-cheap|getppid|known|rate|fork ...\n");
		return 2;
	}
	const char *mode = argv[1];
	long n = argc > 2 ? strtol(argv[argc - 1], NULL, 10) : 0;
	printf("READY %d\n", getpid());
	fflush(stdout);
	char go[64];
	if (!fgets(go, sizeof(go), stdin))
		return 0;

	uint64_t t0 = now_ns();
	if (strcmp(mode, "mmap-munmap") == 0) {
		for (long i = 0; i < n; i++)
			map_unmap(4096);
		printf("{\"mode\":\"%s\",\"iterations\":%ld,\"elapsedNs\":%llu,\"munmapBytes\":%llu}\n", mode, n,
		       (unsigned long long)(now_ns() - t0), (unsigned long long)n * 4096ULL);
	} else if (strcmp(mode, "munmap-cheap") == 0) {
		void *hole = (void *)0x200000000000ULL;
		for (long i = 0; i < n; i++)
			munmap(hole, 4096);
		printf("{\"mode\":\"%s\",\"iterations\":%ld,\"elapsedNs\":%llu,\"munmapBytes\":%llu}\n", mode, n,
		       (unsigned long long)(now_ns() - t0), (unsigned long long)n * 4096ULL);
	} else if (strcmp(mode, "getppid") == 0) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		printf("{\"mode\":\"%s\",\"iterations\":%ld,\"elapsedNs\":%llu}\n", mode, n, (unsigned long long)(now_ns() - t0));
	} else if (strcmp(mode, "known") == 0) {
		/* Sizes are whole pages, so the page rounding of the probe changes nothing. */
		uint64_t munmap_b = 0, dontneed_b = 0, free_b = 0, remove_b = 0;
		for (int i = 1; i <= 64; i++) {
			size_t len = (size_t)i * 4096 * 3;
			char *p = anon(len, MAP_PRIVATE);
			if (madvise(p, len / 3, MADV_DONTNEED) != 0)
				die("madvise DONTNEED");
			dontneed_b += len / 3;
			if (madvise(p + len / 3, len / 3, MADV_FREE) != 0)
				die("madvise FREE");
			free_b += len / 3;
			if (munmap(p, len) != 0)
				die("munmap");
			munmap_b += len;
			char *s = anon(len, MAP_SHARED);
			if (madvise(s, 4096 * (size_t)i, MADV_REMOVE) != 0)
				die("madvise REMOVE");
			remove_b += 4096 * (uint64_t)i;
			if (munmap(s, len) != 0)
				die("munmap");
			munmap_b += len;
		}
		printf("{\"mode\":\"known\",\"elapsedNs\":%llu,\"munmapBytes\":%llu,\"dontneedBytes\":%llu,\"freeBytes\":%llu,\"removeBytes\":%llu}\n",
		       (unsigned long long)(now_ns() - t0), (unsigned long long)munmap_b, (unsigned long long)dontneed_b,
		       (unsigned long long)free_b, (unsigned long long)remove_b);
	} else if (strcmp(mode, "rate") == 0 && argc > 3) {
		double rate = strtod(argv[2], NULL);
		/* Paced in 1 ms slices so the rate holds without a syscall per event to sleep. */
		long per_slice = (long)(rate / 1000.0);
		if (per_slice < 1)
			per_slice = 1;
		uint64_t slice_ns = (uint64_t)(1e9 * (double)per_slice / rate);
		long done = 0;
		uint64_t next = t0;
		while (done < n) {
			for (long i = 0; i < per_slice && done < n; i++, done++)
				map_unmap(4096);
			next += slice_ns;
			uint64_t t = now_ns();
			if (next > t) {
				struct timespec ts = { (time_t)(next / 1000000000ULL), (long)(next % 1000000000ULL) };
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			}
		}
		uint64_t el = now_ns() - t0;
		printf("{\"mode\":\"rate\",\"iterations\":%ld,\"elapsedNs\":%llu,\"munmapBytes\":%llu}\n", n,
		       (unsigned long long)el, (unsigned long long)n * 4096ULL);
	} else if (strcmp(mode, "fork") == 0 && argc > 3) {
		long k = strtol(argv[2], NULL, 10);
		for (long c = 0; c < k; c++) {
			pid_t pid = fork();
			if (pid < 0)
				die("fork");
			if (pid == 0) {
				for (long i = 0; i < n; i++)
					map_unmap(4096);
				_exit(0);
			}
		}
		while (wait(NULL) > 0)
			;
		printf("{\"mode\":\"fork\",\"children\":%ld,\"iterations\":%ld,\"elapsedNs\":%llu,\"munmapBytes\":%llu}\n", k, n,
		       (unsigned long long)(now_ns() - t0), (unsigned long long)(k * n) * 4096ULL);
	} else {
		fprintf(stderr, "erase-bench: unknown mode %s\n", mode);
		return 2;
	}
	fflush(stdout);
	return 0;
}
