"""Simulators: serial gauges on ptys, a Modbus instrument, a scanner and a reference central QMS."""
