"""`station demo`: the whole station on one machine, simulated (kept out of the product's
bench: the bench UI knows nothing of it).

- `environment`: the simulated instruments, broker, central and sync daemon, and `run_demo`;
- `app`: `DemoBenchApp`, the bench UI with the demo keys and hint line (a subclass: the bench
  UI has no demo code);
- `master_data`: master data generated for today, so the story never rots.
"""

from station.demo.app import DemoBenchApp, run_demo
from station.demo.environment import DemoEnvironment, demo_environment

__all__ = ["DemoBenchApp", "DemoEnvironment", "demo_environment", "run_demo"]
