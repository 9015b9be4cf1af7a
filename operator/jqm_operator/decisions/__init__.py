"""Pure decision logic: observations in, one decision out; no I/O, no clock (``now`` is an argument)."""
