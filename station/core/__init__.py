"""The pure quality core: no I/O, no clock, only functions over frozen dataclasses."""
