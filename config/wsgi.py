"""The WSGI application: the portal's middleware for pages, a lean stack for the JSON APIs (kartosfera/core/wsgi.py)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from kartosfera.core.wsgi import get_application

application = get_application()
