"""Signals of the messaging app, for apps that build on it and that it must not import."""

from django.dispatch import Signal

template_in_use = Signal()
"""Sent with ``template`` before a template is deleted, inside the deleting
transaction. A receiver returns a sentence saying what still needs the
template (``"used by live journey 'Welcome' (version 2)"``), or None; any
sentence refuses the delete (``services.TemplateInUse``, the API's 409)."""
