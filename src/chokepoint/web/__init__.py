"""The web dashboard and its JSON API (``chokepoint serve``); needs the ``web`` extra.

``create_app()`` builds the FastAPI app; nothing runs at import time.
"""

from chokepoint.web.app import create_app

__all__ = ["create_app"]
