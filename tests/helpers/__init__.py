"""Code behind the test fixtures (tests/conftest.py) and the hypothesis strategies; no tests here."""
