import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from engage.server.secret_key import refuse_public_development_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
refuse_public_development_key(settings.SECRET_KEY, settings.ALLOWED_HOSTS)
