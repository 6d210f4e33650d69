"""Message content in Liquid, rendered from what engage knows about the customer.

Liquid is sandboxed by design: a template reads only the plain dicts and
lists it is given (no attribute access to Python objects, no imports), and
the limits below stop a template that loops or grows without end. A missing
variable renders empty; ``{{ traits.first_name | default: "there" }}`` gives
it a default, and ``defaults`` passed by the caller fill missing traits.

The context is::

    profile    {id, traits, identities: {kind: latest value}, locale, timezone}
    traits     the profile's traits (defaults underneath)
    event      the triggering event {name, properties} or {}
    scores     the customer's current scores {model id: {value, cell}}

Other apps add a key of their own (``loyalty``, ``recommendations``) with
``register_context``, from their ``ready()``: rendering does not import them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import liquid
from liquid.exceptions import LiquidError

from engage.profiles.models import Identity, Profile
from engage.scoring.selectors import template_scores_of


class _Sandbox(liquid.Environment):
    context_depth_limit = 10
    loop_iteration_limit = 10_000
    output_stream_limit = 500_000
    local_namespace_limit = 100_000


TEXT = _Sandbox()
HTML = _Sandbox(autoescape=True)


#: Where a link that acts for the customer points in a staff preview: a
#: reserved domain that never resolves, marked as such.
PREVIEW_URL = "https://preview.invalid/"

#: key → provider(profiles) returning {profile id: value} for a whole batch
_PROVIDERS: dict[str, Callable[..., dict[int, object]]] = {}
#: keys whose provider is told the template and whether it is a preview
_SEEING_TEMPLATE: set[str] = set()


def register_context(
    key: str, provider: Callable[..., dict[int, object]], *, sees_template: bool = False
) -> None:
    """Add ``key`` to every template context. The provider reads a whole batch
    of customers at once, so a chunk of messages still costs a few queries;
    a customer it leaves out gets ``{}``. With ``sees_template`` it is called
    as ``provider(profiles, template=..., preview=...)``: the template being
    rendered (None for content given inline), so a key can belong to some
    templates only, and whether staff are previewing it, when signed links
    that act for the customer must not be real."""
    if key in _PROVIDERS and _PROVIDERS[key] is not provider:
        raise ValueError(f"template context key {key!r} is already provided")
    _PROVIDERS[key] = provider
    if sees_template:
        _SEEING_TEMPLATE.add(key)


class TemplateError(ValueError):
    """A template that does not parse or render; the message names the field."""


@dataclass(frozen=True)
class Content:
    subject: str = ""
    body: str = ""
    html: str = ""


def profile_context(
    profile: Profile,
    *,
    event=None,
    defaults: dict | None = None,
    template=None,
    preview: bool = False,
) -> dict:
    return profile_contexts([(profile, event, defaults)], template=template, preview=preview)[0]


def profile_contexts(
    customers: list[tuple[Profile, object, dict | None]], *, template=None, preview: bool = False
) -> list[dict]:
    """The context of each (profile, event, defaults) for ``template``, with
    the identities and scores of all of them read in two queries: a batch of
    messages costs the same few queries as one."""
    ids = list({profile.pk for profile, _, _ in customers})
    identities: dict[int, dict[str, str]] = {}
    rows = Identity.objects.filter(profile_id__in=ids).order_by("created_at", "id")
    for profile_id, kind, value in rows.values_list("profile_id", "kind", "value"):
        identities.setdefault(profile_id, {})[kind] = value
    scores = template_scores_of(ids)
    profiles = list({profile.pk: profile for profile, _, _ in customers}.values())
    extra = {}
    for key, provider in _PROVIDERS.items() if ids else ():
        if key in _SEEING_TEMPLATE:
            extra[key] = provider(profiles, template=template, preview=preview)
        else:
            extra[key] = provider(profiles)
    contexts = []
    for profile, event, defaults in customers:
        context = _context(
            profile, identities.get(profile.pk, {}), scores.get(profile.pk, {}), event, defaults
        )
        for key, values in extra.items():
            context[key] = values.get(profile.pk, {})
        contexts.append(context)
    return contexts


def _context(profile: Profile, identities: dict, scores: dict, event, defaults) -> dict:
    traits = {**(defaults or {}), **(profile.traits or {})}
    return {
        "profile": {
            "id": profile.pk,
            "traits": traits,
            "identities": identities,
            "locale": profile.locale,
            "timezone": profile.timezone,
        },
        "traits": traits,
        "event": {"name": event.name, "properties": event.properties or {}} if event else {},
        "scores": scores,
    }


@lru_cache(maxsize=256)
def _parsed(source: str, html: bool):
    """Parsing costs more than rendering, and a batch renders one template for
    every customer; a source that does not parse raises and is not kept."""
    return (HTML if html else TEXT).from_string(source)


def render(content: Content, context: dict) -> Content:
    """``content`` rendered; TemplateError naming the field that failed."""
    out = {}
    for name in ("subject", "body", "html"):
        source = getattr(content, name)
        if not source:
            out[name] = ""
            continue
        try:
            out[name] = _parsed(source, name == "html").render(**context)
        except LiquidError as exc:
            raise TemplateError(f"{name}: {exc}") from None
    out["subject"] = " ".join(out["subject"].split())
    return Content(**out)


def variant(template, locale: str) -> Content:
    """The template's content for ``locale``: exact, then its language, then the default."""
    variants = template.variants or {}
    for key in (locale, locale.split("-")[0].split("_")[0]) if locale else ():
        chosen = variants.get(key)
        if isinstance(chosen, dict):
            return Content(
                subject=chosen.get("subject", template.subject),
                body=chosen.get("body", template.body),
                html=chosen.get("html", template.html),
            )
    return Content(subject=template.subject, body=template.body, html=template.html)


def syntax_error(source: str, *, html: bool = False) -> str | None:
    """Why ``source`` does not parse, as "line N: reason", or None when it does.

    Checked when a template is saved, so a typo is refused where it was made
    instead of failing every send that uses it. An error at the end of the
    source (an unclosed tag) names its last line.
    """
    try:
        (HTML if html else TEXT).from_string(source)
    except LiquidError as exc:
        token = getattr(exc, "token", None)
        start = getattr(token, "start_index", -1)
        line = source.count("\n", 0, start) + 1 if start >= 0 else source.count("\n") + 1
        return f"line {line}: {exc}"
    return None
