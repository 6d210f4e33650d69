"""The overview's choices: which workspace, and which days."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from engage.metrics.window import Window

DEFAULT_DAYS = 30
# Long enough for a year's cohorts, short enough for one page of daily rows.
MAX_DAYS = 366


class RangeForm(forms.Form):
    workspace = forms.ModelChoiceField(
        queryset=None,
        empty_label=None,
        error_messages={"required": "you are a member of no workspace yet"},
    )
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, query, *, workspaces):
        # Without a choice in the query: the first workspace, the last 30 days.
        data = {name: query.get(name, "") for name in ("workspace", "start", "end")}
        if not data["workspace"]:
            first = workspaces.order_by("name").first()
            data["workspace"] = first.pk if first else ""
        super().__init__(data)
        self.fields["workspace"].queryset = workspaces.order_by("name")

    def clean(self):
        data = super().clean()
        end = data.get("end") or timezone.now().date()
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("end", "must not be before start")
        elif (end - start).days >= MAX_DAYS:
            self.add_error("end", f"at most {MAX_DAYS} days after start")
        data["start"], data["end"] = start, end
        return data

    @property
    def window(self) -> Window:
        return Window(self.cleaned_data["start"], self.cleaned_data["end"])
