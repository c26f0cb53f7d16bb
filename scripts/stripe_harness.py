"""Test infrastructure, not product: localstripe 1.15 plus what ArtWall's tests need from Stripe.

localstripe has no Checkout Sessions, never sends `charge.refunded`, and leaves out fields that
async-stripe requires. This module adds, inside localstripe's own aiohttp app:

- POST /v1/checkout/sessions (honours Idempotency-Key as Stripe does: the same key with other
  parameters is a 400 idempotency_error, and while a request with it is still running a 409;
  ARTWALL_HARNESS_CREATE_DELAY_SECONDS makes creating a session take that long), GET /v1/checkout/sessions/{id},
  POST /v1/checkout/sessions/{id}/expire                      -> checkout.session.expired
- GET  /pay/{id}: the "hosted" pay page, which says that no card is charged. Its Pay button
  (POST /pay/{id}) completes the session (a PaymentIntent and a Charge, the session's metadata
  copied onto both, shipping details filled in), sends checkout.session.completed and
  payment_intent.succeeded, then redirects to the success URL; Cancel goes to the cancel URL
- POST /v1/refunds (payment_intent, amount)                    -> charge.refunded
- webhooks signed with Stripe's v1 scheme to ARTWALL_HARNESS_WEBHOOK_URL with
  ARTWALL_HARNESS_WEBHOOK_SECRET, delivered in the background like Stripe does

Run: python scripts/stripe_harness.py --port 8420
"""

import argparse
import asyncio
import hashlib
import hmac
import html
import json
import logging
import os
import secrets
import socket
import time

import aiohttp
from aiohttp import web

import localstripe.resources as resources
from localstripe.server import app, get_post_data

# Every write pickles the whole store to /tmp; tests need neither the cost nor the shared file.
resources.Store.dump_to_disk = lambda self: None

SESSIONS = {}
IDEMPOTENT = {}
IDEMPOTENT_PARAMETERS = {}  # idempotency key -> the parameters it was first used with
IN_FLIGHT = set()  # idempotency keys of requests still running
CREATE_DELAY = float(os.environ.get("ARTWALL_HARNESS_CREATE_DELAY_SECONDS", "0"))
CHARGES = {}  # payment intent id -> charge
PENDING = {}  # event id -> an event the app has not answered with 2xx yet: delivered again, as Stripe does
log = logging.getLogger("stripe-harness")
# `make run` keeps the harness's sessions and charges in this file, so that orders still pending
# or paid when it was stopped can be reconciled or refunded after a restart.
STATE_FILE = os.environ.get("ARTWALL_HARNESS_STATE")


def load_state():
    if STATE_FILE and os.path.exists(STATE_FILE):
        with open(STATE_FILE) as f:
            state = json.load(f)
        for table, saved in ((SESSIONS, state["sessions"]), (IDEMPOTENT, state["idempotent"]), (CHARGES, state["charges"]),
                             (PENDING, state.get("pending", {}))):
            table.update(saved)


def save_state():
    if STATE_FILE:
        with open(STATE_FILE + ".tmp", "w") as f:
            json.dump({"sessions": SESSIONS, "idempotent": IDEMPOTENT, "charges": CHARGES, "pending": PENDING}, f)
        os.replace(STATE_FILE + ".tmp", STATE_FILE)


def new_id(prefix):
    return prefix + secrets.token_hex(12)


def fail(status, message):
    return web.json_response({"error": {"type": "invalid_request_error", "message": message}}, status=status)


# Stripe retries a delivery the app did not answer with 2xx, for days; here with a short backoff.
RETRY_SECONDS = [1, 2, 4, 8, 15, 30, 30, 30]


async def deliver(event):
    """POSTs a signed event to the app, as Stripe would: shortly after, in the background, again
    until it answers 2xx (also after a restart of this server: pending events are in its state)."""
    url = os.environ.get("ARTWALL_HARNESS_WEBHOOK_URL")
    secret = os.environ.get("ARTWALL_HARNESS_WEBHOOK_SECRET", "")
    if not url:
        PENDING.pop(event["id"], None)
        return
    payload = json.dumps(event).encode()
    for pause in RETRY_SECONDS + [None]:
        now = int(time.time())
        signature = hmac.new(secret.encode(), b"%d." % now + payload, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "Stripe-Signature": f"t={now},v1={signature}"}
        try:
            async with aiohttp.ClientSession() as http:
                async with http.post(url, data=payload, headers=headers) as response:
                    log.info("webhook %s -> %s", event["type"], response.status)
                    if response.status < 300:
                        break
        except aiohttp.ClientError as error:
            log.info("webhook %s -> unreachable (%s)", event["type"], error)
        if pause is None:
            log.warning("webhook %s given up", event["type"])
            break
        await asyncio.sleep(pause)
    PENDING.pop(event["id"], None)
    save_state()


def send_later(kind, obj):
    event = {"id": new_id("evt_"), "object": "event", "type": kind, "created": int(time.time()), "livemode": False,
             "pending_webhooks": 1, "api_version": "2025-03-31.basil", "request": {"id": None, "idempotency_key": None},
             "data": {"object": json.loads(json.dumps(obj))}}
    PENDING[event["id"]] = event
    save_state()
    asyncio.ensure_future(deliver(event))


async def deliver_pending(_app):
    """Events a stopped server still owed the app go out when it starts again."""
    for event in list(PENDING.values()):
        asyncio.ensure_future(deliver(event))


def session_object(data, request):
    items = data.get("line_items") or []
    amount = sum(int(i.get("price_data", {}).get("unit_amount", 0)) * int(i.get("quantity", 1)) for i in items)
    currency = (items[0].get("price_data", {}).get("currency") if items else None) or "cny"
    session_id = new_id("cs_test_")
    origin = f"http://{request.host}"
    return {
        # Everything async-stripe's CheckoutSession requires, with Stripe's defaults.
        "id": session_id, "object": "checkout.session", "livemode": False, "created": int(time.time()),
        "expires_at": int(data.get("expires_at") or time.time() + 86400), "mode": data.get("mode", "payment"),
        "status": "open", "payment_status": "unpaid", "amount_total": amount, "amount_subtotal": amount, "currency": currency,
        "metadata": data.get("metadata") or {}, "client_reference_id": data.get("client_reference_id"),
        "success_url": data.get("success_url"), "cancel_url": data.get("cancel_url"),
        "payment_method_types": data.get("allowed_payment_method_types") or ["card"],
        "payment_intent_data": data.get("payment_intent_data") or {},
        "shipping_address_collection": data.get("shipping_address_collection"),
        "automatic_tax": {"enabled": False, "liability": None, "status": None, "provider": None},
        "custom_fields": [], "custom_text": {"after_submit": None, "shipping_address": None, "submit": None, "terms_of_service_acceptance": None},
        "shipping_options": [], "payment_intent": None, "url": f"{origin}/pay/{session_id}",
        "line_items_received": items,
    }


def public(session):
    return {k: v for k, v in session.items() if k not in ("line_items_received", "payment_intent_data")}


def idempotency_error(status, message):
    return web.json_response({"error": {"type": "idempotency_error", "message": message}}, status=status)


async def create_session(request):
    key = request.headers.get("Idempotency-Key")
    data = await get_post_data(request) or {}
    if key in IN_FLIGHT:
        return idempotency_error(409, "There is currently another in-progress request using this Idempotent Key.")
    if key and key in IDEMPOTENT:
        if IDEMPOTENT_PARAMETERS.get(key, data) != data:
            return idempotency_error(400, "Keys for idempotent requests can only be used with the same parameters they were first used with.")
        return web.json_response(public(SESSIONS[IDEMPOTENT[key]]))
    if not data.get("line_items") or not data.get("success_url"):
        return fail(400, "line_items and success_url are required")
    if key:
        IN_FLIGHT.add(key)
    try:
        await asyncio.sleep(CREATE_DELAY)
        session = session_object(data, request)
        SESSIONS[session["id"]] = session
        if key:
            IDEMPOTENT[key] = session["id"]
            IDEMPOTENT_PARAMETERS[key] = data
        save_state()
    finally:
        IN_FLIGHT.discard(key)
    return web.json_response(public(session))


def find(request):
    return SESSIONS.get(request.match_info["id"])


async def get_session(request):
    session = find(request)
    return web.json_response(public(session)) if session else fail(404, "No such checkout.session")


async def expire_session(request):
    session = find(request)
    if not session:
        return fail(404, "No such checkout.session")
    if session["status"] != "open":
        return fail(400, f"Only open sessions can be expired; this one is {session['status']}")
    session["status"] = "expired"
    save_state()
    send_later("checkout.session.expired", public(session))
    return web.json_response(public(session))


PAY_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test payment</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}}
.notice{{background:#fff4d6;border:1px solid #e0b84a;padding:.5rem .75rem;border-radius:4px}}
button{{font:inherit;padding:.6rem 1.2rem;background:#1d4ed8;color:#fff;border:0;border-radius:4px;cursor:pointer}}
a{{margin-left:1rem}}</style></head>
<body><h1>Test payment</h1>
<p class="notice">Test payments: no card is charged. This page stands in for Stripe Checkout.</p>
<p>{item}</p><p>Total: <strong>{amount}</strong></p>
<p>Ships to the test address: Test Shopper, 88 Century Avenue, Shanghai 200120, China.</p>
<form method="post"><button type="submit">Pay {amount}</button><a href="{cancel}">Cancel</a></form>
</body></html>"""


def pay_page(session):
    items = session.get("line_items_received") or [{}]
    product = items[0].get("price_data", {}).get("product_data", {})
    amount = f"{session['currency'].upper()} {session['amount_total'] / 100:,.2f}"
    return web.Response(content_type="text/html", text=PAY_PAGE.format(
        item=html.escape(product.get("name") or "Your order"), amount=html.escape(amount),
        cancel=html.escape(session.get("cancel_url") or "/", quote=True)))


async def pay(request):
    """The pay page (GET) and its Pay button (POST): completes the session and sends the shopper
    back, like Checkout does."""
    session = SESSIONS.get(request.path.rsplit("/", 1)[-1])
    if not session or session["status"] != "open":
        return web.Response(status=410, text="This checkout session is no longer open.")
    if request.method != "POST":
        return pay_page(session)
    metadata = dict(session["metadata"])
    metadata.update((session.get("payment_intent_data") or {}).get("metadata") or {})
    intent_id, charge_id = new_id("pi_"), new_id("ch_")
    amount, currency = session["amount_total"], session["currency"]
    intent = {"id": intent_id, "object": "payment_intent", "amount": amount, "amount_received": amount, "currency": currency,
              "status": "succeeded", "metadata": metadata, "latest_charge": charge_id, "livemode": False, "created": int(time.time())}
    CHARGES[intent_id] = {"id": charge_id, "object": "charge", "amount": amount, "amount_refunded": 0, "refunded": False,
                          "currency": currency, "payment_intent": intent_id, "metadata": metadata, "paid": True, "status": "succeeded"}
    address = {"line1": "88 Century Avenue", "line2": None, "city": "Shanghai", "state": "SH", "postal_code": "200120", "country": "CN"}
    # Checkout copies the collected address onto the PaymentIntent too; either webhook may land first.
    intent["shipping"] = {"name": "Test Shopper", "phone": "+86 138 0013 8000", "address": address}
    session.update({
        "status": "complete", "payment_status": "paid", "payment_intent": intent_id,
        "customer_details": {"name": "Test Shopper", "email": "shopper@example.com", "phone": "+86 138 0013 8000", "address": address},
        "collected_information": {"shipping_details": {"name": "Test Shopper", "address": address}},
    })
    save_state()
    send_later("checkout.session.completed", public(session))
    send_later("payment_intent.succeeded", intent)
    raise web.HTTPSeeOther(session["success_url"])


async def create_refund(request):
    data = await get_post_data(request) or {}
    charge = CHARGES.get(data.get("payment_intent"))
    if not charge:
        return fail(404, "No such payment_intent")
    remaining = charge["amount"] - charge["amount_refunded"]
    amount = int(data.get("amount") or remaining)
    if amount <= 0 or amount > remaining:
        return fail(400, f"Refund amount must be between 1 and {remaining}")
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    save_state()
    refund = {"id": new_id("re_"), "object": "refund", "amount": amount, "currency": charge["currency"], "charge": charge["id"],
              "payment_intent": charge["payment_intent"], "status": "succeeded", "created": int(time.time()), "metadata": {}}
    send_later("charge.refunded", charge)
    return web.json_response(refund)


app.router.add_post("/v1/checkout/sessions", create_session)
app.router.add_get("/v1/checkout/sessions/{id}", get_session)
app.router.add_post("/v1/checkout/sessions/{id}/expire", expire_session)


@web.middleware
async def harness_routes(request, handler):
    # Outermost: the pay page is a browser's (no API key), and our refunds replace localstripe's,
    # which know nothing of the harness's charges.
    if request.path.startswith("/pay/"):
        return await pay(request)
    if request.path == "/v1/refunds" and request.method == "POST":
        return await create_refund(request)
    return await handler(request)


app.middlewares.insert(0, harness_routes)
app.on_startup.append(deliver_pending)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8420, help="0: any free port, printed on the first line of stdout")
    args = parser.parse_args()
    # Seconds since the epoch on each line: `make soak` matches deliveries with its fault windows.
    logging.basicConfig(level=logging.INFO, format="%(created).3f %(levelname)s %(name)s: %(message)s")
    load_state()
    # Bound here rather than by aiohttp so that with --port 0 the caller learns the port without a
    # window in which another process could take it.
    sock = socket.create_server(("127.0.0.1", args.port))
    print(sock.getsockname()[1], flush=True)
    web.run_app(app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main()
