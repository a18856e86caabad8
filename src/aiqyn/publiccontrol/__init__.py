"""Public control (modules 8 and 9 of the mission, seed 001): the accountability register of corruption offences
and heads' resignation statements, and transparent, tamper-evident public queues (kindergarten places, housing,
land plots) with out-of-turn allocations detected. See docs/public-control.md."""
