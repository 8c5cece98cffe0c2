"""The composition root: the ``shiftbrief`` command wires adapters, engine and storage together.

It sits above ``adapters/`` (which sits above ``bot/``, which sits above ``storage/``), so the
engine never imports a platform library while the program as a whole can start them all.
"""
