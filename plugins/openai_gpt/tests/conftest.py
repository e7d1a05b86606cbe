"""Fixtures of the OpenAI GPT plugin's tests: one torch thread and quiet transformers logging
for every module (the core's shared fixture)."""

from plugformers.testing.fixtures import single_thread_quiet_logging  # noqa: F401
