from django.conf import settings
from django.db import models

from engage.events import importing
from engage.workspaces.models import Workspace


class ImportCursor(models.Model):
    """Where an importer stopped in a workspace: the last ``Checkpoint.cursor``
    it yielded, saved after everything before it was stored, so the next run
    (or a run that failed half-way) fetches only what came after."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    importer_id = models.CharField(max_length=64)
    cursor = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "importer_id"], name="importcursor_unique_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return f"{self.importer_id} cursor"


class ImportRun(models.Model):
    """One import, queued, running or finished, with what it read and stored.

    The counts and ``bytes_read`` are saved after each stored batch, so the
    admin's page shows a running import's progress; ``errors`` keeps the first
    problems (``MAX_REPORTED_ERRORS``), each placed by line and column.
    """

    QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, SUCCEEDED, FAILED)]
    APPLY_VALID, ALL_OR_NOTHING = importing.APPLY_VALID, importing.ALL_OR_NOTHING
    MODES = [
        (APPLY_VALID, "apply every valid row, report the bad ones"),
        (ALL_OR_NOTHING, "apply nothing if any row is bad"),
    ]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    importer_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED)
    #: "checking" while an all-or-nothing run reads its file the first time,
    #: storing nothing; "storing" while rows are stored
    phase = models.CharField(max_length=16, blank=True)
    mode = models.CharField(max_length=16, choices=MODES, default=APPLY_VALID)
    #: the uploaded file's name as the operator chose it, and where engage
    #: saved it, relative to the workspace's import directory ("" for a
    #: source that is not a file, or the importer's own ``path`` setting)
    file_name = models.CharField(max_length=255, blank=True)
    stored_path = models.CharField(max_length=255, blank=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    bytes_read = models.BigIntegerField(default=0)
    read = models.BigIntegerField(default=0)
    stored = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    invalid = models.BigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    #: why a failed run stopped (the source unreadable, a refused file...)
    failure = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="importrun_history")]
        # The admin's import and export buttons (django-import-export) ask for
        # these, whichever model they are on: moving customers in or out in
        # bulk is a right of its own, apart from editing them one at a time.
        permissions = [
            ("import_data", "Can import data in bulk (CSV)"),
            ("export_data", "Can export data in bulk (CSV, spreadsheets)"),
        ]

    def __str__(self) -> str:
        return f"{self.importer_id} import #{self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.SUCCEEDED, self.FAILED)

    @property
    def percent(self) -> int | None:
        """How far a file import is, by bytes read; None when the size is unknown."""
        if not self.file_size:
            return 100 if self.finished else None
        return min(100, self.bytes_read * 100 // self.file_size)

    def summary(self) -> str:
        """The counts as the runner reports them (``ImportReport.summary``)."""
        return importing.ImportReport(
            read=self.read,
            stored=self.stored,
            duplicates=self.duplicates,
            invalid=self.invalid,
            applied=self.phase != "checking",
        ).summary()
