"""Instrument and scanner drivers: one module per wire protocol, behind `drivers.base.Driver`."""
