from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "engage.imports"
    verbose_name = "imports"

    def ready(self):
        from engage.events import importing

        from . import cursors

        importing.register_cursor_store(load=cursors.load_cursor, save=cursors.save_cursor)
