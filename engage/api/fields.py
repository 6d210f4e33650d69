"""Serializer fields that take JSON's types as the schema states them.

DRF's fields coerce: ``CharField`` turns ``12`` into ``"12"``, ``IntegerField``
reads ``"12"`` and ``12.0``, ``BooleanField`` reads ``"yes"`` and ``1``. The
OpenAPI schema says ``string``, ``integer`` and ``boolean``, so a client that
sends another type has a bug we should name, not guess around: these fields
refuse it with a 400, and the schema stays exactly what the API accepts.
"""

from rest_framework import serializers


class CharField(serializers.CharField):
    default_error_messages = {"invalid": "must be a string"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class SlugField(serializers.SlugField):
    default_error_messages = {"invalid_type": "must be a string"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_type")
        return super().to_internal_value(data)


class ChoiceField(serializers.ChoiceField):
    default_error_messages = {"invalid_type": "must be a string"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_type")
        return super().to_internal_value(data)


class IntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "must be an integer"}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class BooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "must be true or false"}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data
