"""Messaging benchmark: email delivery in chunks against one message at a time, and policy.

The SMTP server (aiosmtpd, counting and discarding what it receives) runs in
a process of its own, as a real relay would, so it does not share the
benchmark's interpreter. Every customer gets one marketing email rendered
from a Liquid template (a loop over a 3-item cart, HTML with links).

1. Delivery alone, from the claim to ``sent`` (messages created beforehand):
   - per message, as engage sent until chunks: ``sending.send_message`` for
     each (a claim, a commit before the call, an SMTP connection and a
     result commit per message);
   - in chunks: ``sending.send_due``, ``--chunk`` messages per claim, one
     SMTP connection per chunk, one commit of the results.
2. Create plus deliver: ``create_messages`` in batches of ``--chunk``, then
   ``send_due``; against bare Django ``send_mail`` over loopback (a new
   connection each, the baseline of earlier runs) and over one connection.
3. Policy: ``policy.check`` for queued marketing messages with consent, quiet
   hours, a channel cap and a cross-channel budget configured, against one
   indexed consent lookup per message.

The machine is often shared, and its load changes during a run: the sends
are measured in ``--rounds`` rounds, each timing every variant once on fresh
customers, and the report gives the median rate of each and the median of
the rounds' ratios, with the load average before and after.

Prints rates, the ratios to their baselines and the load average.
"""

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import socket
import statistics
import time

from bench._pg import server_version, services, setup_django

TEMPLATE_BODY = (
    "Hi {{ traits.first_name | default: 'there' }},\n"
    "{% for item in traits.cart %}- {{ item.name }}: {{ item.price }} EUR\n{% endfor %}"
    "Your city: {{ traits.city }}. Unsubscribe any time."
)
TEMPLATE_HTML = (
    "<html><body><p>Hi {{ traits.first_name }}</p><ul>{% for item in traits.cart %}"
    '<li><a href="https://shop.example/p/{{ item.sku }}">{{ item.name }}</a></li>'
    "{% endfor %}</ul></body></html>"
)


class Sink:
    def __init__(self, received):
        self.received = received

    async def handle_DATA(self, server, session, envelope):
        with self.received.get_lock():
            self.received.value += 1
        return "250 OK"


def serve_smtp(port: int, received, ready) -> None:
    """The mail server's process: accept every mail until terminated."""
    from aiosmtpd.controller import Controller

    controller = Controller(Sink(received), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


class SmtpServer:
    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        self.received = context.Value("q", 0)
        ready = context.Event()
        self.process = context.Process(
            target=serve_smtp, args=(self.port, self.received, ready), daemon=True
        )
        self.process.start()
        if not ready.wait(30):
            raise SystemExit("the SMTP server did not start")

    @property
    def count(self) -> int:
        return self.received.value

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


def customers(workspace, n: int, start: int = 0):
    from engage.profiles.models import Identity, Profile

    profiles = Profile.objects.bulk_create(
        Profile(
            workspace=workspace,
            traits={
                "first_name": f"Customer {i}",
                "city": "Lyon",
                "cart": [{"name": f"Item {j}", "sku": j, "price": 10 + j} for j in range(3)],
            },
        )
        for i in range(start, start + n)
    )
    Identity.objects.bulk_create(
        Identity(workspace=workspace, profile=p, kind="email", value=f"c{p.pk}@example.com")
        for p in profiles
    )
    return profiles


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_sends(workspace, template, n: int, chunk: int, smtp: SmtpServer, round_: int) -> dict:
    """One round: every variant timed once, on its own fresh customers."""
    from django.core.mail import get_connection, send_mail

    from engage.messaging import rendering, sending, services
    from engage.messaging.models import Message
    from engage.messaging.services import NewMessage

    content = rendering.variant(template, "")
    per_message, chunked, created = (
        customers(workspace, n, n * (3 * round_ + i)) for i in range(3)
    )

    def create(profiles, prefix):
        ids = []
        for start in range(0, len(profiles), chunk):
            made = services.create_messages(
                workspace=workspace,
                channel="email",
                category="marketing",
                template=template,
                messages=[
                    NewMessage(p, f"{prefix}-{p.pk}") for p in profiles[start : start + chunk]
                ],
                source=Message.BROADCAST,
                send_now=False,
            )
            ids += [c.message.pk for c in made]
        return ids

    def bare_render():
        for profile in per_message:
            rendering.render(content, {"traits": profile.traits})

    def smtp_connection():
        return get_connection(
            "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=smtp.port
        )

    def bare_smtp():
        for profile in per_message:
            send_mail(
                "Your cart",
                "Hi",
                "news@shop.example",
                [f"c{profile.pk}@example.com"],
                connection=smtp_connection(),
            )

    def bare_smtp_one_connection():
        with smtp_connection() as connection:
            for profile in per_message:
                send_mail(
                    "Your cart",
                    "Hi",
                    "news@shop.example",
                    [f"c{profile.pk}@example.com"],
                    connection=connection,
                )

    one_by_one = create(per_message, "one")
    in_chunks = create(chunked, "chunk")

    def deliver_one_by_one():
        for message_id in one_by_one:
            sending.send_message(message_id)

    def deliver_in_chunks():
        sending.send_due(limit=chunk)

    def create_and_deliver():
        create(created, "created")
        sending.send_due(limit=chunk)

    results = {
        "render": timed(bare_render),
        "smtp": timed(bare_smtp),
        "smtp_one": timed(bare_smtp_one_connection),
        "per_message": timed(deliver_one_by_one),
        "chunked": timed(deliver_in_chunks),
        "create_deliver": timed(create_and_deliver),
    }
    sent = Message.objects.filter(workspace=workspace, status=Message.SENT).count()
    if sent != 3 * n * (round_ + 1) or len(in_chunks) != n:
        raise SystemExit(f"only {sent} of {3 * n * (round_ + 1)} messages were sent")
    results["profiles"] = per_message
    return results


def bench_policy(workspace, profiles) -> dict:
    from django.utils import timezone

    from engage.messaging import consent, policy
    from engage.messaging.models import Consent, Message, MessagingPolicy

    rules = MessagingPolicy.objects.create(
        workspace=workspace,
        channel_caps={"email": {"day": 3, "week": 10}},
        total_per_day=5,
        total_per_week=20,
        quiet_start=dt.time(22),
        quiet_end=dt.time(7),
        default_timezone="Europe/Paris",
    )
    for profile in profiles[::10]:
        consent.record_consent(
            profile=profile, status=Consent.OPTED_OUT, source="bench", channel="email"
        )
    queued = Message.objects.bulk_create(
        Message(
            workspace=workspace,
            profile=profile,
            channel="email",
            category="marketing",
            body="x",
            idempotency_key=f"policy-{profile.pk}",
        )
        for profile in profiles
    )
    by_id = {p.pk: p for p in profiles}
    noon = timezone.now().replace(hour=11, minute=0)
    verdicts = {}

    def trivial():
        for message in queued:
            consent.current_status(
                profile=by_id[message.profile_id], channel="email", topic="marketing"
            )

    def decisions():
        for message in queued:
            verdict = policy.check(
                message=message, profile=by_id[message.profile_id], now=noon, policy=rules
            )
            verdicts[verdict.reason or "allow"] = verdicts.get(verdict.reason or "allow", 0) + 1

    return {"trivial": timed(trivial), "policy": timed(decisions), "verdicts": verdicts}


def median_ratio(rounds: list[dict], numerator: str, denominator: str) -> float:
    return statistics.median(r[numerator] / r[denominator] for r in rounds)


def report(n: int, chunk: int, rounds: list[dict], decisions: dict, pg: str, load: tuple) -> None:
    print(
        f"\nmessaging: PostgreSQL {pg}, {os.cpu_count()} CPUs, {n} customers per variant "
        f"and round, {len(rounds)} rounds, chunks of {chunk}; load average {load[0]:.1f} "
        f"before, {load[1]:.1f} after"
    )
    sends = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
    for name, label in (
        ("render", "bare Liquid render"),
        ("smtp", "bare Django send_mail, a connection each"),
        ("smtp_one", "bare Django send_mail, one connection"),
        ("per_message", "delivery one message at a time"),
        ("chunked", "delivery in chunks"),
        ("create_deliver", "create_messages + delivery in chunks"),
    ):
        print(f"  {label:<44} {n / sends[name]:9,.0f} messages/s")
    print("  medians of the rounds' ratios:")
    print(
        "  delivery in chunks : one at a time = "
        f"{median_ratio(rounds, 'per_message', 'chunked'):.2f}x (target >= 2.5)"
    )
    print(
        "  create + deliver : bare SMTP = "
        f"{median_ratio(rounds, 'smtp', 'create_deliver'):.2f} (target >= 0.22), "
        ": bare SMTP over one connection = "
        f"{median_ratio(rounds, 'smtp_one', 'create_deliver'):.2f}"
    )
    print(f"  {'trivial baseline (one consent lookup)':<44} {n / decisions['trivial']:9,.0f} /s")
    print(f"  {'policy.check (consent, quiet hours, caps)':<44} {n / decisions['policy']:9,.0f} /s")
    print(f"  policy : baseline = {decisions['policy'] / decisions['trivial']:.1f}x")
    print(f"  verdicts: {decisions['verdicts']}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--messages", type=int, default=300, help="customers per variant and round, one email each"
    )
    p.add_argument("--chunk", type=int, default=50, help="messages per claim and per batch")
    p.add_argument("--rounds", type=int, default=3, help="rounds of every variant")
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    with services() as env:
        setup_django(env)
        from django.conf import settings

        from engage.messaging.models import MessageTemplate
        from engage.plugins.manager import channels
        from engage.plugins.services import configure_plugin
        from engage.workspaces.services import create_workspace

        settings.ENGAGE_SEND_CHUNK_SIZE = args.chunk
        channels()  # load the plugins before any timing
        smtp = SmtpServer()
        load_before = os.getloadavg()[0]
        try:
            workspace = create_workspace(name=f"bench-messaging-{os.getpid()}").workspace
            configure_plugin(
                workspace=workspace,
                plugin_id="email",
                settings={
                    "from_email": "news@shop.example",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": smtp.port,
                },
            )
            template = MessageTemplate.objects.create(
                workspace=workspace,
                name="bench",
                channel="email",
                subject="Your cart, {{ traits.first_name }}",
                body=TEMPLATE_BODY,
                html=TEMPLATE_HTML,
            )
            rounds = [
                bench_sends(workspace, template, args.messages, args.chunk, smtp, round_)
                for round_ in range(args.rounds)
            ]
            decisions = bench_policy(workspace, rounds[0].pop("profiles"))
            for sends in rounds[1:]:
                sends.pop("profiles")
            received = smtp.count
        finally:
            smtp.stop()
        load = (load_before, os.getloadavg()[0])
        report(
            args.messages, args.chunk, rounds, decisions, server_version(env["DATABASE_URL"]), load
        )
        assert received == 5 * args.messages * args.rounds, received


if __name__ == "__main__":
    main()
