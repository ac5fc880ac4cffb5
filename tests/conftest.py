"""Shared test settings: hypothesis without per-example deadlines (CI cores are shared and slow); a private
voc config folder, so the pseudonym key file made by test runs never lands in the user's ~/.config/voc."""

import os
import tempfile

from hypothesis import HealthCheck, settings

os.environ.setdefault("VOC_CONFIG_DIR", tempfile.mkdtemp(prefix="voc-test-config-"))

settings.register_profile("voc", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("voc")
