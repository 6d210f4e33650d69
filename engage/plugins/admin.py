"""Admin for per-workspace plugin configuration.

The form shows one field per setting of the chosen plugin. When adding one,
choosing the plugin reloads the page with ``?plugin_id=<id>`` (a small script,
plugins/choose_plugin.js), so its settings show at once; without scripts,
saving after choosing shows them, asking for them rather than reporting each
as missing. Secret settings are write-only: rendered empty, and left blank
they keep the stored value.
Importers can be run from the list ("Run the selected importers now"); an
importer that reads files also takes an upload on its page, imported into
that configuration's workspace when saved. Each becomes an import run
(engage.imports), queued for a worker, or run at once without a broker; the
message links to its page, which follows its progress.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms.fields import InvalidJSONInput
from django.urls import reverse
from django.utils.html import format_html

from engage import json_limits
from engage.events.importing import ImportNotPossible, describe_problem
from engage.imports.exchange import IMPORT_PERMISSION
from engage.imports.models import ImportRun
from engage.imports.services import start_import
from engage.workspaces.admin_scoping import WorkspaceScopedAdmin

from .base import Importer, Plugin, SettingField, SettingsError
from .manager import configurable_plugins
from .models import PluginConfig
from .services import configure_plugin, merge_secrets

SETTING_PREFIX = "setting_"
IMPORT_FILE = "import_file"
IMPORT_MODE = "import_mode"
# Hidden on the add form: the plugin whose settings the page showed, so that a
# save right after choosing another (without scripts) asks for its settings.
SHOWN_PLUGIN = "shown_plugin"


class SettingJSONField(forms.JSONField):
    """Django's JSON form field, refusing what engage refuses everywhere: a
    document nested so deep that reading it (to check it, or to show it again
    in the form) would exhaust the stack."""

    @staticmethod
    def _too_deep(value) -> json_limits.TooDeep | None:
        if isinstance(value, str) and json_limits.may_be_too_deep(value):
            try:
                json_limits.loads(value)
            except json_limits.TooDeep as exc:
                return exc
            except ValueError:
                return None  # not JSON at all: the parent says so
        return None

    def to_python(self, value):
        too_deep = self._too_deep(value)
        if too_deep:
            raise forms.ValidationError(f"{self.label}: {too_deep}")
        return super().to_python(value)

    def bound_data(self, data, initial):
        if self._too_deep(data):
            return InvalidJSONInput(data)  # shown again as typed
        return super().bound_data(data, initial)


def _form_field(spec: SettingField, *, has_stored_secret: bool) -> forms.Field:
    help_text = spec.help
    if spec.type == "boolean":
        return forms.BooleanField(required=False, help_text=help_text, label=spec.name)
    if spec.type == "integer":
        return forms.IntegerField(required=False, help_text=help_text, label=spec.name)
    if spec.type == "number":
        return forms.FloatField(required=False, help_text=help_text, label=spec.name)
    if spec.type == "json":
        return SettingJSONField(
            required=False,
            help_text=help_text,
            label=spec.name,
            error_messages={"invalid": f"{spec.name}: not valid JSON"},
        )
    widget = None
    if spec.secret:
        widget = forms.PasswordInput(render_value=False)
        if has_stored_secret:
            help_text = f"{help_text} A value is stored; leave blank to keep it.".strip()
    return forms.CharField(required=False, help_text=help_text, label=spec.name, widget=widget)


class PluginConfigForm(forms.ModelForm):
    class Meta:
        model = PluginConfig
        fields = ["workspace", "plugin_id", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plugins = configurable_plugins()
        choices = [(pid, f"{cls.name} ({pid})") for pid, cls in sorted(plugins.items())]
        editing = self.instance.pk is not None
        if not editing:
            choices.insert(0, ("", "---------"))
        self.fields["plugin_id"] = forms.ChoiceField(
            choices=choices,
            label="Plugin",
            help_text="" if editing else "Its settings show below once chosen.",
        )
        plugin_id = (
            self.instance.plugin_id
            if editing
            else self.data.get(self.add_prefix("plugin_id")) or self.initial.get("plugin_id")
        )
        self.settings_were_shown = True
        if editing:
            self.fields["plugin_id"].disabled = True
            self.fields["workspace"].disabled = True
        else:
            self._mark_shown(plugin_id or "")
        self.plugin: type[Plugin] | None = plugins.get(plugin_id or "")
        stored = self.instance.settings if editing else {}
        for spec in self.plugin.settings_schema if self.plugin else ():
            field = _form_field(spec, has_stored_secret=bool(stored.get(spec.name)))
            if not spec.secret:
                field.initial = stored.get(spec.name, spec.default)
            self.fields[SETTING_PREFIX + spec.name] = field
        if self.reads_file:
            limit = settings.ENGAGE_IMPORT_MAX_BYTES
            self.fields[IMPORT_FILE] = forms.FileField(
                required=False,
                label="file to import now",
                help_text=f"A CSV file (UTF-8), imported into this workspace in the background "
                f"when you save (up to {limit // 2**20} MB); kept only until the import ends.",
            )
            self.fields[IMPORT_MODE] = forms.ChoiceField(
                choices=ImportRun.MODES,
                initial=ImportRun.APPLY_VALID,
                required=False,
                label="rows with problems",
            )

    def _mark_shown(self, plugin_id: str) -> None:
        """Note whether the page submitted showed ``plugin_id``'s settings
        (a form posted by code, without the marker, did), and make the page
        rendered next say it shows them."""
        name = self.add_prefix(SHOWN_PLUGIN)
        self.fields[SHOWN_PLUGIN] = forms.CharField(
            required=False, initial=plugin_id, widget=forms.HiddenInput
        )
        if self.is_bound and name in self.data:
            self.settings_were_shown = self.data[name] == plugin_id
            self.data = self.data.copy()
            self.data[name] = plugin_id

    @property
    def reads_file(self) -> bool:
        return bool(self.plugin) and issubclass(self.plugin, Importer) and self.plugin.reads_file

    def clean_import_file(self):
        upload = self.cleaned_data.get(IMPORT_FILE)
        limit = settings.ENGAGE_IMPORT_MAX_BYTES
        if upload and upload.size > limit:
            raise forms.ValidationError(
                f"{upload.size // 2**20} MB is more than the {limit // 2**20} MB "
                "an upload may have (ENGAGE_IMPORT_MAX_BYTES)"
            )
        return upload

    def submitted_settings(self) -> dict:
        """The settings as typed, blanks dropped so that defaults and kept secrets apply."""
        values = {}
        for spec in self.plugin.settings_schema if self.plugin else ():
            value = self.cleaned_data.get(SETTING_PREFIX + spec.name)
            if value not in (None, ""):
                values[spec.name] = value
        return values

    def clean(self):
        cleaned = super().clean()
        if self.plugin is None:
            if not self.errors:
                self.add_error(None, "Choose a plugin and save to see its settings.")
            return cleaned
        if not self.settings_were_shown and self.plugin.settings_schema:
            self.add_error(None, f"Fill in the settings of {self.plugin.name} below, then save.")
            return cleaned
        stored = self.instance.settings if self.instance.pk else {}
        try:
            self.plugin.validate_settings(
                merge_secrets(
                    plugin_id=self.plugin.id, submitted=self.submitted_settings(), stored=stored
                )
            )
        except SettingsError as exc:
            for name, reason in exc.errors.items():
                field = SETTING_PREFIX + name
                self.add_error(field if field in self.fields else None, f"{name}: {reason}")
        return cleaned


@admin.register(PluginConfig)
class PluginConfigAdmin(WorkspaceScopedAdmin):
    form = PluginConfigForm
    list_display = ["plugin_id", "workspace", "enabled", "updated_at"]
    list_filter = ["enabled", "plugin_id"]
    unfilterable_fields = ("settings",)  # secrets are in it

    base_fields = ["workspace", "plugin_id", "enabled"]
    actions = ["run_import_now"]

    class Media:
        js = ["plugins/choose_plugin.js"]

    def get_form(self, request, obj=None, **kwargs):
        # The setting fields are added per plugin by the form itself.
        kwargs["fields"] = self.base_fields
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        plugin_id = obj.plugin_id if obj else request.POST.get("plugin_id", "")
        plugin_id = plugin_id or request.GET.get("plugin_id", "")
        plugin = configurable_plugins().get(plugin_id)
        fieldsets = [(None, {"fields": self.base_fields + ([] if obj else [SHOWN_PLUGIN])})]
        if plugin and plugin.settings_schema:
            names = [SETTING_PREFIX + spec.name for spec in plugin.settings_schema]
            fieldsets.append((f"{plugin.name} settings", {"fields": names}))
        importer = plugin and issubclass(plugin, Importer) and plugin.reads_file
        if importer and self.has_import_permission(request):
            fieldsets.append(("Import", {"fields": [IMPORT_FILE, IMPORT_MODE]}))
        return fieldsets

    def save_model(self, request, obj, form, change):
        """Save through the service, so the admin and code follow the same rules."""
        config = configure_plugin(
            workspace=obj.workspace,
            plugin_id=obj.plugin_id,
            settings=form.submitted_settings(),
            enabled=obj.enabled,
        )
        obj.pk = config.pk
        obj.settings = config.settings
        upload = form.cleaned_data.get(IMPORT_FILE)
        if upload:
            if not self.has_import_permission(request):
                raise PermissionDenied  # the field is not shown to them
            mode = form.cleaned_data.get(IMPORT_MODE) or ImportRun.APPLY_VALID
            self._import(request, config, upload=upload, mode=mode)

    def _import(self, request, config: PluginConfig, *, upload=None, mode=None) -> None:
        """Queues an import run and says where to follow it; without a broker
        it has run by now, and the message has its result."""
        label = f"{config.plugin_id} in {config.workspace}"
        try:
            run = start_import(
                workspace=config.workspace,
                importer_id=config.plugin_id,
                mode=mode or ImportRun.APPLY_VALID,
                upload=upload,
                user=request.user,
            )
        except ImportNotPossible as exc:
            self.message_user(request, f"{label}: {exc}", messages.ERROR)
            return
        except OSError:
            self.message_user(request, f"{label}: the file could not be read", messages.ERROR)
            return
        link = reverse("admin:imports_importrun_change", args=[run.pk])
        if not run.finished:
            self.message_user(
                request,
                format_html('{}: queued as <a href="{}">import run {}</a>', label, link, run.pk),
                messages.INFO,
            )
            return
        problems = "; ".join(describe_problem(e) for e in run.errors[:5])
        failure = f" ({run.failure})" if run.status == ImportRun.FAILED else ""
        text = f"{run.summary()}{failure}" + (f" ({problems})" if problems else "")
        if run.status == ImportRun.FAILED and not run.errors:
            text = run.failure
        self.message_user(
            request,
            format_html('{}: {} (<a href="{}">import run {}</a>)', label, text, link, run.pk),
            messages.WARNING if run.invalid or run.status == ImportRun.FAILED else messages.SUCCESS,
        )

    def has_import_permission(self, request) -> bool:
        """Importing in bulk is a right of its own (``imports.import_data``),
        as for the admin's other imports (``engage.imports.exchange``)."""
        return request.user.has_perm(IMPORT_PERMISSION)

    @admin.action(description="Run the selected importers now", permissions=["import"])
    def run_import_now(self, request, queryset):
        for config in queryset.select_related("workspace"):
            self._import(request, config)
