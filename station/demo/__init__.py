"""`station demo`: the whole station on one machine, simulated (kept out of the product's
bench: the bench UI knows nothing of it).

- `environment`: the simulated instruments, broker, central and sync daemon, and `run_demo`;
- `app`: the demo keys and hints on top of the bench UI;
- `master_data`: master data generated for today, so the story never rots.
"""

from station.demo.environment import DemoEnvironment, demo_environment, run_demo

__all__ = ["DemoEnvironment", "demo_environment", "run_demo"]
