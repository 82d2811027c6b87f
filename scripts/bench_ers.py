"""The ERS API under load through Cisco's ciscoisesdk: guest creations per
second (each with its credentials email queued in the same transaction),
one client and four, then the SDK's generator paging through every guest.
Run by scripts/bench-ers.sh, which starts the console."""

import datetime
import os
import sqlite3
import statistics
import sys
import threading
import time

from ciscoisesdk import IdentityServicesEngineAPI

BASE, PASSWORD, DATA = sys.argv[1], sys.argv[2], sys.argv[3]
TOTAL = int(os.environ.get("BENCH_GUESTS", "10000"))
SEQUENTIAL = int(os.environ.get("BENCH_SEQUENTIAL", "300"))
THREADS = 4


def client():
    return IdentityServicesEngineAPI(username="admin", password=PASSWORD, base_url=BASE,
                                     uses_api_gateway=True, version="3.3_patch_1", verify=False)


def create(api, n):
    now = datetime.datetime.now(datetime.timezone.utc)
    api.guest_user.create_guest_user(
        guest_type="Daily (default)",
        guest_info={"userName": f"bench{n}", "firstName": "Bench", "lastName": str(n),
                    "emailAddress": f"bench{n}@example.com", "company": "Benchmarks"},
        guest_access_info={"validDays": 1, "fromDate": now.strftime("%m/%d/%Y %H:%M"),
                           "toDate": (now + datetime.timedelta(days=1)).strftime("%m/%d/%Y %H:%M")},
    )


api = client()
started = time.perf_counter()
for n in range(SEQUENTIAL):
    create(api, n)
one = SEQUENTIAL / (time.perf_counter() - started)

remaining = list(range(SEQUENTIAL, TOTAL))
chunks = [remaining[i::THREADS] for i in range(THREADS)]


def work(numbers):
    mine = client()
    for n in numbers:
        create(mine, n)


started = time.perf_counter()
threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
for t in threads:
    t.start()
for t in threads:
    t.join()
four = len(remaining) / (time.perf_counter() - started)

with sqlite3.connect(f"file:{DATA}/mailroom.db?mode=ro", uri=True) as db:
    queued = db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'guest-credentials'").fetchone()[0]

print(f"| guest creations through the API, 1 client | {SEQUENTIAL} | {one:.1f} per second |")
print(f"| guest creations through the API, {THREADS} clients | {len(remaining)} | {four:.1f} per second |")
print(f"| credentials emails queued with them | {queued} | |")

for size in (100, 20):
    seen, times = 0, []
    mark = time.perf_counter()
    for page in api.guest_user.get_guest_users_generator(size=size):
        now = time.perf_counter()
        times.append((now - mark) * 1000)
        seen += len(page.response.SearchResult.resources)
        mark = time.perf_counter()
    times.sort()
    print(f"| SDK generator, size={size}: {len(times)} pages, {seen} guests | "
          f"median {statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95) - 1]:.1f} ms, "
          f"last {times[-1] if times else 0:.1f} ms per page | total {sum(times) / 1000:.1f} s |")
    if seen != TOTAL:
        sys.exit(f"the generator gave {seen} guests, not {TOTAL}")
