"""A local mock of the Refiner REST API: its rules, its state and a journal of calls.

`create_app()` gives the Flask app; `MockRefiner` is the same API without Flask.
"""

from mock_refiner.app import create_app
from mock_refiner.errors import ApiError
from mock_refiner.service import MockRefiner, Reply
from mock_refiner.settings import SequentialIds, Settings, StepClock

__all__ = [
    "ApiError",
    "MockRefiner",
    "Reply",
    "SequentialIds",
    "Settings",
    "StepClock",
    "create_app",
]
