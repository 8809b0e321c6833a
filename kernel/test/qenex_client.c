// SPDX-License-Identifier: Apache-2.0
/*
 * Static test client for /dev/qenex_banking, run inside the VM by kernel/test/init.
 *
 * Covers every ioctl of kernel/qenex_ioctl.h, its bounds and error cases, concurrent
 * transfers from several processes (the total is conserved), and reads of the mmap'ed
 * table under the sequence counter (every snapshot a reader accepts sums to the total).
 * Prints one "ok"/"not ok" line per check (TAP-like) and exits non-zero if any failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../qenex_ioctl.h"

#define DEVICE "/dev/" QENEX_DEVICE_NAME
#define WORKERS 4
#define TRANSFERS_PER_WORKER 20000
#define RING_SLOTS 8
#define START_BALANCE 1000

static int failures;
static int checks;

static void check(int condition, const char *what)
{
	checks++;
	if (!condition)
		failures++;
	printf("%s %d - %s\n", condition ? "ok" : "not ok", checks, what);
	fflush(stdout);
}

/* ioctl expecting failure with a given errno. */
static void expect_errno(int fd, unsigned long cmd, void *arg, int want, const char *what)
{
	char line[160];
	int rc = ioctl(fd, cmd, arg);
	int got = rc == -1 ? errno : 0;

	snprintf(line, sizeof(line), "%s (errno %d %s, want %d %s)", what, got, strerror(got), want,
		 strerror(want));
	check(rc == -1 && got == want, line);
}

static uint32_t create(int fd, uint32_t flags, int64_t posted)
{
	struct qenex_slot_create c = { .flags = flags, .posted = posted, .available = posted };

	if (ioctl(fd, QENEX_IOC_CREATE, &c) != 0) {
		perror("create");
		exit(2);
	}
	return c.slot;
}

static struct qenex_balance get(int fd, uint32_t slot)
{
	struct qenex_balance b = { .slot = slot };

	if (ioctl(fd, QENEX_IOC_GET, &b) != 0) {
		perror("get");
		exit(2);
	}
	return b;
}

static const struct qenex_table_header *map_table(int fd, size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

static const struct qenex_slot *slots_of(const struct qenex_table_header *h)
{
	return (const struct qenex_slot *)((const char *)h + QENEX_TABLE_HEADER_BYTES);
}

/* Seqlock read: copy `count` posted balances from `first`; returns retries needed. */
static long snapshot(const struct qenex_table_header *h, uint32_t first, uint32_t count, int64_t *out)
{
	const struct qenex_slot *slots = slots_of(h);
	long retries = 0;
	uint64_t s1, s2;

	for (;;) {
		s1 = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
		if (!(s1 & 1)) {
			for (uint32_t i = 0; i < count; i++)
				out[i] = __atomic_load_n(&slots[first + i].posted, __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			s2 = __atomic_load_n(&h->seq, __ATOMIC_RELAXED);
			if (s1 == s2)
				return retries;
		}
		retries++;
	}
}

static void test_version(int fd, struct qenex_version *v)
{
	check(ioctl(fd, QENEX_IOC_VERSION, v) == 0, "VERSION succeeds");
	check(v->abi_version == QENEX_ABI_VERSION, "VERSION reports the header's ABI version");
	check(v->max_slots == QENEX_MAX_SLOTS && v->audit_entries == QENEX_AUDIT_ENTRIES &&
	      v->batch_max == QENEX_BATCH_MAX, "VERSION reports the header's limits");
	check(v->table_bytes >= QENEX_TABLE_HEADER_BYTES + (uint64_t)QENEX_MAX_SLOTS * sizeof(struct qenex_slot) &&
	      v->table_bytes % 4096 == 0, "VERSION table_bytes covers header and slots, page aligned");
	expect_errno(fd, QENEX_IOC_VERSION, NULL, EFAULT, "VERSION with a NULL pointer");
}

static void test_create_set_get(int fd)
{
	struct qenex_slot_create c = { 0 };
	struct qenex_balance b = { 0 };
	uint32_t a, n;

	check(ioctl(fd, QENEX_IOC_RESET) == 0, "RESET succeeds");
	a = create(fd, 0, 500);
	n = create(fd, QENEX_SLOT_NO_OVERDRAFT, 70);
	check(a == 0 && n == 1, "CREATE hands out slots 0, 1 in order");
	b = get(fd, a);
	check(b.posted == 500 && b.available == 500, "GET returns the opening balances");

	c = (struct qenex_slot_create){ .flags = 2 };
	expect_errno(fd, QENEX_IOC_CREATE, &c, EINVAL, "CREATE with an unknown flag");
	c = (struct qenex_slot_create){ .slot = 7 };
	expect_errno(fd, QENEX_IOC_CREATE, &c, EINVAL, "CREATE with a non-zero slot field");
	c = (struct qenex_slot_create){ .flags = QENEX_SLOT_NO_OVERDRAFT, .posted = -1, .available = -1 };
	expect_errno(fd, QENEX_IOC_CREATE, &c, EINVAL, "CREATE of a no-overdraft slot below zero");
	expect_errno(fd, QENEX_IOC_CREATE, NULL, EFAULT, "CREATE with a NULL pointer");

	b = (struct qenex_balance){ .slot = a, .posted = -25, .available = -30 };
	check(ioctl(fd, QENEX_IOC_SET, &b) == 0, "SET on an overdraft slot may go below zero");
	b = get(fd, a);
	check(b.posted == -25 && b.available == -30, "GET returns what SET wrote");
	b = (struct qenex_balance){ .slot = 99, .posted = 1 };
	expect_errno(fd, QENEX_IOC_SET, &b, ENOENT, "SET on a slot not created");
	b = (struct qenex_balance){ .slot = QENEX_MAX_SLOTS + 5 };
	expect_errno(fd, QENEX_IOC_SET, &b, ENOENT, "SET beyond the table");
	b = (struct qenex_balance){ .slot = a, .reserved = 1 };
	expect_errno(fd, QENEX_IOC_SET, &b, EINVAL, "SET with a non-zero reserved field");
	b = (struct qenex_balance){ .slot = n, .posted = 5, .available = -1 };
	expect_errno(fd, QENEX_IOC_SET, &b, ERANGE, "SET of a no-overdraft slot below zero");
	check(get(fd, n).available == 70, "a refused SET changes nothing");
	b = (struct qenex_balance){ .slot = 2 };
	expect_errno(fd, QENEX_IOC_GET, &b, ENOENT, "GET on a slot not created");
	b = (struct qenex_balance){ .slot = 0, .reserved = 3 };
	expect_errno(fd, QENEX_IOC_GET, &b, EINVAL, "GET with a non-zero reserved field");
	expect_errno(fd, QENEX_IOC_GET, (void *)16, EFAULT, "GET with a bad pointer");
	expect_errno(fd, _IOWR(QENEX_IOC_MAGIC, 42, struct qenex_balance), &b, ENOTTY, "an unknown ioctl number");
	expect_errno(fd, _IOWR(QENEX_IOC_MAGIC, 3, struct qenex_transfer), &b, ENOTTY,
		     "a known ioctl number with the wrong struct size");
}

static void test_set_many(int fd)
{
	struct qenex_balance items[3] = {
		{ .slot = 0, .posted = 10, .available = 10 },
		{ .slot = 1, .posted = 20, .available = 20 },
		{ .slot = 1, .posted = 30, .available = 30 },
	};
	struct qenex_set_many m = { .entries_ptr = (uintptr_t)items, .count = 3 };
	static struct qenex_balance too_many[QENEX_BATCH_MAX + 1];

	check(ioctl(fd, QENEX_IOC_SET_MANY, &m) == 0, "SET_MANY succeeds");
	check(get(fd, 0).posted == 10 && get(fd, 1).posted == 30, "SET_MANY applies items in order");
	items[0].posted = 11;
	items[2].slot = 77;
	expect_errno(fd, QENEX_IOC_SET_MANY, &m, ENOENT, "SET_MANY with one unknown slot");
	check(get(fd, 0).posted == 10, "a refused SET_MANY changes nothing (all or none)");
	m.count = 0;
	expect_errno(fd, QENEX_IOC_SET_MANY, &m, EINVAL, "SET_MANY of zero items");
	m = (struct qenex_set_many){ .entries_ptr = (uintptr_t)too_many, .count = QENEX_BATCH_MAX + 1 };
	expect_errno(fd, QENEX_IOC_SET_MANY, &m, EINVAL, "SET_MANY above QENEX_BATCH_MAX");
	m = (struct qenex_set_many){ .entries_ptr = 8, .count = 2 };
	expect_errno(fd, QENEX_IOC_SET_MANY, &m, EFAULT, "SET_MANY with a bad entries pointer");
	m = (struct qenex_set_many){ .entries_ptr = (uintptr_t)items, .count = 1, .reserved = 1 };
	expect_errno(fd, QENEX_IOC_SET_MANY, &m, EINVAL, "SET_MANY with a non-zero reserved field");
}

static void test_transfer(int fd)
{
	struct qenex_transfer t;
	uint32_t a, b, big;

	ioctl(fd, QENEX_IOC_RESET);
	a = create(fd, QENEX_SLOT_NO_OVERDRAFT, 100);
	b = create(fd, 0, 0);
	big = create(fd, 0, INT64_MAX - 5);
	t = (struct qenex_transfer){ .debit_slot = a, .credit_slot = b, .amount = 60 };
	check(ioctl(fd, QENEX_IOC_TRANSFER, &t) == 0, "TRANSFER within funds succeeds");
	check(get(fd, a).posted == 40 && get(fd, b).posted == 60 && get(fd, b).available == 60,
	      "TRANSFER moves posted and available on both sides");
	t.amount = 41;
	expect_errno(fd, QENEX_IOC_TRANSFER, &t, EDQUOT, "TRANSFER overdrawing a no-overdraft slot");
	check(get(fd, a).posted == 40 && get(fd, b).posted == 60, "a refused overdraft changes nothing");
	t = (struct qenex_transfer){ .debit_slot = b, .credit_slot = a, .amount = 100 };
	check(ioctl(fd, QENEX_IOC_TRANSFER, &t) == 0, "TRANSFER may overdraw an overdraft slot");
	check(get(fd, b).posted == -40 && get(fd, a).posted == 140, "balances after the overdraft");
	t = (struct qenex_transfer){ .debit_slot = b, .credit_slot = big, .amount = 10 };
	expect_errno(fd, QENEX_IOC_TRANSFER, &t, EOVERFLOW, "TRANSFER overflowing the credit slot");
	check(get(fd, b).posted == -40, "a refused overflow changes nothing");
	t = (struct qenex_transfer){ .debit_slot = a, .credit_slot = a, .amount = 1 };
	expect_errno(fd, QENEX_IOC_TRANSFER, &t, EINVAL, "TRANSFER to the same slot");
	t = (struct qenex_transfer){ .debit_slot = a, .credit_slot = b, .amount = 0 };
	expect_errno(fd, QENEX_IOC_TRANSFER, &t, EINVAL, "TRANSFER of zero");
	t.amount = -5;
	expect_errno(fd, QENEX_IOC_TRANSFER, &t, EINVAL, "TRANSFER of a negative amount");
	t = (struct qenex_transfer){ .debit_slot = a, .credit_slot = 3, .amount = 1 };
	expect_errno(fd, QENEX_IOC_TRANSFER, &t, ENOENT, "TRANSFER to a slot not created");
	expect_errno(fd, QENEX_IOC_TRANSFER, NULL, EFAULT, "TRANSFER with a NULL pointer");
}

static void test_audit(int fd)
{
	struct qenex_audit_entry entries[QENEX_AUDIT_ENTRIES];
	struct qenex_audit_read r = { .since_seq = 0, .entries_ptr = (uintptr_t)entries, .max_entries = 4 };
	struct qenex_transfer t = { .debit_slot = 0, .credit_slot = 1, .amount = 1000000 };
	struct qenex_audit_entry newest = { 0 };
	uint64_t first, last;
	int ordered = 1;

	expect_errno(fd, QENEX_IOC_TRANSFER, &t, EDQUOT, "(a refused transfer to find in the audit ring)");
	check(ioctl(fd, QENEX_IOC_AUDIT_READ, &r) == 0 && r.count == 4, "AUDIT_READ returns max_entries entries");
	first = entries[0].seq;
	for (uint32_t i = 1; i < r.count; i++)
		ordered &= entries[i].seq == entries[i - 1].seq + 1;
	check(ordered && r.next_seq == first + 4, "audit entries are consecutive; next_seq follows the last");
	/* read on up to the newest entry */
	last = 0;
	for (;;) {
		r.since_seq = r.next_seq;
		r.count = 0;
		r.max_entries = QENEX_AUDIT_ENTRIES;
		if (ioctl(fd, QENEX_IOC_AUDIT_READ, &r) != 0 || r.count == 0)
			break;
		newest = entries[r.count - 1];
		last = r.count;
	}
	first = last;
	check(first > 0 && newest.op == QENEX_OP_TRANSFER && newest.result == -EDQUOT &&
	      newest.amount == 1000000 && newest.slot_a == 0 && newest.slot_b == 1,
	      "the newest audit entry is the refused transfer, with its errno");
	r = (struct qenex_audit_read){ .entries_ptr = (uintptr_t)entries, .max_entries = 0 };
	expect_errno(fd, QENEX_IOC_AUDIT_READ, &r, EINVAL, "AUDIT_READ of zero entries");
	r.max_entries = QENEX_AUDIT_ENTRIES + 1;
	expect_errno(fd, QENEX_IOC_AUDIT_READ, &r, EINVAL, "AUDIT_READ above the ring size");
	r = (struct qenex_audit_read){ .entries_ptr = (uintptr_t)entries, .max_entries = 1, .count = 9 };
	expect_errno(fd, QENEX_IOC_AUDIT_READ, &r, EINVAL, "AUDIT_READ with a non-zero count field");
	r = (struct qenex_audit_read){ .entries_ptr = 8, .max_entries = 1 };
	expect_errno(fd, QENEX_IOC_AUDIT_READ, &r, EFAULT, "AUDIT_READ with a bad entries pointer");
}

static void test_permissions_and_mmap(int fd, const struct qenex_version *v)
{
	int ro = open(DEVICE, O_RDONLY);
	struct qenex_balance b = { .slot = 0 };
	struct qenex_transfer t = { .debit_slot = 1, .credit_slot = 0, .amount = 1 };
	const struct qenex_table_header *h;
	void *p;

	check(ro >= 0, "the device opens read-only");
	check(ioctl(ro, QENEX_IOC_GET, &b) == 0, "GET works on a read-only descriptor");
	expect_errno(ro, QENEX_IOC_TRANSFER, &t, EBADF, "TRANSFER on a read-only descriptor");
	expect_errno(ro, QENEX_IOC_RESET, NULL, EBADF, "RESET on a read-only descriptor");
	p = mmap(NULL, v->table_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(p == MAP_FAILED && errno == EPERM, "a writable mmap is refused with EPERM");
	p = mmap(NULL, v->table_bytes + 4096, PROT_READ, MAP_SHARED, fd, 0);
	check(p == MAP_FAILED && errno == EINVAL, "an mmap larger than the table is refused");
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
	check(p == MAP_FAILED && errno == EINVAL, "an mmap at a non-zero offset is refused");
	h = map_table(ro, v->table_bytes);
	check(h->magic == QENEX_TABLE_MAGIC && h->abi_version == QENEX_ABI_VERSION && h->max_slots == QENEX_MAX_SLOTS,
	      "the mapped header carries magic, ABI version and size");
	check(h->slot_count == 3 && (h->seq & 1) == 0, "the mapped header counts the slots; seq is even at rest");
	check(slots_of(h)[0].posted == get(fd, 0).posted && slots_of(h)[1].available == get(fd, 1).available,
	      "mapped slots equal GET");
	check(mprotect((void *)h, 4096, PROT_READ | PROT_WRITE) != 0, "the mapping cannot be made writable");
	munmap((void *)h, v->table_bytes);
	close(ro);
}

/* Several processes transfer among RING_SLOTS slots while readers check snapshots. */
static void test_concurrency(int fd, const struct qenex_version *v)
{
	const struct qenex_table_header *h = map_table(fd, v->table_bytes);
	int64_t total = 0, values[RING_SLOTS];
	int pipefd[2];
	pid_t readers[2], workers[WORKERS];
	uint32_t first;
	int status, ok = 1;
	long stats[3] = { 0 };

	ioctl(fd, QENEX_IOC_RESET);
	first = create(fd, QENEX_SLOT_NO_OVERDRAFT, START_BALANCE);
	for (int i = 1; i < RING_SLOTS; i++)
		create(fd, i % 2 ? QENEX_SLOT_NO_OVERDRAFT : 0, START_BALANCE);
	total = (int64_t)RING_SLOTS * START_BALANCE;
	if (pipe(pipefd) != 0)
		exit(2);

	for (int r = 0; r < 2; r++) {
		readers[r] = fork();
		if (readers[r] == 0) {
			/* reader: every accepted snapshot sums to the total; count torn raw reads too */
			long snapshots = 0, torn_without_seqlock = 0, retries = 0, bad = 0;
			int64_t sum;

			int flags = fcntl(pipefd[0], F_GETFL);
			char c;

			fcntl(pipefd[0], F_SETFL, flags | O_NONBLOCK);
			/* until the parent writes a byte into the pipe: the workers are done */
			while (read(pipefd[0], &c, 1) != 1 && snapshots < 5000000) {
				retries += snapshot(h, first, RING_SLOTS, values);
				sum = 0;
				for (int i = 0; i < RING_SLOTS; i++)
					sum += values[i];
				bad += sum != total;
				snapshots++;
				sum = 0;
				for (int i = 0; i < RING_SLOTS; i++)
					sum += __atomic_load_n(&slots_of(h)[first + i].posted, __ATOMIC_RELAXED);
				torn_without_seqlock += sum != total;
			}
			printf("# reader %d: %ld snapshots, %ld seqlock retries, %ld bad snapshots, "
			       "%ld torn reads without the seqlock\n", r, snapshots, retries, bad, torn_without_seqlock);
			fflush(stdout);
			_exit(bad == 0 && snapshots > 0 ? 0 : 1);
		}
	}

	for (int w = 0; w < WORKERS; w++) {
		workers[w] = fork();
		if (workers[w] == 0) {
			uint32_t state = 2463534242u + (uint32_t)w * 7919u;
			long done = 0, refused = 0;
			int wfd = open(DEVICE, O_RDWR);

			for (int i = 0; i < TRANSFERS_PER_WORKER; i++) {
				struct qenex_transfer t;

				state ^= state << 13;
				state ^= state >> 17;
				state ^= state << 5;
				t.debit_slot = first + state % RING_SLOTS;
				t.credit_slot = first + (state % RING_SLOTS + 1 + (state >> 4) % (RING_SLOTS - 1)) % RING_SLOTS;
				t.amount = 1 + (state >> 8) % 400;
				if (ioctl(wfd, QENEX_IOC_TRANSFER, &t) == 0)
					done++;
				else if (errno == EDQUOT)
					refused++;
				else
					_exit(3);
			}
			printf("# worker %d: %ld transfers applied, %ld refused for funds\n", w, done, refused);
			fflush(stdout);
			_exit(done > 0 ? 0 : 4);
		}
	}
	for (int w = 0; w < WORKERS; w++) {
		waitpid(workers[w], &status, 0);
		ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	check(ok, "every transfer worker finished; each refusal was EDQUOT");
	for (int r = 0; r < 2; r++) {
		if (write(pipefd[1], "x", 1) != 1)
			ok = 0;
	}
	for (int r = 0; r < 2; r++) {
		waitpid(readers[r], &status, 0);
		stats[r] = WIFEXITED(status) ? WEXITSTATUS(status) : 99;
	}
	check(stats[0] == 0 && stats[1] == 0, "mmap readers never accepted a snapshot whose sum differed");
	{
		int64_t sum = 0, no_overdraft_ok = 1;

		for (int i = 0; i < RING_SLOTS; i++) {
			struct qenex_balance b = get(fd, first + i);

			sum += b.posted;
			no_overdraft_ok &= !(i % 2 == 1 || i == 0) || b.available >= 0;
		}
		check(sum == total, "concurrent transfers conserved the total (GET)");
		check(no_overdraft_ok, "no no-overdraft slot ended below zero");
	}
	snapshot(h, first, RING_SLOTS, values);
	{
		int64_t sum = 0;

		for (int i = 0; i < RING_SLOTS; i++)
			sum += values[i];
		check(sum == total, "the mapped table agrees with the total after the run");
	}
	munmap((void *)h, v->table_bytes);
}

static void test_capacity(int fd)
{
	struct qenex_slot_create c = { 0 };
	uint32_t last = 0;
	int ok = 1;
	struct timespec t0, t1;

	ioctl(fd, QENEX_IOC_RESET);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < QENEX_MAX_SLOTS; i++) {
		c = (struct qenex_slot_create){ .posted = i };
		ok &= ioctl(fd, QENEX_IOC_CREATE, &c) == 0;
		last = c.slot;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	check(ok && last == QENEX_MAX_SLOTS - 1, "CREATE fills the table to QENEX_MAX_SLOTS");
	c = (struct qenex_slot_create){ 0 };
	expect_errno(fd, QENEX_IOC_CREATE, &c, ENOSPC, "CREATE beyond QENEX_MAX_SLOTS");
	check(get(fd, QENEX_MAX_SLOTS - 1).posted == QENEX_MAX_SLOTS - 1, "the last slot holds its balance");
	printf("# %d CREATE ioctls in %.1f ms (emulated CPU)\n", QENEX_MAX_SLOTS,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	check(ioctl(fd, QENEX_IOC_RESET) == 0, "RESET empties the table");
	{
		struct qenex_balance b = { .slot = 0 };

		expect_errno(fd, QENEX_IOC_GET, &b, ENOENT, "after RESET no slot exists");
	}
}

static int bench_reads(int fd, const struct qenex_version *v)
{
	/* Figures for `qenex bench cache`: balance reads/s through GET and through the mapping. */
	const struct qenex_table_header *h = map_table(fd, v->table_bytes);
	struct timespec t0, t1;
	const long n = 200000;
	int64_t value;
	double get_s, map_s;

	ioctl(fd, QENEX_IOC_RESET);
	for (int i = 0; i < 1024; i++)
		create(fd, 0, i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		struct qenex_balance b = { .slot = (uint32_t)(i % 1024) };

		ioctl(fd, QENEX_IOC_GET, &b);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	get_s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++)
		snapshot(h, (uint32_t)(i % 1024), 1, &value);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	map_s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# BENCH kernel_get_reads_per_s=%.0f kernel_mmap_reads_per_s=%.0f (emulated CPU)\n", n / get_s,
	       n / map_s);
	munmap((void *)h, v->table_bytes);
	return 0;
}

int main(void)
{
	struct qenex_version v;
	int fd = open(DEVICE, O_RDWR);

	check(fd >= 0, "open " DEVICE " read-write");
	if (fd < 0)
		return 1;
	test_version(fd, &v);
	test_create_set_get(fd);
	test_set_many(fd);
	test_transfer(fd);
	test_audit(fd);
	test_permissions_and_mmap(fd, &v);
	test_concurrency(fd, &v);
	test_capacity(fd);
	bench_reads(fd, &v);
	close(fd);
	printf("# %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
