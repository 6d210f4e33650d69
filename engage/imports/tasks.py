from celery import shared_task

from . import runs


@shared_task(ignore_result=True)
def run_import(run_id: int) -> None:
    runs.perform_import(run_id)
