"""`make soak` and `make scale-test`: a mix of shoppers against the shop, with faults.

Locust drives shoppers over loopback for SOAK_SECONDS (default 90): the landing page, feed pages
(server-rendered and JSON), painting pages, searches, activity batches, saves, and checkouts paid
through the test Stripe server, whose webhooks come back to the shop. Meanwhile the soak
(a) kills the shop with SIGKILL and starts it again, (b) restarts Postgres and (c) stops the test
Stripe server for 10 s. Then it prints, per route, requests/s and p50/p95/p99; the 5xx outside the
fault windows (should be 0); events the shop confirmed vs events stored (should be equal); orders
paid vs payments made (should be equal, none paid twice); and how long each recovery took.

With --scale (`make scale-test`) the same shoppers are spread over three instances of the shop on
one primary with a streaming replica serving their lag-tolerant reads (ARTWALL_DATABASE_READ_URL),
and every third checkout is abandoned. One instance is killed (SIGKILL) and started again a third
of the way in; at two thirds the abandoned orders are made overdue, for the three instances'
order jobs to race over. Meanwhile an admin signed in on one instance imports paintings from a local
image server and re-embeds the catalogue from another (each job runs on whichever instance claims
it). The checks add: every taste update made exactly once (each visitor's interaction count equals
the learned signals among their events), every import and re-embed item done exactly once, every
overdue order moved on and no order moved into a status twice, the admin's session valid on every
instance, the sign-in limit holding in total across the instances, and the replica having served
reads.

Each mode runs on its own Postgres cluster(s) under .data, media folder and ports; nothing leaves
127.0.0.1. scripts/soak.sh and scripts/scale_test.sh build the binary and call this with it.
"""

import argparse
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import gevent
from locust import HttpUser, between, task
from locust.env import Environment
import requests  # after locust, which patches the standard library for gevent first

HERE = Path(__file__).resolve().parent.parent
LOGS = HERE / ".data/logs"
ADMIN_EMAIL, ADMIN_PASSWORD = "ops@artwall.test", "scale-test-password"
SIGN_INS_PER_MINUTE = 4  # the scale test's sign-in limit, in total across its instances
IMPORTED = 20  # paintings the scale test's admin imports while the shoppers shop
MUSEUM_PORT = 8432
WORDS = ["blue", "sea", "flowers", "portrait", "night", "garden", "river", "snow", "city", "gold"]

class Setup:
    """Where a mode runs: its Postgres cluster (and replica), shop ports and test Stripe server."""

    def __init__(self, name, pg_port, shop_ports, stripe_port, replica_port=None):
        self.name, self.pg_port, self.shop_ports, self.stripe_port = name, pg_port, shop_ports, stripe_port
        self.pg_data = HERE / f".data/pg-{name}"
        self.replica_port = replica_port
        self.replica_data = HERE / f".data/pg-{name}-replica"
        self.database = f"artwall_{name.replace('-', '_')}"
        self.stripe_state = HERE / f".data/{name}-stripe-state.json"

    def database_url(self, port):
        return f"postgres://postgres@127.0.0.1:{port}/{self.database}"

    def shop(self, index):
        return f"http://127.0.0.1:{self.shop_ports[index]}"


SOAK = Setup("soak", 54334, [3100], 8430)
SCALE = Setup("scale", 54335, [3111, 3112, 3113], 8431, replica_port=54336)
S = SOAK  # the mode this run uses (main sets it)
up = []  # indexes of the instances taking requests (a load balancer's healthy set)

# What the shoppers saw, for the checks at the end.
confirmed_events = set()  # ids the shop answered "logged" or "duplicate" for
payments_made = set()  # Checkout Session ids whose Pay button answered with the redirect
pay_pages_gone = []  # Checkout Sessions the test Stripe server no longer had open when paid
requests_log = []  # (start, end, route, status) of every request
checkout_numbers = itertools.count(1)  # each checkout the shoppers start
abandoned = []  # the Checkout Sessions the scale test's shoppers never paid


def session_of(pay_url):
    return pay_url.rsplit("/", 1)[-1]


def log(message):
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def psql(sql, port=None, database=None):
    port, database = port or S.pg_port, database or S.database
    out = subprocess.run(["psql", "-qtA", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database, "-c", sql],
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
    """The shop's instances and the test Stripe server, started and stopped by the run."""

    def __init__(self, binary, env):
        self.binary, self.env = binary, env
        self.shops = [None] * len(S.shop_ports)
        self.stripe = self.museum = None

    def start_museum(self, port):
        """A web server for the demo images, which the admin's import job fetches."""
        images = Path(self.env["ARTWALL_DEMO_CATALOGUE"]).parent / "images"
        self.museum = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                        "--directory", str(images)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return f"http://127.0.0.1:{port}", sorted(p.name for p in images.glob("*.jpg"))

    def start_stripe(self):
        out = open(LOGS / f"{S.name}-stripe.log", "a")
        self.stripe = subprocess.Popen([sys.executable, str(HERE / "scripts/stripe_harness.py"), "--port", str(S.stripe_port)],
                                       env=self.env, stdout=out, stderr=out)

    def start_shop(self, index=0):
        out = open(LOGS / f"{S.name}-shop-{index}.log", "a")
        port = S.shop_ports[index]
        env = dict(self.env, LEPTOS_SITE_ADDR=f"127.0.0.1:{port}", ARTWALL_PUBLIC_URL=f"http://127.0.0.1:{port}")
        self.shops[index] = subprocess.Popen([self.binary, "serve"], env=env, stdout=out, stderr=out, cwd=HERE)

    def stop(self):
        processes = self.shops + [self.stripe, self.museum]
        for process in processes:
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            if process:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()


class Shopper(HttpUser):
    """One visitor. Each request goes to an instance taking requests, as a load balancer would
    send it; the visitor's cookie is the same on all of them."""
    wait_time = between(0.2, 1.0)

    def url(self, path):
        return S.shop(random.choice(up or [0])) + path

    def on_start(self):
        self.cursor = None
        self.seen = []
        self.pending = []  # events not confirmed yet: re-sent with the next batch, as the browser does
        self.client.get(self.url("/"), name="/")

    def remember(self, items):
        self.seen = ([item["id"] for item in items] + self.seen)[:60]

    @task(6)
    def feed_page(self):
        query = f"?cursor={self.cursor}" if self.cursor else ""
        with self.client.get(self.url(f"/api/feed{query}"), name="/api/feed", catch_response=True) as response:
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
        with self.client.post(self.url("/api/activity"), json={"events": batch[:100]}, name="/api/activity",
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
        self.client.get(self.url("/feed"), name="/feed")

    @task(4)
    def painting_page(self):
        if self.seen:
            self.client.get(self.url(f"/painting/{random.choice(self.seen)}"), name="/painting/{id}")

    @task(2)
    def search(self):
        with self.client.get(self.url(f"/api/search?q={random.choice(WORDS)}"), name="/api/search", catch_response=True) as response:
            if response.status_code == 200:
                self.remember(response.json().get("results", []))
            else:
                response.failure(f"status {response.status_code}")

    @task(1)
    def save(self):
        if self.seen:
            form = {"paintingId": random.choice(self.seen), "saved": "true", "source": "feed"}
            self.client.post(self.url("/api/saved/set"), data=form, name="/api/saved/set", headers={"Accept": "application/json"})

    @task(1)
    def buy(self):
        if not self.seen:
            return
        form = {"paintingId": random.choice(self.seen), "size": "50x60", "material": "canvas", "frame": "none"}
        with self.client.post(self.url("/api/checkout"), data=form, name="/api/checkout", headers={"Accept": "application/json"},
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            pay_url = response.json()
        if S is SCALE and next(checkout_numbers) % 3 == 0:
            abandoned.append(session_of(pay_url))  # left for the order jobs to expire
            return
        session = session_of(pay_url)
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


def soak_faults(processes, began, seconds, windows, recoveries):
    """Kills the shop, restarts Postgres and stops the test Stripe server, at a quarter, half
    and three quarters of the run, and measures each recovery."""
    ready = f"{S.shop(0)}/readyz"
    pg = ["bash", str(HERE / "scripts/pg.sh")]

    gevent.sleep(max(0.0, began + seconds * 0.25 - time.time()))
    kill_and_restart(processes, 0, windows, recoveries)

    gevent.sleep(max(0.0, began + seconds * 0.5 - time.time()))
    start = time.time()
    subprocess.run(pg + ["stop", str(S.pg_data)], check=True)
    subprocess.run(pg + ["start", str(S.pg_data), str(S.pg_port)], check=True)
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
    took = wait_for(f"http://127.0.0.1:{S.stripe_port}/", ok=lambda code: code > 0)
    windows.append(("test Stripe server stopped", start, time.time()))
    recoveries.append(("test Stripe server stopped for 10 s: answering again after", 10 + (took or 0)))


def kill_and_restart(processes, index, windows, recoveries):
    """SIGKILLs instance `index` (the load balancer stops sending it requests at that moment;
    those in flight fail) and starts it again; it takes requests once ready."""
    start = time.time()
    if index in up:
        up.remove(index)
    processes.shops[index].send_signal(signal.SIGKILL)
    processes.shops[index].wait()
    processes.start_shop(index)
    took = wait_for(f"{S.shop(index)}/readyz", ok=lambda code: code == 200)
    up.append(index)
    windows.append((f"instance {index + 1} killed", start, time.time()))
    recoveries.append((f"instance {index + 1} killed (SIGKILL) and started again: ready after", took))


overdue_orders = []  # abandoned orders the scale test made overdue, for the order jobs


def scale_faults(processes, began, seconds, windows, recoveries):
    """Kills the first instance a third of the way in. At two thirds, the abandoned checkouts'
    orders are made overdue, as if their 30 minutes had passed: the order jobs of all three
    instances (every 5 s) race to reconcile each with the test Stripe server and expire it."""
    gevent.sleep(max(0.0, began + seconds / 3 - time.time()))
    kill_and_restart(processes, 0, windows, recoveries)
    gevent.sleep(max(0.0, began + seconds * 2 / 3 - time.time()))
    sessions = "{" + ",".join(abandoned) + "}"
    overdue_orders.extend(psql(f"UPDATE orders SET expires_at = now() WHERE status = 'pending' "
                               f"AND stripe_session_id = ANY('{sessions}') RETURNING id").split())


class Admin:
    """An admin at work during the scale test: signs in on one instance, imports paintings from a
    museum's web server and re-embeds the catalogue from another (each job runs on whichever
    instance's runner claims it), and reads the dashboard on the third; then someone guesses
    passwords from the same address, spread over all three."""

    def __init__(self, museum, images):
        self.session = requests.Session()
        self.museum, self.images = museum, images
        self.jobs = []
        self.session_everywhere = False
        self.sign_ins = []  # statuses of the sign-in attempts, in order

    def sign_in(self, index, password):
        response = requests.post(f"{S.shop(index)}/api/admin/login", data={"email": ADMIN_EMAIL, "password": password},
                                 headers={"Accept": "application/json"}, allow_redirects=False, timeout=30)
        self.sign_ins.append(response.status_code)
        return response

    def work(self):
        signed_in = self.sign_in(0, ADMIN_PASSWORD)
        self.session.cookies.update(signed_in.cookies)
        json_please = {"Accept": "application/json"}
        # The last images of the demo set: the catalogue was imported from its first rows.
        paintings = [{"id": f"scale:{i}", "title": f"Scale study {i}", "artist": "Scale Workshop", "year": 1900 + i,
                      "style": "Test", "imageUrl": f"{self.museum}/{urllib.parse.quote(name)}"}
                     for i, name in enumerate(self.images[-IMPORTED:])]
        imported = self.session.post(f"{S.shop(1)}/api/admin/jobs/import", headers=json_please, timeout=30,
                                     files={"paintings": (None, json.dumps({"paintings": paintings}))})
        reembed = self.session.post(f"{S.shop(1)}/api/admin/jobs/reembed", headers=json_please, timeout=30)
        if imported.status_code == 200 and reembed.status_code == 200:
            self.jobs = [imported.json()["jobId"], reembed.json()]
        overview = self.session.get(f"{S.shop(2)}/api/admin/overview", timeout=30)
        self.session_everywhere = signed_in.status_code == 200 and len(self.jobs) == 2 and overview.status_code == 200
        for attempt in range(2 * SIGN_INS_PER_MINUTE):
            taking_requests = sorted(up) or [len(S.shop_ports) - 1]
            self.sign_in(taking_requests[attempt % len(taking_requests)], "not-the-password")


def percentile(entry, q):
    return entry.get_response_time_percentile(q) if entry.num_requests else 0


def refuse_port_in_use(port, what):
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            sys.exit(f"port {port}, which {what} needs, is already in use on 127.0.0.1: is another soak running?")


def main():
    global S
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--scale", action="store_true", help="three instances, a replica (make scale-test)")
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", "90")))
    parser.add_argument("--users", type=int, default=int(os.environ.get("SOAK_USERS", "20")))
    parser.add_argument("--paintings", type=int, default=None, help="import only this many demo paintings")
    args = parser.parse_args()
    S = SCALE if args.scale else SOAK
    shortest = 30 if args.scale else 60
    if args.seconds < shortest:
        sys.exit(f"the {S.name} runs at least {shortest} s")
    for port in S.shop_ports:
        refuse_port_in_use(port, f"the {S.name}'s shop")
    refuse_port_in_use(S.stripe_port, f"the {S.name}'s test Stripe server")
    if args.scale:
        refuse_port_in_use(MUSEUM_PORT, "the scale test's image server")
    # A TERM (or Ctrl-C) still stops what the run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    LOGS.mkdir(parents=True, exist_ok=True)
    for log_file in LOGS.glob(f"{S.name}-*.log"):
        log_file.unlink()
    media = HERE / f".data/{S.name}-media"
    subprocess.run(["rm", "-rf", str(media)], check=True)
    S.stripe_state.unlink(missing_ok=True)
    webhook_secret = f"whsec_{S.name}_{uuid.uuid4().hex}"
    unlimited = "1000000"  # every shopper comes from 127.0.0.1
    # The test Stripe server delivers to the last instance (the one never killed).
    env = dict(os.environ, DATABASE_URL=S.database_url(S.pg_port), ARTWALL_MEDIA_DIR=str(media),
               ARTWALL_STRIPE_SECRET_KEY="sk_test_artwall_soak", ARTWALL_STRIPE_API_BASE=f"http://127.0.0.1:{S.stripe_port}",
               ARTWALL_STRIPE_WEBHOOK_SECRETS=webhook_secret, ARTWALL_HARNESS_STATE=str(S.stripe_state),
               ARTWALL_HARNESS_WEBHOOK_SECRET=webhook_secret,
               ARTWALL_HARNESS_WEBHOOK_URL=f"{S.shop(len(S.shop_ports) - 1)}/api/webhooks/stripe",
               ARTWALL_ORDER_JOBS_SECONDS="5", ARTWALL_RATE_ACTIVITY_PER_MINUTE=unlimited, ARTWALL_RATE_FEED_PER_MINUTE=unlimited,
               ARTWALL_RATE_SEARCH_PER_MINUTE=unlimited, ARTWALL_RATE_CHECKOUT_PER_MINUTE=unlimited,
               ARTWALL_RATE_LOGIN_PER_MINUTE=str(SIGN_INS_PER_MINUTE),
               RUST_LOG=os.environ.get("RUST_LOG", "info,sqlx=warn,ort=warn"))
    if S.replica_port:
        env["ARTWALL_DATABASE_READ_URL"] = S.database_url(S.replica_port)
        env["ARTWALL_FETCH_ALLOW_PRIVATE"] = "true"  # the museum the admin imports from is on 127.0.0.1
    processes = Processes(args.bin, env)
    pg = ["bash", str(HERE / "scripts/pg.sh")]
    try:
        subprocess.run(pg + ["start", str(S.pg_data), str(S.pg_port)], check=True)
        admin = ["psql", "-q", "-h", "127.0.0.1", "-p", str(S.pg_port), "-U", "postgres", "-d", "postgres", "-c"]
        subprocess.run(admin + [f"DROP DATABASE IF EXISTS {S.database}"], check=True)
        subprocess.run(admin + [f"CREATE DATABASE {S.database}"], check=True)
        if S.replica_port:
            subprocess.run(pg + ["replica", str(S.replica_data), str(S.replica_port), str(S.pg_port)], check=True,
                           env=dict(os.environ, PG_SHARED_BUFFERS="128MB"))
        subprocess.run([args.bin, "migrate"], env=env, check=True, cwd=HERE)
        subprocess.run([args.bin, "admin", "create", ADMIN_EMAIL], env=dict(env, ARTWALL_ADMIN_PASSWORD=ADMIN_PASSWORD),
                       check=True, cwd=HERE, stdout=subprocess.DEVNULL)
        log("importing the demo catalogue")
        limit = ["--limit", str(args.paintings)] if args.paintings else []
        subprocess.run([args.bin, "import", env["ARTWALL_DEMO_CATALOGUE"], *limit], env=env, check=True, cwd=HERE,
                       stdout=subprocess.DEVNULL)
        processes.start_stripe()
        for index in range(len(S.shop_ports)):
            processes.start_shop(index)
        for index in range(len(S.shop_ports)):
            if wait_for(f"{S.shop(index)}/readyz", ok=lambda code: code == 200) is None:
                sys.exit(f"instance {index + 1} did not start: see {LOGS / f'{S.name}-shop-{index}.log'}")
            up.append(index)
        held = run(args, processes)
    finally:
        processes.stop()
        if S.replica_port:
            subprocess.run(pg + ["stop", str(S.replica_data)], check=False)
        subprocess.run(pg + ["stop", str(S.pg_data)], check=False)
    sys.exit(0 if held else 1)


def run(args, processes):
    """The load with its faults; True when every check held."""
    # At the end each shopper finishes what it is doing (its batch answered) before it stops.
    environment = Environment(user_classes=[Shopper], host=S.shop(0), stop_timeout=15)

    def on_request(request_type, name, response_time, response_length, response=None, exception=None, start_time=None,
                   **_):
        status = getattr(response, "status_code", 0) if response is not None else 0
        end = time.time()
        requests_log.append((start_time or end - response_time / 1000, end, name, status))

    environment.events.request.add_listener(on_request)
    runner = environment.create_local_runner()
    windows, recoveries = [], []
    replica_reads = replica_transactions()
    if args.scale:
        log(f"{args.users} shoppers over {len(S.shop_ports)} instances for {args.seconds} s; instance 1 killed at "
            f"{args.seconds // 3} s")
    else:
        log(f"{args.users} shoppers for {args.seconds} s; faults at {args.seconds // 4}, {args.seconds // 2} and "
            f"{3 * args.seconds // 4} s")
    began = time.time()
    runner.start(args.users, spawn_rate=args.users)
    admin = None
    if args.scale:
        museum, images = processes.start_museum(MUSEUM_PORT)
        if wait_for(f"{museum}/", seconds=30) is None:
            sys.exit("the image server for the admin's import did not start")
        admin = Admin(museum, images)
    admin_thread = gevent.spawn(admin.work) if admin else None
    fault_thread = gevent.spawn(scale_faults if args.scale else soak_faults, processes, began, args.seconds, windows,
                                recoveries)
    gevent.sleep(args.seconds)
    fault_thread.join(timeout=60)
    faults_ran = fault_thread.successful()
    if not faults_ran:
        fault_thread.kill()
        log(f"the faults did not all run: {fault_thread.exception!r}")
    runner.quit()  # each shopper finishes its task, then sends what it still holds (on_stop)
    runner.greenlet.join()
    elapsed = time.time() - began
    log("settling: waiting for webhooks, reconciliation, the taste worker and admin jobs")
    if admin_thread:
        admin_thread.join(timeout=60)
    settle(len(payments_made), admin.jobs if admin else [])
    held = report(environment, elapsed, windows, recoveries) and faults_ran
    if admin:
        held = scale_report(admin, replica_transactions() - replica_reads) and held
    return held


def replica_transactions():
    """Scans of `paintings` the replica has run (0 without one): reads of the catalogue, which the
    instances' probes of the replica never make."""
    if not S.replica_port:
        return 0
    return int(psql("SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
                    "WHERE relname = 'paintings'", port=S.replica_port))


def settle(payments, jobs):
    """Until the shop has marked every payment paid, learned every event, finished the admin's
    job and moved every overdue order on (90 s at most)."""
    for _ in range(180):
        paid = int(psql("SELECT count(*) FROM orders WHERE paid_at IS NOT NULL"))
        backlog = int(psql("SELECT count(*) FROM activities WHERE NOT processed"))
        running = any(psql(f"SELECT status FROM batch_jobs WHERE id = '{job}'") in ("queued", "running", "interrupted")
                      for job in jobs)
        overdue = int(psql("SELECT count(*) FROM orders WHERE status = 'pending' AND expires_at < now()"))
        if paid >= payments and backlog == 0 and not running and overdue == 0:
            return
        gevent.sleep(0.5)


def scale_report(admin, replica_reads):
    """The scale test's own checks; True when each held."""
    # A visitor's interactions count each learned signal: events about a painting whose weight
    # is not zero (src/server/discovery/taste.rs: views under 1 s, impressions and the like are 0).
    miscounted = int(psql("""
        SELECT count(*) FROM user_preferences u WHERE interaction_count <> (
            SELECT count(*) FROM activities a WHERE a.visitor_id = u.visitor_id AND a.processed
              AND a.painting_id IS NOT NULL
              AND (a.event_type IN ('purchase', 'save', 'share', 'click', 'hide', 'unsave')
                   OR (a.event_type = 'view' AND coalesce((a.metadata->>'dwellTimeMs')::bigint, 0) >= 1000)))"""))
    visitors = int(psql("SELECT count(*) FROM user_preferences"))
    # Each admin job: its kind, status, times resumed, items, items done exactly once.
    jobs = [psql(f"""SELECT j.kind, j.status, j.resumes, count(i.*),
                            count(i.*) FILTER (WHERE i.status = 'done' AND i.attempts = 1)
                     FROM batch_jobs j LEFT JOIN batch_job_items i ON i.job_id = j.id
                     WHERE j.id = '{job}' GROUP BY j.id""").split("|") for job in admin.jobs]
    imported = int(psql("SELECT count(*) FROM paintings WHERE source_key LIKE 'scale:%'"))
    still_pending = int(psql("SELECT count(*) FROM orders WHERE status = 'pending' AND id = ANY('{" +
                             ",".join(overdue_orders) + "}')")) if overdue_orders else 0
    moved_twice = int(psql("""SELECT count(*) FROM (SELECT order_id, to_status FROM order_events
                              WHERE from_status IS DISTINCT FROM to_status GROUP BY 1, 2 HAVING count(*) > 1) twice"""))
    expected_sign_ins = [200] + [400] * (SIGN_INS_PER_MINUTE - 1) + [429] * (SIGN_INS_PER_MINUTE + 1)
    print(f"\ntastes: {visitors} visitors; interaction counts not equal to their learned signals: {miscounted}")
    for kind, status, resumes, items, once in jobs:
        print(f"{kind} job: {items} items, {once} done exactly once; job {status}, resumed {resumes} times")
    print(f"paintings the import added: {imported} (of {IMPORTED})")
    print(f"orders made overdue: {len(overdue_orders)}; still pending: {still_pending}; orders moved into one "
          f"status twice: {moved_twice}")
    print(f"admin session made on instance 1 used on instances 2 and 3: {'yes' if admin.session_everywhere else 'NO'}")
    print(f"sign-ins from one address over the instances (limit {SIGN_INS_PER_MINUTE} a minute in total): "
          f"{admin.sign_ins}")
    print(f"scans of the catalogue the replica ran: {replica_reads}")
    held = {
        "every taste update made exactly once": visitors > 0 and miscounted == 0,
        "every import and re-embed item done exactly once": len(jobs) == 2 and imported == IMPORTED
        and all(status == "completed" and items == once and int(items) > 0 for _, status, _, items, once in jobs),
        "every overdue order moved on, no order moved twice": bool(overdue_orders) and still_pending == 0
        and moved_twice == 0,
        "the admin session works on every instance": admin.session_everywhere,
        "the sign-in limit holds in total": admin.sign_ins == expected_sign_ins,
        "the replica served reads": replica_reads > 0,
    }
    for check, ok in held.items():
        print(f"{'holds' if ok else 'FAILS'}: {check}")
    return all(held.values())


def webhook_deliveries():
    """(time, status) of each delivery the test Stripe server tried (0: the shop was unreachable)."""
    deliveries = []
    for line in (LOGS / f"{S.name}-stripe.log").read_text().splitlines():
        if " webhook " in line and " -> " in line:
            outcome = line.rsplit(" -> ", 1)[1]
            deliveries.append((float(line.split(" ", 1)[0]), int(outcome) if outcome.isdigit() else 0))
    return deliveries


def orders_charged_twice():
    """Orders the test Stripe server took more than one payment for."""
    charges = json.loads(S.stripe_state.read_text())["charges"].values()
    orders = [charge["metadata"].get("orderId") for charge in charges]
    return sum(orders.count(order) > 1 for order in set(orders))


def report(environment, elapsed, windows, recoveries):
    """Prints the figures; True when every check held."""
    instances = f", {len(S.shop_ports)} instances and a replica" if S.replica_port else ""
    print(f"\n{S.name.capitalize()}: {elapsed:.0f} s, demo catalogue{instances}, loopback\n")
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
        "each fault ran and recovered": len(windows) == (1 if S is SCALE else 3)
        and all(took is not None for _, took in recoveries),
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
