"""Shared test settings: hypothesis without per-example deadlines (CI cores are shared and slow)."""

from hypothesis import HealthCheck, settings

settings.register_profile("voc", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("voc")
