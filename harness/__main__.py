"""``python -m harness``: the same as ``refiner-harness``."""

from harness.cli import main

raise SystemExit(main())
