"""Messaging benchmark: email sends through the whole pipeline, and policy decisions.

1. Sends: ``--messages`` customers each get a marketing email rendered from a
   Liquid template and sent through the email channel to an aiosmtpd server on
   loopback (create_message, then deliver: claim, policy, commit ``sending``,
   SMTP, commit ``sent``, timeline event). Baselines in the same run: the bare
   Liquid render of the same template, and Django's ``send_mail`` to the same
   SMTP server (the transport alone).
2. Policy: ``policy.check`` for queued marketing messages with consent, quiet
   hours, a channel cap and a cross-channel budget configured, against a
   trivial baseline: one indexed consent lookup per message.

Prints messages (or decisions) per second and the ratios to the baselines.
"""

import argparse
import datetime as dt
import os
import socket
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
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def smtp_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, sink, port


def customers(workspace, n: int):
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
        for i in range(n)
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


def bench_sends(workspace, profiles, port: int) -> dict:
    from django.core.mail import get_connection, send_mail

    from engage.messaging import rendering, sending, services
    from engage.messaging.models import Message, MessageTemplate

    template = MessageTemplate.objects.create(
        workspace=workspace,
        name="bench",
        channel="email",
        subject="Your cart, {{ traits.first_name }}",
        body=TEMPLATE_BODY,
        html=TEMPLATE_HTML,
    )
    content = rendering.variant(template, "")

    def bare_render():
        for profile in profiles:
            rendering.render(content, {"traits": profile.traits})

    def bare_smtp():
        for profile in profiles:
            send_mail(
                "Your cart",
                "Hi",
                "news@shop.example",
                [f"c{profile.pk}@example.com"],
                connection=get_connection(
                    "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port
                ),
            )

    def pipeline():
        for i, profile in enumerate(profiles):
            message = services.create_message(
                workspace=workspace,
                profile=profile,
                channel="email",
                category="marketing",
                template=template,
                idempotency_key=f"bench-{i}",
                send_now=False,
            ).message
            sending.send_message(message.pk)

    results = {
        "render": timed(bare_render),
        "smtp": timed(bare_smtp),
        "pipeline": timed(pipeline),
    }
    sent = Message.objects.filter(workspace=workspace, status=Message.SENT).count()
    if sent != len(profiles):
        raise SystemExit(f"only {sent} of {len(profiles)} messages were sent")
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


def report(n: int, sends: dict, decisions: dict, pg: str) -> None:
    print(f"\nmessaging: PostgreSQL {pg}, {os.cpu_count()} CPUs, {n} customers")
    for name, label in (
        ("render", "bare Liquid render"),
        ("smtp", "bare Django send_mail over SMTP"),
        ("pipeline", "pipeline: render + policy + send + records"),
    ):
        print(f"  {label:<44} {n / sends[name]:9,.0f} messages/s")
    print(
        f"  pipeline : bare SMTP = {sends['pipeline'] / sends['smtp']:.1f}x, "
        f"pipeline : bare render = {sends['pipeline'] / sends['render']:.0f}x"
    )
    print(f"  {'trivial baseline (one consent lookup)':<44} {n / decisions['trivial']:9,.0f} /s")
    print(f"  {'policy.check (consent, quiet hours, caps)':<44} {n / decisions['policy']:9,.0f} /s")
    print(f"  policy : baseline = {decisions['policy'] / decisions['trivial']:.1f}x")
    print(f"  verdicts: {decisions['verdicts']}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=500, help="customers, one email each")
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    with services() as env:
        setup_django(env)
        from engage.plugins.manager import channels
        from engage.plugins.services import configure_plugin
        from engage.workspaces.services import create_workspace

        channels()  # load the plugins before any timing
        controller, sink, port = smtp_server()
        try:
            workspace = create_workspace(name=f"bench-messaging-{os.getpid()}").workspace
            configure_plugin(
                workspace=workspace,
                plugin_id="email",
                settings={
                    "from_email": "news@shop.example",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": port,
                },
            )
            profiles = customers(workspace, args.messages)
            sends = bench_sends(workspace, profiles, port)
            decisions = bench_policy(workspace, profiles)
        finally:
            controller.stop()
        report(args.messages, sends, decisions, server_version(env["DATABASE_URL"]))
        assert sink.count == 2 * args.messages, sink.count


if __name__ == "__main__":
    main()
