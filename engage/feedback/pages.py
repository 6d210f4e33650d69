"""The pages behind a survey's signed links.

One click answers: the score's link opens a page that posts the score at
once (a script submits its form; without scripts the customer presses the
button), then the follow-up page takes the comment. A GET alone records
nothing, because mail scanners fetch every link of a message before the
customer sees it. A link that was tampered with answers 404, an expired one
410, a score outside the scale 400, each with a page that says so.
"""

from datetime import UTC, datetime, timedelta

from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt

from engage.messaging.models import Message
from engage.profiles.selectors import canonical_profile

from . import links, scales, services
from .models import Feedback, Survey

# The message a link came in was written within this long after its link
# was signed (rendering a batch of messages, then one insert).
RENDER_SLACK = timedelta(hours=1)
NO_STORE = "no-store, private"


def _page(template: str, context: dict, status: int = 200) -> HttpResponse:
    response = HttpResponse(render_to_string(f"feedback/{template}", context), status=status)
    response["Cache-Control"] = NO_STORE
    return response


def _refusal(reason: str, status: int) -> HttpResponse:
    return _page("refused.html", {"reason": reason}, status)


def _open(token: str):
    """(link, survey, profile), or the refusal page to answer instead."""
    try:
        link, chosen = links.read(token)
    except links.InvalidLink as exc:
        return None, _refusal(str(exc), 410 if "expired" in str(exc) else 404)
    profile = canonical_profile(workspace=chosen.workspace, profile_id=link.profile_id)
    if profile is None:
        return None, _refusal("This survey link is not valid.", 404)
    return (link, chosen, profile), None


def _key(link: links.Link) -> str:
    return f"link:{link.survey_id}:{link.profile_id}:{link.issued}"


def _scale(survey: Survey) -> list[int]:
    low, high = scales.SCALES[survey.kind]
    return list(range(low, high + 1))


def survey(request, token: str):
    """Every score of the survey as a button, for a message with one link."""
    opened, refusal = _open(token)
    if refusal:
        return refusal
    _link, chosen, _profile = opened
    answers = [{"score": score, "url": links.answer_url(token, score)} for score in _scale(chosen)]
    return _page("survey.html", {"survey": chosen, "answers": answers})


@csrf_exempt
def answer(request, token: str, score: str):
    opened, refusal = _open(token)
    if refusal:
        return refusal
    link, chosen, profile = opened
    low, high = scales.SCALES[chosen.kind]
    if not score.isdigit() or not low <= int(score) <= high:
        return _refusal(f"score: must be a whole number from {low} to {high}.", 400)
    if request.method == "GET":
        return _page("answer.html", {"survey": chosen, "score": int(score), "action": request.path})
    if request.method != "POST":
        return HttpResponse(status=405)
    services.record_answer(
        services.Answer(
            profile=profile,
            kind=chosen.kind,
            score=int(score),
            key=_key(link),
            source=Feedback.LINK,
            survey=chosen,
            message=_asking_message(link, chosen, profile.pk),
        )
    )
    return redirect("feedback:comment", token=token)


@csrf_exempt
def comment(request, token: str):
    """The follow-up page: the score given, and a box for the comment."""
    opened, refusal = _open(token)
    if refusal:
        return refusal
    link, chosen, _ = opened
    given = Feedback.objects.filter(workspace_id=link.workspace_id, key=_key(link)).first()
    if given is None:
        return redirect("feedback:survey", token=token)
    if request.method == "POST":
        try:
            given = services.add_comment(given, request.POST.get("comment", ""))
        except services.FeedbackInputError as exc:
            return _refusal(f"{exc.field}: {exc.reason}.", 400)
        return _page("thanks.html", {"survey": chosen, "feedback": given})
    if request.method != "GET":
        return HttpResponse(status=405)
    if given.comment or not chosen.comment_question:
        return _page("thanks.html", {"survey": chosen, "feedback": given})
    return _page(
        "comment.html",
        {"survey": chosen, "feedback": given, "max_comment": services.MAX_COMMENT},
    )


def _asking_message(link: links.Link, chosen: Survey, profile_id: int) -> Message | None:
    """The survey message the link came in: the first message of the survey's
    templates to the customer written after the link was signed (links are
    signed while the message is rendered, before it has an id)."""
    issued = datetime.fromtimestamp(link.issued, tz=UTC)
    return (
        Message.objects.filter(
            workspace_id=link.workspace_id,
            profile_id=profile_id,
            template__in=chosen.templates.all(),
            created_at__gte=issued - timedelta(seconds=1),
            created_at__lt=issued + RENDER_SLACK,
        )
        .order_by("created_at", "id")
        .first()
    )
