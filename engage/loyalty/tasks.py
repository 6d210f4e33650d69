"""The nightly loyalty pass (celery beat): expiry, expiry notices, tiers
whose window moved. One task per programme, so a failure is retried for that
programme alone; each step is safe to run twice."""

from celery import shared_task

from .models import Programme
from .services import nightly


@shared_task(ignore_result=True)
def run_nightly() -> int:
    ids = list(Programme.objects.order_by("pk").values_list("pk", flat=True))
    for programme_id in ids:
        run_programme_nightly.delay(programme_id)
    return len(ids)


@shared_task(ignore_result=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=60)
def run_programme_nightly(programme_id: int) -> None:
    programme = Programme.objects.filter(pk=programme_id).first()
    if programme is not None:
        nightly(programme)
