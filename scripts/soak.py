"""`make soak`: a mix of shoppers against the release build, with faults, figures only.

Locust drives shoppers over loopback for SOAK_SECONDS (default 90): the landing page, feed pages
(server-rendered and JSON), painting pages, searches, activity batches, saves, and checkouts paid
through the test Stripe server, whose webhooks come back to the shop. Meanwhile the soak
(a) kills the shop with SIGKILL and starts it again, (b) restarts Postgres and (c) stops the test
Stripe server for 10 s. Then it prints, per route, requests/s and p50/p95/p99; the 5xx outside the
fault windows (should be 0); events the shop confirmed vs events stored (should be equal); orders
paid vs payments made (should be equal, none paid twice); and how long each recovery took.

Everything runs on its own Postgres cluster (.data/pg-soak), media folder and ports; nothing leaves
127.0.0.1. scripts/soak.sh builds the release binary and calls this with it.
"""

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import gevent
from locust import HttpUser, between, task
from locust.env import Environment

HERE = Path(__file__).resolve().parent.parent
PG_DATA = HERE / ".data/pg-soak"
PG_PORT = 54334
SHOP_PORT = 3100
STRIPE_PORT = 8430
DATABASE = "artwall_soak"
DATABASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/{DATABASE}"
LOGS = HERE / ".data/logs"
STRIPE_STATE = HERE / ".data/soak-stripe-state.json"
WORDS = ["blue", "sea", "flowers", "portrait", "night", "garden", "river", "snow", "city", "gold"]

# What the shoppers saw, for the checks at the end.
confirmed_events = set()  # ids the shop answered "logged" or "duplicate" for
payments_made = set()  # Checkout Session ids whose Pay button answered with the redirect
pay_pages_gone = []  # Checkout Sessions the test Stripe server no longer had open when paid
requests_log = []  # (start, end, route, status) of every request


def log(message):
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def psql(sql):
    out = subprocess.run(["psql", "-qtA", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", DATABASE, "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def wait_for(url, seconds=120, ok=lambda code: 0 < code < 500):
    """Seconds until `url` answers with a status `ok` accepts (None after `seconds`)."""
    import urllib.error
    import urllib.request
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            code = urllib.request.urlopen(url, timeout=2).status
        except urllib.error.HTTPError as error:
            code = error.code
        except OSError:
            code = 0
        if ok(code):
            return time.monotonic() - started
        gevent.sleep(0.05)
    return None


class Processes:
    """The shop and the test Stripe server, started and stopped by the soak."""

    def __init__(self, binary, env):
        self.binary, self.env = binary, env
        self.shop = self.stripe = None

    def start_stripe(self):
        out = open(LOGS / "soak-stripe.log", "a")
        self.stripe = subprocess.Popen([sys.executable, str(HERE / "scripts/stripe_harness.py"), "--port", str(STRIPE_PORT)],
                                       env=self.env, stdout=out, stderr=out)

    def start_shop(self):
        out = open(LOGS / "soak-shop.log", "a")
        self.shop = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=out, stderr=out, cwd=HERE)

    def stop(self):
        for process in (self.shop, self.stripe):
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (self.shop, self.stripe):
            if process:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()


class Shopper(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self):
        self.cursor = None
        self.seen = []
        self.pending = []  # events not confirmed yet: re-sent with the next batch, as the browser does
        self.client.get("/", name="/")

    def remember(self, items):
        self.seen = ([item["id"] for item in items] + self.seen)[:60]

    @task(6)
    def feed_page(self):
        query = f"?cursor={self.cursor}" if self.cursor else ""
        with self.client.get(f"/api/feed{query}", name="/api/feed", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            page = response.json()
        self.cursor = page.get("nextCursor")
        items = page["items"]
        self.remember(items)
        events = [self.event("impression", item["id"], item["position"]) for item in items]
        if items:
            liked = random.choice(items)
            events.append(self.event("view", liked["id"], liked["position"], {"dwellTimeMs": random.randint(1000, 9000)}))
            if random.random() < 0.2:
                disliked = random.choice(items)
                events.append(self.event("hide", disliked["id"], disliked["position"]))
        self.send_events(events)

    def event(self, kind, painting, position, metadata=None):
        event = {"id": str(uuid.uuid4()), "type": kind, "paintingId": painting, "position": position, "source": "feed"}
        if metadata:
            event["metadata"] = metadata
        return event

    def send_events(self, events):
        batch = self.pending + events
        if not batch:
            return
        self.pending = batch
        with self.client.post("/api/activity", json={"events": batch[:100]}, name="/api/activity",
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            results = response.json()["results"]
        answered = set()
        for result in results:
            event = batch[result["index"]]
            if result["status"] in ("logged", "duplicate"):
                confirmed_events.add(event["id"])
                answered.add(event["id"])
            elif result["status"] == "rejected":  # a hidden painting's later impression, say: dropped
                answered.add(event["id"])
        self.pending = [event for event in batch if event["id"] not in answered]

    @task(2)
    def feed_page_rendered(self):
        self.client.get("/feed", name="/feed")

    @task(4)
    def painting_page(self):
        if self.seen:
            self.client.get(f"/painting/{random.choice(self.seen)}", name="/painting/{id}")

    @task(2)
    def search(self):
        with self.client.get(f"/api/search?q={random.choice(WORDS)}", name="/api/search", catch_response=True) as response:
            if response.status_code == 200:
                self.remember(response.json().get("results", []))
            else:
                response.failure(f"status {response.status_code}")

    @task(1)
    def save(self):
        if self.seen:
            form = {"paintingId": random.choice(self.seen), "saved": "true", "source": "feed"}
            self.client.post("/api/saved/set", data=form, name="/api/saved/set", headers={"Accept": "application/json"})

    @task(1)
    def buy(self):
        if not self.seen:
            return
        form = {"paintingId": random.choice(self.seen), "size": "50x60", "material": "canvas", "frame": "none"}
        with self.client.post("/api/checkout", data=form, name="/api/checkout", headers={"Accept": "application/json"},
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            pay_url = response.json()
        session = pay_url.rsplit("/", 1)[-1]
        with self.client.post(pay_url, name="stripe: pay", allow_redirects=False, catch_response=True) as response:
            if response.status_code == 303:
                payments_made.add(session)
            else:
                if response.status_code == 410:
                    pay_pages_gone.append(session)
                response.failure(f"status {response.status_code}")

    def on_stop(self):
        for _ in range(20):
            if not self.pending:
                return
            self.send_events([])
            gevent.sleep(0.5)


def faults(processes, began, seconds, windows, recoveries):
    """Kills the shop, restarts Postgres and stops the test Stripe server, at a quarter, half
    and three quarters of the run, and measures each recovery."""
    ready = f"http://127.0.0.1:{SHOP_PORT}/readyz"
    pg = ["bash", str(HERE / "scripts/pg.sh")]

    gevent.sleep(max(0.0, began + seconds * 0.25 - time.time()))
    start = time.time()
    processes.shop.send_signal(signal.SIGKILL)
    processes.shop.wait()
    processes.start_shop()
    took = wait_for(ready, ok=lambda code: code == 200)
    windows.append(("shop killed", start, time.time()))
    recoveries.append(("shop killed (SIGKILL) and started again: ready after", took))

    gevent.sleep(max(0.0, began + seconds * 0.5 - time.time()))
    start = time.time()
    subprocess.run(pg + ["stop", str(PG_DATA)], check=True)
    subprocess.run(pg + ["start", str(PG_DATA), str(PG_PORT)], check=True)
    down = time.time() - start
    took = wait_for(ready, ok=lambda code: code == 200)
    windows.append(("postgres restarted", start, time.time()))
    recoveries.append((f"Postgres restarted ({down:.1f} s down): the shop ready again after", down + (took or 0)))

    gevent.sleep(max(0.0, began + seconds * 0.75 - time.time()))
    start = time.time()
    processes.stripe.send_signal(signal.SIGTERM)
    processes.stripe.wait()
    gevent.sleep(10)
    processes.start_stripe()
    took = wait_for(f"http://127.0.0.1:{STRIPE_PORT}/", ok=lambda code: code > 0)
    windows.append(("test Stripe server stopped", start, time.time()))
    recoveries.append(("test Stripe server stopped for 10 s: answering again after", 10 + (took or 0)))


def percentile(entry, q):
    return entry.get_response_time_percentile(q) if entry.num_requests else 0


def refuse_port_in_use(port, what):
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            sys.exit(f"port {port}, which {what} needs, is already in use on 127.0.0.1: is another soak running?")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", "90")))
    parser.add_argument("--users", type=int, default=int(os.environ.get("SOAK_USERS", "20")))
    args = parser.parse_args()
    if args.seconds < 60:
        sys.exit("the soak runs at least 60 s")
    refuse_port_in_use(SHOP_PORT, "the soak's shop")
    refuse_port_in_use(STRIPE_PORT, "the soak's test Stripe server")
    # A TERM (or Ctrl-C) still stops what the soak started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    LOGS.mkdir(parents=True, exist_ok=True)
    for log_file in ("soak-shop.log", "soak-stripe.log"):
        (LOGS / log_file).unlink(missing_ok=True)
    media = HERE / ".data/soak-media"
    subprocess.run(["rm", "-rf", str(media)], check=True)
    STRIPE_STATE.unlink(missing_ok=True)
    webhook_secret = f"whsec_soak_{uuid.uuid4().hex}"
    unlimited = "1000000"  # every shopper comes from 127.0.0.1
    env = dict(os.environ, DATABASE_URL=DATABASE_URL, ARTWALL_MEDIA_DIR=str(media), LEPTOS_SITE_ADDR=f"127.0.0.1:{SHOP_PORT}",
               ARTWALL_PUBLIC_URL=f"http://127.0.0.1:{SHOP_PORT}", ARTWALL_STRIPE_SECRET_KEY="sk_test_artwall_soak",
               ARTWALL_STRIPE_API_BASE=f"http://127.0.0.1:{STRIPE_PORT}", ARTWALL_STRIPE_WEBHOOK_SECRETS=webhook_secret,
               ARTWALL_HARNESS_STATE=str(STRIPE_STATE), ARTWALL_HARNESS_WEBHOOK_SECRET=webhook_secret,
               ARTWALL_HARNESS_WEBHOOK_URL=f"http://127.0.0.1:{SHOP_PORT}/api/webhooks/stripe",
               ARTWALL_ORDER_JOBS_SECONDS="5", ARTWALL_RATE_ACTIVITY_PER_MINUTE=unlimited, ARTWALL_RATE_FEED_PER_MINUTE=unlimited,
               ARTWALL_RATE_SEARCH_PER_MINUTE=unlimited, ARTWALL_RATE_CHECKOUT_PER_MINUTE=unlimited,
               RUST_LOG=os.environ.get("RUST_LOG", "info,sqlx=warn,ort=warn"))
    processes = Processes(args.bin, env)
    try:
        subprocess.run(["bash", str(HERE / "scripts/pg.sh"), "start", str(PG_DATA), str(PG_PORT)], check=True)
        admin = ["psql", "-q", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", "postgres", "-c"]
        subprocess.run(admin + [f"DROP DATABASE IF EXISTS {DATABASE}"], check=True)
        subprocess.run(admin + [f"CREATE DATABASE {DATABASE}"], check=True)
        subprocess.run([args.bin, "migrate"], env=env, check=True, cwd=HERE)
        log("importing the demo catalogue")
        subprocess.run([args.bin, "import", env["ARTWALL_DEMO_CATALOGUE"]], env=env, check=True, cwd=HERE,
                       stdout=subprocess.DEVNULL)
        processes.start_stripe()
        processes.start_shop()
        if wait_for(f"http://127.0.0.1:{SHOP_PORT}/readyz", ok=lambda code: code == 200) is None:
            sys.exit(f"the shop did not start: see {LOGS / 'soak-shop.log'}")
        held = run(args, processes)
    finally:
        processes.stop()
        subprocess.run(["bash", str(HERE / "scripts/pg.sh"), "stop", str(PG_DATA)], check=False)
    sys.exit(0 if held else 1)


def run(args, processes):
    """The load with its faults; True when every check held."""
    # At the end each shopper finishes what it is doing (its batch answered) before it stops.
    environment = Environment(user_classes=[Shopper], host=f"http://127.0.0.1:{SHOP_PORT}", stop_timeout=15)

    def on_request(request_type, name, response_time, response_length, response=None, exception=None, start_time=None,
                   **_):
        status = getattr(response, "status_code", 0) if response is not None else 0
        end = time.time()
        requests_log.append((start_time or end - response_time / 1000, end, name, status))

    environment.events.request.add_listener(on_request)
    runner = environment.create_local_runner()
    windows, recoveries = [], []
    log(f"{args.users} shoppers for {args.seconds} s; faults at {args.seconds // 4}, {args.seconds // 2} and "
        f"{3 * args.seconds // 4} s")
    began = time.time()
    runner.start(args.users, spawn_rate=args.users)
    fault_thread = gevent.spawn(faults, processes, began, args.seconds, windows, recoveries)
    gevent.sleep(args.seconds)
    fault_thread.join(timeout=60)
    faults_ran = fault_thread.successful()
    if not faults_ran:
        fault_thread.kill()
        log(f"the faults did not all run: {fault_thread.exception!r}")
    runner.quit()  # each shopper finishes its task, then sends what it still holds (on_stop)
    runner.greenlet.join()
    elapsed = time.time() - began
    log("settling: waiting for webhooks, reconciliation and the taste worker")
    settle(len(payments_made))
    return report(environment, elapsed, windows, recoveries) and faults_ran

def settle(payments):
    """Until the shop has marked every payment paid and learned every event (60 s at most)."""
    for _ in range(120):
        paid = int(psql("SELECT count(*) FROM orders WHERE paid_at IS NOT NULL"))
        backlog = int(psql("SELECT count(*) FROM activities WHERE NOT processed"))
        if paid >= payments and backlog == 0:
            return
        gevent.sleep(0.5)


def webhook_deliveries():
    """(time, status) of each delivery the test Stripe server tried (0: the shop was unreachable)."""
    deliveries = []
    for line in (LOGS / "soak-stripe.log").read_text().splitlines():
        if " webhook " in line and " -> " in line:
            outcome = line.rsplit(" -> ", 1)[1]
            deliveries.append((float(line.split(" ", 1)[0]), int(outcome) if outcome.isdigit() else 0))
    return deliveries


def orders_charged_twice():
    """Orders the test Stripe server took more than one payment for."""
    charges = json.loads(STRIPE_STATE.read_text())["charges"].values()
    orders = [charge["metadata"].get("orderId") for charge in charges]
    return sum(orders.count(order) > 1 for order in set(orders))


def report(environment, elapsed, windows, recoveries):
    """Prints the figures; True when every check held."""
    print(f"\nSoak: {elapsed:.0f} s, release build, demo catalogue, loopback\n")
    print(f"{'route':<22} {'requests':>9} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'failed':>7}")
    for entry in sorted(environment.stats.entries.values(), key=lambda e: -e.num_requests):
        print(f"{entry.method + ' ' + entry.name:<22} {entry.num_requests:>9} {entry.num_requests / elapsed:>7.1f} "
              f"{percentile(entry, 0.5):>7.0f} {percentile(entry, 0.95):>7.0f} {percentile(entry, 0.99):>7.0f} "
              f"{entry.num_failures:>7}")
    margin = 1.0  # the first requests after a recovery may still meet what the fault left behind

    def during(window, first, last):
        """Whether something in flight from `first` to `last` overlapped the fault `window`."""
        _, start, end = window
        return first <= end + margin and last >= start

    inside = lambda first, last: any(during(window, first, last) for window in windows)
    shop = [r for r in requests_log if not r[2].startswith("stripe")]
    deliveries = webhook_deliveries()
    print()
    for window in windows:
        name, start, end = window
        met = [r for r in shop if during(window, r[0], r[1])]
        sent = [d for d in deliveries if during(window, d[0], d[0])]
        print(f"{name}: {end - start:.1f} s; requests in flight then: {sum(r[3] >= 500 for r in met)} 5xx, "
              f"{sum(r[3] == 0 for r in met)} unanswered, {sum(0 < r[3] < 500 for r in met)} others; "
              f"webhooks: {sum(d[1] == 0 for d in sent)} not delivered, {sum(d[1] >= 500 for d in sent)} 5xx")
    errors_outside = [r for r in shop if r[3] >= 500 and not inside(r[0], r[1])]
    unanswered_outside = [r for r in shop if r[3] == 0 and not inside(r[0], r[1])]
    webhooks_failed_outside = [d for d in deliveries if (d[1] == 0 or d[1] >= 500) and not inside(d[0], d[0])]
    print(f"5xx from the shop outside the fault windows: {len(errors_outside)} "
          f"({sum(r[3] >= 500 for r in shop)} in all)")
    print(f"requests the shop left unanswered outside the fault windows: {len(unanswered_outside)}")
    for first, _, name, status in (errors_outside + unanswered_outside)[:10]:
        print(f"  {status or 'no answer'} {name} started at {time.strftime('%H:%M:%S', time.localtime(first))}")
    print(f"webhook deliveries: {len(deliveries)}, {sum(d[1] == 200 for d in deliveries)} answered 200; "
          f"failed outside the fault windows: {len(webhooks_failed_outside)}")
    # The shoppers' batches hold impressions, views and hides only; saves, searches and purchases
    # are recorded by the shop itself.
    stored = set(psql("SELECT client_event_id FROM activities WHERE event_type IN ('impression', 'view', 'hide')")
                 .split())
    print(f"activity events the shop confirmed: {len(confirmed_events)}; stored: {len(stored)}; confirmed but not "
          f"stored: {len(confirmed_events - stored)}; stored but never confirmed: {len(stored - confirmed_events)}")
    paid = set(psql("SELECT stripe_session_id FROM orders WHERE paid_at IS NOT NULL").split())
    twice = orders_charged_twice()
    print(f"payments made: {len(payments_made)}; orders paid: {len(paid)}; paid without a payment: "
          f"{len(paid - payments_made)}; payments not marked paid: {len(payments_made - paid)}; orders charged "
          f"twice: {twice}; pay pages gone before paying: {len(pay_pages_gone)}")
    for what, took in recoveries:
        print(f"{what} {took:.1f} s" if took is not None else f"{what}: NOT RECOVERED")
    held = {
        "three faults, each recovered": len(windows) == 3 and all(took is not None for _, took in recoveries),
        "no 5xx or unanswered request outside the faults": not errors_outside and not unanswered_outside,
        "no webhook failed outside the faults": not webhooks_failed_outside,
        "events confirmed = stored": confirmed_events == stored,
        "payments = orders paid, none charged twice": paid == payments_made and twice == 0 and not pay_pages_gone,
    }
    print()
    for check, ok in held.items():
        print(f"{'holds' if ok else 'FAILS'}: {check}")
    return all(held.values())


if __name__ == "__main__":
    main()
