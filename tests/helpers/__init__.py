"""Typed helpers the test areas share, imported by conftests and test modules alike:

- `clocks`: a settable test clock;
- `records`: record bodies (inspections, measurements, checks, events) as the contract has them;
- `stores`: a store opened on a config's database with its master data.
"""
