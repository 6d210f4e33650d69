from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from engage.server import scheduler


class Command(RunserverCommand):
    help = (
        "runserver, plus the periodic tasks (message deferrals and retries, sweeps, "
        "segment refreshes, scores) on a thread when there is no broker to run beat."
    )

    def inner_run(self, *args, **options):
        # inner_run is what serves: with the autoreloader it runs only in the
        # reloaded child, so the periodic tasks start once, where requests are.
        scheduler.start_if_inline()
        super().inner_run(*args, **options)
